"""The stream API and the streams table: Studio's shape on the wire, typed records in the store."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.streams.models import StreamCreate, StreamRecord
from chalicelib.streams.profiles import DEFAULT_PROFILES
from tests.domain.conftest import Stage
from tests.domain.footage import tiny_segments

COUNTERS = {
    "sourceSegments": 0,
    "sourceBytes": 0,
    "sourceSegmentsDuration": 0.0,
    "transcodedSegments": 0,
    "transcodedBytes": 0,
    "transcodedSegmentsDuration": 0.0,
}


def test_create_get_list_delete(stage: Stage) -> None:
    created = stage.create_stream("my stream")
    assert set(created) >= {"id", "name", "streamKey", "playbackId", "profiles", "createdAt", "isActive"}
    assert created["profiles"] == [p.wire() for p in DEFAULT_PROFILES]
    assert stage.call("GET", f"/stream/{created['id']}").json_body == created
    assert created["id"] in [s["id"] for s in stage.call("GET", "/stream").json_body]

    assert stage.call("DELETE", f"/stream/{created['id']}").status_code == 204
    gone = stage.call("GET", f"/stream/{created['id']}")
    assert (gone.status_code, gone.json_body["error"]["code"]) == (404, "stream_not_found")
    assert stage.get(f"/hls/{created['playbackId']}/index.m3u8").status_code == 404
    assert created["id"] not in [s["id"] for s in stage.call("GET", "/stream").json_body]


def test_another_owners_streams_are_invisible(stage: Stage) -> None:
    mine = stage.create_stream("mine")
    stage.app.wiring.apikeys().register("key-of-mallory", "mallory")
    theirs = {"Authorization": "Bearer key-of-mallory"}
    assert stage.call("GET", f"/stream/{mine['id']}", **theirs).status_code == 404
    assert stage.call("DELETE", f"/stream/{mine['id']}", **theirs).status_code == 404
    assert stage.call("GET", "/stream", **theirs).json_body == []
    assert stage.call("GET", f"/stream/{mine['id']}").status_code == 200


def test_invalid_bodies_are_refused_with_the_failing_fields(stage: Stage) -> None:
    bad = stage.call("POST", "/stream", {"name": "", "profiles": [{"name": "x", "width": 1}]})
    assert bad.status_code == 422
    assert bad.json_body["error"]["code"] == "invalid_body"
    assert {e["loc"] for e in bad.json_body["error"]["errors"]} >= {"name", "profiles.0.width"}
    # Studio's shape beside ours: one readable line per failing field.
    assert any(line.startswith("profiles.0.width: ") for line in bad.json_body["errors"])
    twice = {"name": "p", "width": 640, "height": 360, "bitrate": 800_000}
    dupes = stage.call("POST", "/stream", {"name": "d", "profiles": [twice, twice]})
    assert (dupes.status_code, dupes.json_body["error"]["code"]) == (422, "invalid_body")
    source = stage.call("POST", "/stream", {"name": "s", "profiles": [{**twice, "name": "source"}]})
    assert source.status_code == 422
    not_json = stage.call("POST", "/stream", b"{nope", **{"Content-Type": "application/json"})
    assert (not_json.status_code, not_json.json_body["error"]["code"]) == (400, "invalid_json")


def test_the_store_keeps_typed_records_with_the_ingest_state(stage: Stage) -> None:
    streams = stage.app.wiring.streams()
    record = streams.create(StreamCreate(name="typed", record=True), "tester")
    assert isinstance(record, StreamRecord) and record.owner == "tester" and record.max_seq is None
    streams.touch(record.id, 4, 1_000)
    streams.touch(record.id, 2, 2_000)  # an older sequence number never lowers the newest
    streams.add_gaps(record.id, [1, 3])
    streams.add_gaps(record.id, [3])
    streams.set_orchestrator(record.id, "0xabc")
    again = streams.get(record.id, "tester")
    assert (again.max_seq, again.last_seen, again.is_active) == (4, 2_000, True)
    assert again.gaps == frozenset({1, 3}) and again.orchestrator == "0xabc" and again.record
    assert streams.by_stream_key(record.stream_key).id == record.id
    assert streams.by_playback_id(record.playback_id).id == record.id


def test_streams_without_segments_for_a_while_go_idle(stage: Stage) -> None:
    created = stage.create_stream("idle")
    stage.app.wiring.streams().touch(created["id"], 0, 1_000)
    assert stage.call("GET", f"/stream/{created['id']}").json_body["isActive"] is True
    stage.configure(stream_idle_after_s=0)
    tick = stage.client.events.generate_cw_event("aws.events", "Scheduled Event", {}, ["arn:aws:events:rule/sweep"])
    stage.client.lambda_.invoke("sweep_idle_streams", tick)
    assert stage.call("GET", f"/stream/{created['id']}").json_body["isActive"] is False


def test_the_stream_list_is_a_json_array_newest_first(stage: Stage) -> None:
    older, newer = stage.create_stream("older"), stage.create_stream("newer")
    listed = stage.call("GET", "/stream")
    assert isinstance(listed.json_body, list)
    assert [s["id"] for s in listed.json_body][:2] == [newer["id"], older["id"]]


def test_bodiless_requests_are_taken_whatever_their_content_type(stage: Stage) -> None:
    # Clients generated from Studio's API description send this on GET and DELETE.
    octets = {"Content-Type": "application/octet-stream"}
    created = stage.create_stream("typed")
    assert stage.call("GET", "/stream", **octets).status_code == 200
    assert stage.call("GET", f"/stream/{created['id']}", **octets).json_body == created
    assert stage.call("DELETE", f"/stream/{created['id']}", **octets).status_code == 204
    assert stage.call("GET", "/health", **{"Content-Type": "text/plain"}).status_code == 200


def test_a_new_stream_carries_studios_counters_at_zero_and_a_public_policy(stage: Stage) -> None:
    created = stage.create_stream("fresh")
    assert {name: created[name] for name in COUNTERS} == COUNTERS
    assert created["isActive"] is False and created["playbackPolicy"] == {"type": "public"}
    assert "userTags" not in created


def test_studio_profile_fields_round_trip(stage: Stage) -> None:
    profile = {
        "name": "720p30",
        "width": 1280,
        "height": 720,
        "bitrate": 3_000_000,
        "fps": 30000,
        "fpsDen": 1001,
        "gop": "2.5",
        "profile": "H264ConstrainedHigh",
        "quality": 23,
        "encoder": "H.264",
    }
    intra = {"name": "intra", "width": 640, "height": 360, "bitrate": 800_000, "fps": 0, "gop": "intra"}
    created = stage.create_stream("studio", profiles=[profile, intra])
    assert created["profiles"] == [profile, intra]
    assert stage.call("GET", f"/stream/{created['id']}").json_body["profiles"] == [profile, intra]


def test_a_numeric_gop_is_kept_as_studios_string(stage: Stage) -> None:
    profile = {"name": "p", "width": 640, "height": 360, "bitrate": 800_000, "fps": 0, "gop": 2}
    assert stage.create_stream("gop", profiles=[profile])["profiles"][0]["gop"] == "2"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gop": "sometimes"}, "profiles.0.gop"),
        ({"gop": "0"}, "profiles.0.gop"),
        ({"profile": "H264Extended"}, "profiles.0.profile"),
        ({"quality": 45}, "profiles.0.quality"),
        ({"fpsDen": 0}, "profiles.0.fpsDen"),
    ],
)
def test_profile_fields_out_of_range_are_refused_naming_the_field(
    stage: Stage, change: dict[str, Any], field: str
) -> None:
    profile = {"name": "p", "width": 640, "height": 360, "bitrate": 800_000, **change}
    refused = stage.call("POST", "/stream", {"name": "bad", "profiles": [profile]})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "invalid_body")
    assert field in {e["loc"] for e in refused.json_body["error"]["errors"]}


@pytest.mark.parametrize("encoder", ["HEVC", "VP8", "VP9", "AV1"])
def test_encoders_the_worker_does_not_make_are_refused_with_a_code(stage: Stage, encoder: str) -> None:
    profile = {"name": "p", "width": 640, "height": 360, "bitrate": 800_000, "encoder": encoder}
    refused = stage.call("POST", "/stream", {"name": "hevc", "profiles": [profile]})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "unsupported_encoder")
    assert encoder in refused.json_body["errors"][0]


def test_lossless_quality_with_a_named_h264_profile_is_refused(stage: Stage) -> None:
    profile = {"name": "p", "width": 640, "height": 360, "bitrate": 800_000, "quality": 0, "profile": "H264Main"}
    refused = stage.call("POST", "/stream", {"name": "lossless", "profiles": [profile]})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "unsupported_profile_quality")


def test_a_public_playback_policy_is_taken(stage: Stage) -> None:
    created = stage.create_stream("public", playbackPolicy={"type": "public"})
    assert created["playbackPolicy"] == {"type": "public"}


@pytest.mark.parametrize(
    "policy", [{"type": "jwt"}, {"type": "webhook", "webhookId": "w1"}, {"type": "public", "allowedOrigins": ["x"]}]
)
def test_signed_playback_policies_are_refused_with_a_code(stage: Stage, policy: dict[str, Any]) -> None:
    refused = stage.call("POST", "/stream", {"name": "signed", "playbackPolicy": policy})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "unsupported_playback_policy")
    assert stage.call("GET", "/stream").json_body == []


def test_user_tags_are_stored_and_returned(stage: Stage) -> None:
    tags = {"app": "demo", "tier": 2, "ratio": 1.5, "labels": ["a", 3]}
    created = stage.create_stream("tagged", userTags=tags)
    assert created["userTags"] == tags
    assert stage.call("GET", f"/stream/{created['id']}").json_body["userTags"] == tags
    assert stage.call("GET", "/stream").json_body[0]["userTags"] == tags


def test_every_error_body_has_studios_errors_and_our_code(stage: Stage) -> None:
    missing = stage.call("GET", "/stream/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json_body["error"]["code"] == "stream_not_found"
    assert missing.json_body["errors"] == [missing.json_body["error"]["message"]]
    unauthorized = stage.call("GET", "/stream", Authorization="Bearer nope")
    assert isinstance(unauthorized.json_body["errors"], list) and unauthorized.json_body["errors"]
    assert all(isinstance(line, str) for line in unauthorized.json_body["errors"])


# --- PATCH, suspension and idleness (issue 9, item 2) ----------------------------------------------


def test_a_stream_is_patched_field_by_field_as_studio_does(stage: Stage) -> None:
    created = stage.create_stream("before", userTags={"team": "a"})
    patch = {
        "name": "after",
        "record": True,
        "userTags": {"team": "b", "n": 2},
        "profiles": [DEFAULT_PROFILES[0].wire()],
    }
    answer = stage.call("PATCH", f"/stream/{created['id']}", patch)
    assert (answer.status_code, answer.body) == (204, b"")
    got = stage.call("GET", f"/stream/{created['id']}").json_body
    assert (got["name"], got["record"], got["userTags"]) == ("after", True, {"team": "b", "n": 2})
    assert [p["name"] for p in got["profiles"]] == [DEFAULT_PROFILES[0].name]
    assert got["streamKey"] == created["streamKey"] and got["suspended"] is False  # untouched fields stay


@pytest.mark.parametrize(
    ("patch", "status", "code"),
    [
        ({"profiles": [{**DEFAULT_PROFILES[0].wire(), "encoder": "VP9"}]}, 422, "unsupported_encoder"),
        ({"playbackPolicy": {"type": "jwt"}}, 422, "unsupported_playback_policy"),
        ({"streamKey": "mine-now"}, 422, "invalid_body"),  # not a field a PATCH may set
        ({"name": ""}, 422, "invalid_body"),
    ],
)
def test_a_patch_asking_for_what_is_not_honoured_is_refused(
    stage: Stage, patch: dict[str, Any], status: int, code: str
) -> None:
    created = stage.create_stream("patched")
    answer = stage.call("PATCH", f"/stream/{created['id']}", patch)
    assert (answer.status_code, answer.json_body["error"]["code"]) == (status, code)
    assert stage.call("GET", f"/stream/{created['id']}").json_body["name"] == "patched"


def test_a_stream_of_someone_else_or_unknown_cannot_be_patched(stage: Stage) -> None:
    answer = stage.call("PATCH", "/stream/00000000-0000-0000-0000-000000000000", {"name": "x"})
    assert (answer.status_code, answer.json_body["error"]["code"]) == (404, "stream_not_found")


def test_a_suspended_streams_key_is_refused_at_ingest_until_unsuspended(stage: Stage) -> None:
    created = stage.create_stream("suspend me")
    segment = tiny_segments()[0]
    assert stage.call("PATCH", f"/stream/{created['id']}", {"suspended": True}).status_code == 204
    refused = stage.push(created["streamKey"], 0, segment)
    assert (refused.status_code, refused.json_body["error"]["code"]) == (403, "stream_suspended")
    assert stage.app.wiring.segments().get(created["id"], 0) is None  # nothing stored
    assert stage.call("PATCH", f"/stream/{created['id']}", {"suspended": False}).status_code == 204
    assert stage.push(created["streamKey"], 0, segment).status_code == 202


def test_a_stream_goes_idle_after_three_of_its_segment_durations_without_one(stage: Stage) -> None:
    streams = stage.app.wiring.streams()
    two, four = (streams.create(StreamCreate(name=n), "tester") for n in ("2 s segments", "4 s segments"))
    streams.touch(two.id, 0, 10_000, segment_ms=2_000)
    streams.touch(four.id, 0, 10_000, segment_ms=4_000)
    assert streams.mark_idle(now_ms=15_999) == []
    assert streams.mark_idle(now_ms=16_001) == [two.id]  # 3 × 2 s
    assert streams.mark_idle(now_ms=22_001) == [four.id]  # 3 × 4 s
    assert not streams.get(two.id).is_active and not streams.get(four.id).is_active


# Found by schemathesis (tests/integration/test_openapi_conformance.py) or beside what it found: each was a 500.
@pytest.mark.parametrize(
    "tags",
    [
        {"": "an empty key"},  # moto (and DynamoDB) cannot give such a map back: GET /stream failed ever after
        {"big": 10**40},  # more than DynamoDB's 38 significant digits
        {"huge": 1e300},  # beyond its magnitude range
        {"tiny": [1e-300]},
        {"long": "x" * 20_000},  # over the item size a stream may take
    ],
)
def test_user_tags_dynamodb_cannot_keep_are_refused_and_the_list_still_answers(
    stage: Stage, tags: dict[str, Any]
) -> None:
    refused = stage.call("POST", "/stream", {"name": "tags", "userTags": tags})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "invalid_body")
    created = stage.create_stream("tags", userTags={"kept": 0.1, "also": [1, "two", 9.99e125]})
    patched = stage.call("PATCH", f"/stream/{created['id']}", {"userTags": tags})
    assert (patched.status_code, patched.json_body["error"]["code"]) == (422, "invalid_body")
    listed = stage.call("GET", "/stream")
    assert listed.status_code == 200 and listed.json_body[0]["userTags"] == {"kept": 0.1, "also": [1, "two", 9.99e125]}


@pytest.mark.parametrize(
    "body",
    [b'{"name": "x", "userTags": {"k": NaN}}', b'{"name": "x", "record": Infinity}', b'{"name": "\\ud800"}'],
)
def test_json_that_is_not_json_text_is_refused(stage: Stage, body: bytes) -> None:
    # Python reads NaN, Infinity and unpaired surrogates; DynamoDB and UTF-8 do not.
    refused = stage.call("POST", "/stream", body, **{"Content-Type": "application/json"})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (400, "invalid_json")
