"""The stream API and the streams table: Studio's shape on the wire, typed records in the store."""

from __future__ import annotations

from chalicelib.streams.models import StreamCreate, StreamRecord
from chalicelib.streams.profiles import DEFAULT_PROFILES
from tests.domain.conftest import Stage


def test_create_get_list_delete(stage: Stage) -> None:
    created = stage.create_stream("my stream")
    assert set(created) >= {"id", "name", "streamKey", "playbackId", "profiles", "createdAt", "isActive"}
    assert created["profiles"] == [p.wire() for p in DEFAULT_PROFILES]
    assert stage.call("GET", f"/stream/{created['id']}").json_body == created
    assert created["id"] in [s["id"] for s in stage.call("GET", "/stream").json_body["streams"]]

    assert stage.call("DELETE", f"/stream/{created['id']}").status_code == 204
    gone = stage.call("GET", f"/stream/{created['id']}")
    assert (gone.status_code, gone.json_body["error"]["code"]) == (404, "stream_not_found")
    assert stage.get(f"/hls/{created['playbackId']}/index.m3u8").status_code == 404
    assert created["id"] not in [s["id"] for s in stage.call("GET", "/stream").json_body["streams"]]


def test_another_owners_streams_are_invisible(stage: Stage) -> None:
    mine = stage.create_stream("mine")
    stage.app.wiring.apikeys().register("key-of-mallory", "mallory")
    theirs = {"Authorization": "Bearer key-of-mallory"}
    assert stage.call("GET", f"/stream/{mine['id']}", **theirs).status_code == 404
    assert stage.call("DELETE", f"/stream/{mine['id']}", **theirs).status_code == 404
    assert stage.call("GET", "/stream", **theirs).json_body == {"streams": []}
    assert stage.call("GET", f"/stream/{mine['id']}").status_code == 200


def test_invalid_bodies_are_refused_with_the_failing_fields(stage: Stage) -> None:
    bad = stage.call("POST", "/stream", {"name": "", "profiles": [{"name": "x", "width": 1}]})
    assert bad.status_code == 422
    assert bad.json_body["error"]["code"] == "invalid_body"
    assert {e["loc"] for e in bad.json_body["error"]["errors"]} >= {"name", "profiles.0.width"}
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
