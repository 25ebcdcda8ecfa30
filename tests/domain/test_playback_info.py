"""``GET /playback/{playbackId}``: Livepeer Studio's playback info, public, with our master playlist's URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalice.test import HTTPResponse

from chalicelib.core.clock import now_ms
from tests.domain.conftest import Stage, run_worker
from tests.domain.footage import tiny_segments

HOST = "viewers.example:8080"
HLS_TYPE = "html5/application/vnd.apple.mpegurl"


def info(stage: Stage, playback_id: str, **headers: str) -> HTTPResponse:
    """Ask for playback info as a player would: no API key, a Host header."""
    headers.setdefault("Host", HOST)
    return stage.get(f"/playback/{playback_id}", **headers)


def hls_url_of(body: dict[str, Any]) -> str:
    [source] = [s for s in body["meta"]["source"] if s["hrn"] == "HLS (TS)"]
    url: str = source["url"]
    return url


def test_a_streams_playback_info_has_studios_shape(stage: Stage) -> None:
    stage.configure(public_url=None)
    stream = stage.create_stream("info")
    response = info(stage, stream["playbackId"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    # Studio's playback-info schema: type, meta {live, playbackPolicy, source [{hrn, type, url}]}.
    assert response.json_body == {
        "type": "live",
        "meta": {
            "live": 0,
            "playbackPolicy": {"type": "public"},
            "source": [
                {
                    "hrn": "HLS (TS)",
                    "type": HLS_TYPE,
                    "url": f"http://{HOST}/hls/{stream['playbackId']}/index.m3u8",
                }
            ],
        },
    }


def test_a_stream_is_live_from_its_first_segment_until_it_goes_idle(stage: Stage) -> None:
    stream = stage.create_stream("live flag")
    assert info(stage, stream["playbackId"]).json_body["meta"]["live"] == 0
    pushed = stage.push(stream["streamKey"], 0, tiny_segments(1)[0], **{"Content-Duration": "1000"})
    assert pushed.status_code == 202
    assert info(stage, stream["playbackId"]).json_body["meta"]["live"] == 1
    assert stage.app.wiring.streams().mark_idle(now_ms() + 60_000) == [stream["id"]]
    assert info(stage, stream["playbackId"]).json_body["meta"]["live"] == 0


def test_the_hls_source_is_the_master_playlist_that_plays(stage: Stage) -> None:
    stage.configure(public_url=None)
    stream = stage.create_stream("plays")
    for seq, segment in enumerate(tiny_segments(2)):
        assert stage.push(stream["streamKey"], seq, segment, **{"Content-Duration": "1000"}).status_code == 202
    run_worker(stage)
    assert stage.deliver_results() == {"batchItemFailures": []}
    url = urlsplit(hls_url_of(info(stage, stream["playbackId"]).json_body))
    assert url.netloc == HOST
    master = stage.get(url.path)
    assert master.status_code == 200 and b"#EXT-X-STREAM-INF" in master.body


def test_links_are_built_on_the_configured_public_url(stage: Stage) -> None:
    stage.configure(public_url="https://play.example.com/")
    stream = stage.create_stream("public url")
    url = hls_url_of(info(stage, stream["playbackId"]).json_body)
    assert url == f"https://play.example.com/hls/{stream['playbackId']}/index.m3u8"


def test_links_follow_the_scheme_the_client_reached_us_by(stage: Stage) -> None:
    stage.configure(public_url=None)
    stream = stage.create_stream("https")
    url = hls_url_of(info(stage, stream["playbackId"], **{"X-Forwarded-Proto": "https"}).json_body)
    assert url.startswith(f"https://{HOST}/hls/")
    odd = hls_url_of(info(stage, stream["playbackId"], **{"X-Forwarded-Proto": "javascript"}).json_body)
    assert odd.startswith(f"http://{HOST}/hls/")


def test_without_a_public_url_a_request_needs_a_usable_host(stage: Stage) -> None:
    stage.configure(public_url=None)
    stream = stage.create_stream("host")
    missing = stage.get(f"/playback/{stream['playbackId']}")
    assert (missing.status_code, missing.json_body["error"]["code"]) == (400, "missing_host")
    for host in ('evil.example/"><x', "a b", "host:port"):
        refused = info(stage, stream["playbackId"], Host=host)
        assert (refused.status_code, refused.json_body["error"]["code"]) == (400, "invalid_host"), host


def test_an_unknown_playback_id_is_404_with_a_stable_code(stage: Stage) -> None:
    response = info(stage, "0000000000000000")
    assert response.status_code == 404
    assert response.json_body == {
        "errors": ["no playback URL found for '0000000000000000'"],
        "error": {"code": "unknown_playback_id", "message": "no playback URL found for '0000000000000000'"},
    }
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_deleted_streams_playback_has_ended(stage: Stage) -> None:
    stream = stage.create_stream("deleted")
    assert stage.call("DELETE", f"/stream/{stream['id']}").status_code == 204
    response = info(stage, stream["playbackId"])
    assert (response.status_code, response.json_body["error"]["code"]) == (404, "stream_ended")
    assert response.json_body["errors"] == ["this stream has ended: it was deleted"]


def test_playback_info_needs_no_api_key(stage: Stage) -> None:
    stream = stage.create_stream("public")
    assert info(stage, stream["playbackId"]).status_code == 200
    assert info(stage, stream["playbackId"], Authorization="Bearer not-a-key").status_code == 200


def test_playback_info_is_open_to_pages_of_any_origin(stage: Stage) -> None:
    stream = stage.create_stream("cors")
    response = info(stage, stream["playbackId"], Origin="https://app.example")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-cache"


def test_clients_generated_from_studios_api_may_send_any_content_type(stage: Stage) -> None:
    stream = stage.create_stream("octet-stream")
    response = info(stage, stream["playbackId"], **{"Content-Type": "application/octet-stream"})
    assert response.status_code == 200 and response.json_body["type"] == "live"
