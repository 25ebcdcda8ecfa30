"""A segment's whole path in one process: ingest, dispatch, intake, worker, results, playback."""

from __future__ import annotations

import io
from fractions import Fraction

import av

from tests.domain.conftest import ORCHESTRATOR, Stage, run_worker
from tests.domain.footage import FPS, HEIGHT, WIDTH, tiny_segments


def test_a_pushed_segment_is_transcoded_and_played_back(stage: Stage) -> None:
    stream = stage.create_stream("flow")
    segment = tiny_segments()[0]
    pushed = stage.push(stream["streamKey"], 0, segment)
    assert pushed.status_code == 202, pushed.body
    assert pushed.json_body == {"streamId": stream["id"], "seq": 0, "status": "accepted", "orchestrator": ORCHESTRATOR}
    assert stage.get(f"/hls/{stream['playbackId']}/index.m3u8").json_body["error"]["code"] == "stream_not_ready"

    [result] = run_worker(stage)
    assert result.status == "ok" and [r.name for r in result.renditions] == ["240p0"]
    assert stage.deliver_results() == {"batchItemFailures": []}

    master = stage.get(f"/hls/{stream['playbackId']}/index.m3u8")
    assert master.status_code == 200
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert [line for line in master.body.decode().splitlines() if not line.startswith("#")] == [
        "source/index.m3u8",
        "240p0/index.m3u8",
    ]
    media = stage.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8").body.decode()
    assert media.splitlines()[-1] == "0.ts"
    rendition = stage.get(f"/hls/{stream['playbackId']}/240p0/0.ts")
    assert rendition.headers["Content-Type"] == "video/mp2t"
    with av.open(io.BytesIO(rendition.body)) as container:
        frames = list(container.decode(video=0))
    assert (frames[0].width, frames[0].height) == (WIDTH, HEIGHT) and frames[0].key_frame
    assert stage.get(f"/hls/{stream['playbackId']}/source/0.ts").body == segment


def test_stream_counters_move_once_per_segment_even_when_a_result_comes_twice(stage: Stage) -> None:
    stream = stage.create_stream("counted")
    segments = tiny_segments()[:2]
    for seq, segment in enumerate(segments):
        assert stage.push(stream["streamKey"], seq, segment).status_code == 202
    assert stage.push(stream["streamKey"], 0, segments[0]).json_body["status"] == "duplicate"
    pushed = stage.call("GET", f"/stream/{stream['id']}").json_body
    assert (pushed["sourceSegments"], pushed["sourceBytes"]) == (2, sum(len(s) for s in segments))
    assert (pushed["transcodedSegments"], pushed["isActive"]) == (0, True)
    assert pushed["lastSeen"] >= stream["createdAt"]

    results = run_worker(stage)
    event = stage.sqs_event("results", stage.receive("results"))
    for _ in range(2):  # SQS delivers at least once: the same notifications, twice
        assert stage.client.lambda_.invoke("on_result", event).payload == {"batchItemFailures": []}

    counted = stage.call("GET", f"/stream/{stream['id']}").json_body
    seconds = sum(r.source.duration_ms for r in results if r.source is not None) / 1000
    assert (counted["sourceSegments"], counted["transcodedSegments"]) == (2, 2)
    assert counted["sourceSegmentsDuration"] == counted["transcodedSegmentsDuration"] == seconds == 2.0
    assert counted["transcodedBytes"] == sum(r.bytes for result in results for r in result.renditions) > 0
    assert counted["sourceBytes"] == pushed["sourceBytes"]


def test_studio_profile_fields_reach_the_workers_encode(stage: Stage) -> None:
    # Every frame a keyframe, at half the source's 10 fps (5000/1000 as a numerator and denominator).
    profile = {"name": "intra5", "width": 426, "height": 240, "bitrate": 300_000}
    profile |= {"fps": 5000, "fpsDen": 1000, "gop": "intra", "encoder": "H.264"}
    stream = stage.create_stream("studio", profiles=[profile])
    assert stage.push(stream["streamKey"], 0, tiny_segments()[0]).status_code == 202
    [result] = run_worker(stage)
    assert result.status == "ok" and stage.deliver_results() == {"batchItemFailures": []}

    rendition = stage.get(f"/hls/{stream['playbackId']}/intra5/0.ts")
    with av.open(io.BytesIO(rendition.body)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        assert video.average_rate == Fraction(FPS, 2)
    assert len(frames) == FPS // 2  # a 1 s segment
    assert all(frame.key_frame for frame in frames)
