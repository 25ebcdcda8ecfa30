"""Bad input gets a clear 4xx with a stable code, and nothing is half-written."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.stack import LocalStack
from tests.integration.conftest import Api
from tests.media import make_segments


def _error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def _nothing_stored(stack: LocalStack, stream_id: str) -> bool:
    settings = stack.settings("dev")
    objects = stack.client("s3").list_objects_v2(Bucket=settings.name("media"), Prefix=f"source/{stream_id}/")
    items = stack.client("dynamodb").query(
        TableName=settings.name("segments"),
        KeyConditionExpression="streamId = :s",
        ExpressionAttributeValues={":s": {"S": stream_id}},
    )["Items"]
    return objects.get("KeyCount", 0) == 0 and not items


@pytest.fixture
def stream(api: Api) -> dict[str, Any]:
    return api.create_stream("bad-input")


def test_garbage_bytes_are_refused(api: Api, stack: LocalStack, stream: dict[str, Any]) -> None:
    assert _error(api.push(stream["streamKey"], 0, b"\x00garbage" * 100)) == (422, "invalid_segment")
    assert _nothing_stored(stack, stream["id"])


def test_an_empty_body_is_refused(api: Api, stack: LocalStack, stream: dict[str, Any]) -> None:
    assert _error(api.push(stream["streamKey"], 0, b"")) == (400, "empty_segment")
    assert _nothing_stored(stack, stream["id"])


def test_an_oversized_segment_is_refused_and_the_limit_is_stated(
    api: Api, stack: LocalStack, stream: dict[str, Any]
) -> None:
    limit = stack.settings("dev").max_segment_bytes
    body = (b"\x47" + bytes(187)) * (limit // 188 + 1)
    response = api.push(stream["streamKey"], 0, body)
    assert response.status_code == 413
    assert str(limit) in response.text
    assert _nothing_stored(stack, stream["id"])


def test_a_wrong_stream_key_is_refused(api: Api) -> None:
    segment = make_segments("240p", n=1)[0].read_bytes()
    assert _error(api.push("nope-nope-nope-nope", 0, segment)) == (404, "unknown_stream_key")


def test_a_deleted_streams_key_is_refused(api: Api, stack: LocalStack) -> None:
    stream = api.create_stream("to-delete")
    assert api.call("DELETE", f"/stream/{stream['id']}").status_code == 204
    segment = make_segments("240p", n=1)[0].read_bytes()
    assert _error(api.push(stream["streamKey"], 0, segment)) == (410, "stream_deleted")
    assert _nothing_stored(stack, stream["id"])


@pytest.mark.parametrize("name", ["-1.ts", "abc.ts", "1.5.ts", "99999999999999999.ts"])
def test_a_sequence_number_that_is_not_a_non_negative_integer_is_refused(
    api: Api, stack: LocalStack, stream: dict[str, Any], name: str
) -> None:
    segment = make_segments("240p", n=1)[0].read_bytes()
    assert _error(api.push(stream["streamKey"], name, segment)) == (400, "invalid_sequence")
    assert _nothing_stored(stack, stream["id"])


def test_a_sequence_number_far_ahead_is_refused(api: Api, stream: dict[str, Any]) -> None:
    segment = make_segments("240p", n=1)[0].read_bytes()
    assert api.push(stream["streamKey"], 0, segment).status_code == 202
    assert _error(api.push(stream["streamKey"], 10_000_001, segment)) == (422, "sequence_out_of_order")


def test_a_bad_content_duration_is_refused(api: Api, stack: LocalStack, stream: dict[str, Any]) -> None:
    segment = make_segments("240p", n=1)[0].read_bytes()
    response = api.push(stream["streamKey"], 0, segment, **{"Content-Duration": "two seconds"})
    assert _error(response) == (422, "invalid_content_duration")
    assert _nothing_stored(stack, stream["id"])


def test_deletes_from_ffmpegs_hls_muxer_are_accepted_and_ignored(api: Api, stream: dict[str, Any]) -> None:
    segment = make_segments("240p", n=1)[0].read_bytes()
    assert api.push(stream["streamKey"], "index0.ts", segment).status_code == 202
    deleted = api.http.delete(api.url(f"/live/{stream['streamKey']}/index0.ts"), timeout=10)
    assert deleted.status_code == 204
    again = api.push(stream["streamKey"], "index0.ts", segment)
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")
