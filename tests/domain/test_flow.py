"""A segment's whole path in one process: ingest, dispatch, intake, worker, results, playback."""

from __future__ import annotations

import io

import av

from tests.domain.conftest import ORCHESTRATOR, Stage, run_worker
from tests.domain.footage import HEIGHT, WIDTH, tiny_segments


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
