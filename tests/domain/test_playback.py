"""Playback: master and media playlists from the ledger, segments served or redirected, gaps declared once."""

from __future__ import annotations

import io
from typing import Any

import av
import requests

from tests.domain.conftest import Stage, run_worker
from tests.domain.footage import tiny_segments

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


def live(stage: Stage, seqs: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    """A stream whose segments ``seqs`` were pushed, transcoded and settled."""
    stream = stage.create_stream("playback")
    segments = tiny_segments(max(seqs) + 1)
    for seq in seqs:
        assert stage.push(stream["streamKey"], seq, segments[seq], **{"Content-Duration": "1000"}).status_code == 202
    run_worker(stage)
    assert stage.deliver_results() == {"batchItemFailures": []}
    return stream


def uris(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if line and not line.startswith("#")]


def test_nothing_plays_until_the_first_segment_is_ready(stage: Stage) -> None:
    stream = stage.create_stream("empty")
    master = stage.get(f"/hls/{stream['playbackId']}/index.m3u8")
    assert (master.status_code, master.json_body["error"]["code"]) == (404, "stream_not_ready")
    media = stage.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8")
    assert media.status_code == 200 and uris(media.body) == []
    unknown = stage.get(f"/hls/{stream['playbackId']}/999p/index.m3u8")
    assert (unknown.status_code, unknown.json_body["error"]["code"]) == (404, "unknown_rendition")
    assert stage.get("/hls/0000000000000000/index.m3u8").json_body["error"]["code"] == "unknown_playback_id"


def test_the_playlists_list_every_ready_segment_of_every_rendition(stage: Stage) -> None:
    stream = live(stage)
    master = stage.get(f"/hls/{stream['playbackId']}/index.m3u8")
    assert master.headers["Content-Type"] == PLAYLIST_TYPE and master.headers["Access-Control-Allow-Origin"] == "*"
    infs = [line for line in master.body.decode().splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert [i.split("NAME=")[1] for i in infs] == ['"source"', '"240p0"']
    assert all("RESOLUTION=426x240" in i and "avc1." in i and "mp4a.40.2" in i for i in infs)
    for rendition in ("source", "240p0"):
        media = stage.get(f"/hls/{stream['playbackId']}/{rendition}/index.m3u8")
        assert uris(media.body) == ["0.ts", "1.ts", "2.ts"]
        assert "#EXTINF:1.000," in media.body.decode() and "#EXT-X-MEDIA-SEQUENCE:0" in media.body.decode()
    unknown = stage.get(f"/hls/{stream['playbackId']}/999p/index.m3u8")
    assert (unknown.status_code, unknown.json_body["error"]["code"]) == (404, "unknown_rendition")


def test_segments_are_served_through_the_api(stage: Stage) -> None:
    stream = live(stage, (0,))
    served = stage.get(f"/hls/{stream['playbackId']}/240p0/0.ts")
    assert served.status_code == 200 and served.headers["Content-Type"] == "video/mp2t"
    with av.open(io.BytesIO(served.body)) as container:
        assert len(list(container.decode(video=0))) == 10
    assert stage.get(f"/hls/{stream['playbackId']}/source/0.ts").body == tiny_segments(1)[0]
    missing = stage.get(f"/hls/{stream['playbackId']}/240p0/7.ts")
    assert (missing.status_code, missing.json_body["error"]["code"]) == (404, "segment_not_found")
    not_a_segment = stage.get(f"/hls/{stream['playbackId']}/240p0/other.m3u8")
    assert (not_a_segment.status_code, not_a_segment.json_body["error"]["code"]) == (404, "not_found")


def test_segments_can_be_redirected_to_presigned_urls(stage: Stage) -> None:
    stream = live(stage, (0,))
    stage.configure(segment_delivery="redirect", presign_ttl_s=120)
    redirect = stage.get(f"/hls/{stream['playbackId']}/240p0/0.ts")
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert "X-Amz-Expires=120" in location
    assert requests.get(location, timeout=5).content == stage.media(f"renditions/{stream['id']}/240p0/0.ts")


def test_a_missing_segment_becomes_a_discontinuity_and_a_late_one_is_refused(stage: Stage) -> None:
    stage.configure(missing_timeout_s=0)
    stream = live(stage, (0, 1, 3))
    for rendition in ("source", "240p0"):
        text = stage.get(f"/hls/{stream['playbackId']}/{rendition}/index.m3u8").body.decode()
        body = [line for line in text.splitlines() if line == "#EXT-X-DISCONTINUITY" or line.endswith(".ts")]
        assert body == ["0.ts", "1.ts", "#EXT-X-DISCONTINUITY", "3.ts"]
    late = stage.push(stream["streamKey"], 2, tiny_segments(4)[2])
    assert (late.status_code, late.json_body["error"]["code"]) == (409, "segment_too_late")


def test_the_live_window_slides_and_keeps_its_numbering(stage: Stage) -> None:
    stage.configure(playlist_window=2)
    stream = live(stage, (0, 1, 2))
    text = stage.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8").body
    assert uris(text) == ["1.ts", "2.ts"] and "#EXT-X-MEDIA-SEQUENCE:1" in text.decode()
