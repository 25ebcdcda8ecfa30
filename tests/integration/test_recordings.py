"""A recorded stream on the local stack, end to end: real footage pushed, transcoded by the worker, the stream idle,
its VOD written by the gateway's handler, its MP4 made by the recorder process, both played back by decoding.

The stack is this module's own (one orchestrator with its worker, the gateway's recorder), with the idle sweep
firing every second and streams idle after 3 s without a segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import LocalStack
from tests.integration.conftest import STACK_ENV, Api, playlist_segments, wait_for
from tests.media import make_segments, probe

SEGMENTS, SECONDS = 3, 2.0
PROFILES = [{"name": "240p0", "width": 426, "height": 240, "bitrate": 250_000}]


@pytest.fixture(scope="module")
def recording_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    env = {**STACK_ENV, "LP_STREAM_IDLE_AFTER_S": "3"}
    stack = LocalStack.on_free_ports(
        tmp_path_factory.mktemp("recordings"), ("orch-a",), schedule_every=1.0, extra_env=env
    )
    with stack:
        yield Api(stack.gateway_url, stack.api_key, requests.Session())


def recorded_session(api: Api, stream_id: str) -> dict[str, Any] | None:
    sessions = api.call("GET", f"/stream/{stream_id}/sessions").json()
    done = sessions and sessions[0].get("recordingStatus") in ("ready", "failed")
    return sessions[0] if done else None


def test_a_recorded_stream_that_goes_idle_plays_back_start_to_end_as_vod_and_mp4(recording_api: Api) -> None:
    api = recording_api
    stream = api.create_stream("recorded", record=True, profiles=PROFILES)
    for seq, path in enumerate(make_segments("360p", SEGMENTS, SECONDS, "aac")):
        answer = api.push(stream["streamKey"], seq, path.read_bytes(), **{"Content-Duration": str(int(SECONDS * 1000))})
        assert answer.status_code == 202, answer.text
    session = wait_for(lambda: recorded_session(api, stream["id"]), 45, 0.5, what="the recording")
    assert session["recordingStatus"] == "ready", session
    assert session["sourceSegments"] == SEGMENTS and session["transcodedSegments"] == SEGMENTS
    pushed = SEGMENTS * SECONDS
    # The VOD: every rendition's media playlist, its segments fetched and decoded as one.
    master = api.get(session["recordingUrl"].removeprefix(api.base))
    assert master.status_code == 200
    for variant in playlist_segments(master.text):
        folder = session["recordingUrl"].rsplit("/", 1)[0] + "/" + variant.rsplit("/", 1)[0]
        media = requests.get(f"{folder}/index.m3u8", timeout=30).text
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in media and media.rstrip().endswith("#EXT-X-ENDLIST")
        uris = playlist_segments(media)
        assert uris == [f"{seq}.ts" for seq in range(SEGMENTS)]
        joined = b"".join(requests.get(f"{folder}/{uri}", timeout=30).content for uri in uris)
        assert abs(probe(joined).duration - pushed) <= SECONDS
    # The MP4: followed from the gateway's redirect to the bucket, H.264 and AAC, the whole session.
    mp4 = requests.get(session["mp4Url"], timeout=30)
    assert mp4.status_code == 200 and mp4.history and mp4.history[0].status_code == 302
    decoded = probe(mp4.content)
    assert decoded.video_codec == "h264" and decoded.audio_codec == "aac" and decoded.height == 240
    assert abs(decoded.duration - pushed) <= SECONDS
    # Studio's playback info of the session: type recording, the VOD and the MP4.
    info = api.get(f"/playback/{session['id']}").json()
    assert info["type"] == "recording"
    assert [s["url"] for s in info["meta"]["source"]] == [session["recordingUrl"], session["mp4Url"]]
