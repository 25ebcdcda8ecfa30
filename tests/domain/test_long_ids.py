"""A path parameter far longer than any id this app issues is answered as an unknown id, and never sent to AWS.

DynamoDB refuses a key over 2048 bytes (1024 for a sort key) with a ValidationException even on a read, and
moto does not, so these tests watch the requests themselves: a 3000-byte id must never leave the process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.endpoint import Endpoint

from tests.domain.conftest import Stage

LONG_BYTES = 3000
#: An unknown value of the usual shape for each path parameter of ``app.py``.
SHORT: dict[str, str] = {
    "stream_id": "0e6a3c3e-6a4b-4f5e-9d7c-2f1b5a9c8d70",
    "webhook_id": "5b1f2e9a-8c3d-4e6f-a7b8-c9d0e1f2a3b4",
    "session_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "stream_key": "abcd-1234-efgh-5678",
    "playback_id": "0123456789abcdef",
    "rendition": "720p",
    "file": "1.ts",
    "name": "1.ts",
}
#: What each route answers for an unknown id of the usual shape: a long one must be answered the same.
UNKNOWN: dict[tuple[str, str], tuple[int, str | None]] = {
    ("GET", "/stream/{stream_id}"): (404, "stream_not_found"),
    ("PATCH", "/stream/{stream_id}"): (404, "stream_not_found"),
    ("DELETE", "/stream/{stream_id}"): (404, "stream_not_found"),
    ("GET", "/stream/{stream_id}/sessions"): (404, "stream_not_found"),
    ("GET", "/webhook/{webhook_id}"): (404, "webhook_not_found"),
    ("PATCH", "/webhook/{webhook_id}"): (404, "webhook_not_found"),
    ("PUT", "/webhook/{webhook_id}"): (404, "webhook_not_found"),
    ("DELETE", "/webhook/{webhook_id}"): (404, "webhook_not_found"),
    ("GET", "/webhook/{webhook_id}/log"): (404, "webhook_not_found"),
    ("PUT", "/live/{stream_key}/{name}"): (404, "unknown_stream_key"),
    ("POST", "/live/{stream_key}/{name}"): (404, "unknown_stream_key"),
    ("DELETE", "/live/{stream_key}/{name}"): (404, "unknown_stream_key"),
    ("GET", "/hls/{playback_id}/index.m3u8"): (404, "unknown_playback_id"),
    ("GET", "/hls/{playback_id}/{rendition}/{file}"): (404, "unknown_playback_id"),
    ("GET", "/playback/{playback_id}"): (404, "unknown_playback_id"),
    ("GET", "/play/{playback_id}"): (200, None),  # the page tells an unknown id itself
    ("GET", "/play/assets/{name}"): (404, "asset_not_found"),
    ("GET", "/dashboard/assets/{name}"): (404, "asset_not_found"),
    ("GET", "/recordings/{session_id}/index.m3u8"): (404, "recording_not_found"),
    ("GET", "/recordings/{session_id}/output.mp4"): (404, "recording_not_found"),
    ("GET", "/recordings/{session_id}/{rendition}/{file}"): (404, "recording_not_found"),
}
#: A valid body where the route reads one, so that the answer is the lookup's, not the body's.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/stream/{stream_id}"): {"name": "renamed"},
    ("PATCH", "/webhook/{webhook_id}"): {"name": "renamed"},
    ("PUT", "/webhook/{webhook_id}"): {"name": "app", "url": "https://hooks.example/in", "events": ["stream.started"]},
    ("PUT", "/live/{stream_key}/{name}"): b"\x47" * 188,
    ("POST", "/live/{stream_key}/{name}"): b"\x47" * 188,
}
CASES = [(method, path, param) for (method, path) in UNKNOWN for param in re.findall(r"\{(\w+)\}", path)]


def _long(param: str) -> str:
    """A ``LONG_BYTES``-byte value of the parameter's shape (``aaa…1.ts`` is still a segment name)."""
    short = SHORT[param]
    return "a" * (LONG_BYTES - len(short)) + short


def _answer(stage: Stage, method: str, path: str, values: dict[str, str]) -> tuple[int, str | None]:
    url = re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path)
    response = stage.call(method, url, BODIES.get((method, path)), Accept="*/*", Host="gateway.test")
    code = None
    if response.headers.get("Content-Type", "").startswith("application/json") and response.body:
        code = json.loads(response.body).get("error", {}).get("code")
    return response.status_code, code


@pytest.fixture
def aws_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Each request the process sends to AWS (moto answers it further down): its operation and its payload."""
    sent: list[tuple[str, str]] = []
    make_request = Endpoint.make_request

    def recorded(endpoint: Endpoint, operation_model: Any, request_dict: dict[str, Any]) -> Any:
        body = request_dict.get("body") or b""
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        operation = f"{operation_model.service_model.service_name}.{operation_model.name}"
        sent.append((operation, f"{request_dict.get('url', '')} {text}"))
        return make_request(endpoint, operation_model, request_dict)

    monkeypatch.setattr(Endpoint, "make_request", recorded)
    yield sent


def test_every_route_with_a_path_parameter_is_listed(app_module: ModuleType) -> None:
    # A new route with a path parameter must say here what it answers for an unknown id.
    routes = {(method, path) for path, methods in app_module.app.routes.items() for method in methods if "{" in path}
    assert set(UNKNOWN) == routes
    assert {param for *_, param in CASES} == set(SHORT)


@pytest.mark.parametrize(("method", "path", "param"), CASES, ids=[f"{m} {p} {q}" for m, p, q in CASES])
def test_a_long_path_parameter_is_answered_as_an_unknown_one_without_reaching_aws(
    stage: Stage, aws_requests: list[tuple[str, str]], method: str, path: str, param: str
) -> None:
    assert _answer(stage, method, path, SHORT) == UNKNOWN[(method, path)]

    aws_requests.clear()
    long = _long(param)
    assert len(long.encode()) == LONG_BYTES
    assert _answer(stage, method, path, {**SHORT, param: long}) == UNKNOWN[(method, path)]
    assert [operation for operation, payload in aws_requests if long in payload] == []
