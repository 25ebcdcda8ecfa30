"""The local HTTP front turns requests into API Gateway proxy events the way API Gateway does."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from devstack.front import FrontConfig, FrontThread, ResourceMatcher
from tests.support import PUMP_APP, load_module

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    return load_module(PUMP_APP, "front_test_app")


@pytest.fixture(scope="module")
def front(app_module: ModuleType) -> Iterator[FrontThread]:
    with FrontThread(app_module.app, port=0, config=FrontConfig(stage="test", max_body_bytes=MAX_BODY)) as f:
        yield f


def _conn(front: FrontThread) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(front.server.host, front.server.port, timeout=10)


def _raw_request(front: FrontThread, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library adding headers) and parse the response."""
    with socket.create_connection((front.server.host, front.server.port), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def _chunked(body: bytes, size: int) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def test_chunked_body_without_content_type_reaches_the_handler_intact(front: FrontThread) -> None:
    body = bytes(range(256)) * 100  # 25.6 kB of every byte value, as a .ts segment would have
    request = (
        b"PUT /live/key1/index0.ts HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
        b"User-Agent: Lavf/60\r\n\r\n" + _chunked(body, 4000)
    )
    status, _, raw = _raw_request(front, request)
    assert status == 200, raw
    answer = json.loads(raw)
    assert answer["size"] == len(body)
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["contentType"] is None
    assert answer["base64"] is True


def test_chunked_body_from_http_client_is_read_whole(front: FrontThread) -> None:
    parts = [b"a" * 1000, b"\x00\xff" * 300, b"end"]
    conn = _conn(front)
    conn.request(
        "POST", "/live/key1/index1.ts", body=iter(parts), encode_chunked=True, headers={"Transfer-Encoding": "chunked"}
    )
    response = conn.getresponse()
    answer = json.loads(response.read())
    assert response.status == 200
    assert answer["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_binary_body_round_trips(front: FrontThread) -> None:
    body = bytes(range(256)) * 4
    conn = _conn(front)
    conn.request("PUT", "/live/k/seg.ts", body=body, headers={"Content-Type": "video/mp2t"})
    answer = json.loads(conn.getresponse().read())
    assert (answer["size"], answer["contentType"]) == (len(body), "video/mp2t")
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    conn.request("GET", "/blob", headers={"Accept": "application/octet-stream"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert response.read() == bytes(range(256))


def test_query_and_path_parameters_are_in_the_event(front: FrontThread) -> None:
    conn = _conn(front)
    conn.request("GET", "/items/42?a=1&a=2&b=")
    response = conn.getresponse()
    assert response.status == 200
    answer = json.loads(response.read())
    assert answer == {
        "id": "42",
        "query": {"a": ["1", "2"], "b": [""]},
        "resource": "/items/{item_id}",
        "stage": "test",
    }


def test_oversize_body_is_refused_with_413(front: FrontThread) -> None:
    conn = _conn(front)
    conn.request("PUT", "/live/k/big.ts", body=b"x" * (MAX_BODY + 1))
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["code"] == "payload_too_large"
    request = b"PUT /live/k/big.ts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, _, _ = _raw_request(front, request + _chunked(b"y" * (MAX_BODY + 10), 8192))
    assert status == 413


def test_unknown_path_answers_like_api_gateway(front: FrontThread) -> None:
    conn = _conn(front)
    conn.request("GET", "/nowhere")
    response = conn.getresponse()
    assert response.status == 403
    assert json.loads(response.read()) == {"message": "Missing Authentication Token"}


def test_head_and_options(front: FrontThread) -> None:
    conn = _conn(front)
    conn.request("HEAD", "/hello")
    response = conn.getresponse()
    assert response.status == 200
    assert int(response.getheader("Content-Length") or 0) == len(b'{"hello":"world"}')
    assert response.read() == b""
    conn.request("OPTIONS", "/items/1")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert set((response.getheader("Allow") or "").split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_routes_prefer_literal_segments() -> None:
    routes = ResourceMatcher(["/live/{key}/{name}", "/live/{key}/index.m3u8", "/"])
    assert routes.match_route("/live/abc/index.m3u8").route == "/live/{key}/index.m3u8"
    match = routes.match_route("/live/abc/1.ts/")
    assert match.route == "/live/{key}/{name}" and match.captured == {"key": "abc", "name": "1.ts"}
    with pytest.raises(ValueError):
        routes.match_route("/live/abc")


def test_an_encoded_delimiter_stays_in_its_path_parameter() -> None:
    # chalice's RouteMatcher cut `/stream/%3Fx` at the `?` and matched `/stream`: the list, not the stream.
    routes = ResourceMatcher(["/stream", "/stream/{id}", "/stream/{id}/log"])
    for raw, value in [("%3Fx", "?x"), ("%3B", ";"), ("%23a", "#a"), ("a%2Fb", "a/b"), ("%C3%A9", "é")]:
        match = routes.match_route(f"/stream/{raw}")
        assert (match.route, match.captured) == ("/stream/{id}", {"id": value})
    assert routes.match_route("/stream/a%2Fb/log").captured == {"id": "a/b"}
    assert routes.match_route("/stream/").route == "/stream"
    with pytest.raises(ValueError):
        routes.match_route("/stream//log")  # a parameter is never empty


def test_an_encoded_question_mark_reaches_the_parameter_not_the_query(front: FrontThread) -> None:
    conn = _conn(front)
    conn.request("GET", "/items/%3Fx%3B?a=1")
    response = conn.getresponse()
    assert response.status == 200
    body = json.loads(response.read())
    assert (body["id"], body["resource"], body["query"]) == ("?x;", "/items/{item_id}", {"a": ["1"]})


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_ffmpeg_hls_push_reaches_the_handler(front: FrontThread, app_module: Any) -> None:
    url = f"{front.url}/live/ffkey/index.m3u8"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "10",
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-method",
            "PUT",
            url,
        ],
        check=True,
        timeout=60,
    )
    pushed = [(name, body) for key, name, body in app_module.calls.get("ingest", []) if key == "ffkey"]
    names = [name for name, _ in pushed]
    assert "index0.ts" in names and "index.m3u8" in names
    segment = dict(pushed)["index0.ts"]
    assert len(segment) > 1000 and segment[0] == 0x47  # MPEG-TS sync byte
