"""Segments in, an adaptive-bitrate ladder out: the whole path on the local stack, checked by decoding."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.streams.profiles import DEFAULT_PROFILES, Profile, fit
from devstack.stack import LocalStack
from tests.integration.conftest import Api, playlist_segments, wait_for
from tests.media import make_segments, probe

pytestmark = pytest.mark.slow


def _listed(api: Api, playback_id: str, rendition: str) -> list[str]:
    response = api.get(f"/hls/{playback_id}/{rendition}/index.m3u8")
    return playlist_segments(response.text) if response.status_code == 200 else []


def _wait_listed(api: Api, playback_id: str, renditions: list[str], count: int) -> None:
    wait_for(
        lambda: all(len(_listed(api, playback_id, r)) >= count for r in renditions),
        timeout=120,
        what=f"{count} segments in {renditions}",
    )


def test_segments_come_out_as_every_rendition_decodable_and_aligned(api: Api) -> None:
    sources = make_segments("720p", n=3)
    stream = api.create_stream("pipeline")
    assert [p["name"] for p in stream["profiles"]] == [p.name for p in DEFAULT_PROFILES]
    for seq, path in enumerate(sources):
        response = api.push(stream["streamKey"], seq, path.read_bytes())
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "accepted"

    renditions = ["source", *(p.name for p in DEFAULT_PROFILES)]
    _wait_listed(api, stream["playbackId"], renditions, len(sources))

    master = api.get(f"/hls/{stream['playbackId']}/index.m3u8")
    assert master.status_code == 200
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    infs = [line for line in master.text.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert len(infs) == len(renditions)
    for line in infs:
        assert "BANDWIDTH=" in line and "RESOLUTION=" in line and 'CODECS="avc1.' in line and "mp4a.40.2" in line

    source_probes = [probe(p) for p in sources]
    for rendition in renditions:
        uris = _listed(api, stream["playbackId"], rendition)
        assert uris == [f"{seq}.ts" for seq in range(len(sources))]
        previous_last: float | None = None
        for seq, uri in enumerate(uris):
            data = api.get(f"/hls/{stream['playbackId']}/{rendition}/{uri}")
            assert data.status_code == 200 and data.headers["Content-Type"] == "video/mp2t"
            got = probe(data.content)
            want = source_probes[seq]
            if rendition != "source":
                profile = next(p for p in DEFAULT_PROFILES if p.name == rendition)
                assert (got.width, got.height) == fit(profile, want.width, want.height)
            assert abs(got.frames - want.frames) <= 1, (rendition, seq, got.frames, want.frames)
            assert got.duration == pytest.approx(want.duration, abs=0.05)
            assert got.first_is_keyframe, (rendition, seq)
            assert got.has_audio and got.audio_codec == "aac"
            assert got.first_pts == pytest.approx(want.first_pts, abs=0.002)
            if previous_last is not None:
                # Continuous timestamps: this segment starts one frame after the last one ended.
                assert got.first_pts == pytest.approx(previous_last + 1 / got.fps, abs=0.002)
            previous_last = got.last_pts


def test_profiles_larger_than_the_source_are_skipped(api: Api) -> None:
    sources = make_segments("360p", n=1)
    stream = api.create_stream("small-source")
    assert api.push(stream["streamKey"], 0, sources[0].read_bytes()).status_code == 202
    _wait_listed(api, stream["playbackId"], ["source", "240p0", "360p0"], 1)
    master = api.get(f"/hls/{stream['playbackId']}/index.m3u8").text
    assert "480p0/index.m3u8" not in master and "720p0/index.m3u8" not in master
    assert api.get(f"/hls/{stream['playbackId']}/720p0/index.m3u8").status_code == 404


def test_custom_profiles_are_transcoded_with_the_sources_aspect_ratio(api: Api) -> None:
    sources = make_segments("720p", n=1)
    custom = Profile(name="tiny", width=320, height=180, bitrate=200_000)
    stream = api.create_stream("custom", profiles=[custom.wire()])
    assert api.push(stream["streamKey"], 0, sources[0].read_bytes()).status_code == 202
    _wait_listed(api, stream["playbackId"], ["source", "tiny"], 1)
    got = probe(api.get(f"/hls/{stream['playbackId']}/tiny/0.ts").content)
    assert (got.width, got.height) == (320, 180)


def test_the_same_segment_twice_is_stored_and_transcoded_once(api: Api, stack: LocalStack) -> None:
    source = make_segments("240p", n=1)[0].read_bytes()
    stream = api.create_stream("dupes")
    first = api.push(stream["streamKey"], 0, source)
    second = api.push(stream["streamKey"], 0, source)
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    assert (second.status_code, second.json()["status"]) == (202, "duplicate")
    _wait_listed(api, stream["playbackId"], ["source", "240p0"], 1)
    assert _listed(api, stream["playbackId"], "240p0") == ["0.ts"]
    segments = stack.client("dynamodb")
    item = segments.get_item(
        TableName=stack.settings("dev").name("segments"),
        Key={"streamId": {"S": stream["id"]}, "seq": {"N": "0"}},
    )["Item"]
    assert item["status"]["S"] == "ready"


def test_a_redelivered_result_changes_nothing(api: Api, stack: LocalStack) -> None:
    source = make_segments("240p", n=1)[0].read_bytes()
    stream = api.create_stream("redelivery")
    assert api.push(stream["streamKey"], 0, source).status_code == 202
    _wait_listed(api, stream["playbackId"], ["240p0"], 1)
    settings = stack.settings("dev")
    ddb = stack.client("dynamodb")
    key = {"streamId": {"S": stream["id"]}, "seq": {"N": "0"}}
    before = ddb.get_item(TableName=settings.name("segments"), Key=key)["Item"]
    before_playlist = api.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8").text

    # The same S3 notification again, as at-least-once delivery may bring it.
    event: dict[str, Any] = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": settings.name("media")},
                    "object": {"key": quote(f"results/{stream['id']}/0.json", safe="")},
                },
            }
        ]
    }
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName=settings.name("results"))["QueueUrl"]
    for _ in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))

    def drained() -> bool:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"

    wait_for(drained, timeout=30, what="the results queue to drain")
    after = ddb.get_item(TableName=settings.name("segments"), Key=key)["Item"]
    assert after == before
    assert api.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8").text == before_playlist


def test_a_missing_sequence_number_becomes_a_discontinuity(api: Api) -> None:
    sources = make_segments("240p", n=4)
    stream = api.create_stream("gap")
    for seq in (0, 1, 3):
        assert api.push(stream["streamKey"], seq, sources[seq].read_bytes()).status_code == 202
    _wait_listed(api, stream["playbackId"], ["source", "240p0"], 3)
    for rendition in ("source", "240p0"):
        lines = api.get(f"/hls/{stream['playbackId']}/{rendition}/index.m3u8").text.splitlines()
        assert "#EXT-X-MEDIA-SEQUENCE:0" in lines
        body = [line for line in lines if line == "#EXT-X-DISCONTINUITY" or line.endswith(".ts")]
        assert body == [
            "0.ts", "1.ts", "#EXT-X-DISCONTINUITY", "3.ts"
        ]  # fmt: skip
    late = api.push(stream["streamKey"], 2, sources[2].read_bytes())
    assert (late.status_code, late.json()["error"]["code"]) == (409, "segment_too_late")


def test_streams_are_spread_across_the_orchestrators(api: Api, stack: LocalStack) -> None:
    # Equal stakes: each stream picks either orchestrator with probability 1/2, so all 12 landing on
    # one happens once in 2048 runs.
    source = make_segments("240p", n=1)[0].read_bytes()
    chosen = set()
    for index in range(12):
        stream = api.create_stream(f"spread-{index}")
        response = api.push(stream["streamKey"], 0, source)
        assert response.status_code == 202
        chosen.add(response.json()["orchestrator"])
    assert chosen == {stack.address_of(o.name) for o in stack.orchestrators}
