"""Ingest: a pushed segment is checked, stored once and sent; bad input is refused and nothing is written."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.dispatch.selection import rank
from chalicelib.ingest.service import Gateway, ingest
from chalicelib.jobs.models import TranscodeJob
from chalicelib.segments.models import SegmentStatus
from chalicelib.streams.models import StreamCreate
from tests.domain.conftest import ORCHESTRATOR, ORCHESTRATOR_URL, Stage
from tests.domain.footage import tiny_segments


@pytest.fixture
def stream(stage: Stage) -> dict[str, Any]:
    return stage.create_stream("ingest")


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json_body["error"]["code"]


def stored(stage: Stage, stream_id: str) -> tuple[list[str], list[int]]:
    """The stream's source objects and segment records."""
    listing = aws.s3().list_objects_v2(Bucket=stage.name("media"), Prefix=f"source/{stream_id}/")
    records = stage.app.wiring.segments().newest(stream_id, 100)
    return [o["Key"] for o in listing.get("Contents", [])], [r.seq for r in records]


def queued_jobs(stage: Stage) -> list[TranscodeJob]:
    return [TranscodeJob.model_validate_json(m["Body"]) for m in stage.receive("jobs")]


def test_a_segment_is_stored_recorded_and_sent_to_the_orchestrator(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    response = stage.push(stream["streamKey"], 0, segment, **{"Content-Duration": "1000"})
    assert response.status_code == 202
    assert response.json_body == {
        "streamId": stream["id"],
        "seq": 0,
        "status": "accepted",
        "orchestrator": ORCHESTRATOR,
    }
    assert stage.media(f"source/{stream['id']}/0.ts") == segment
    record = stage.app.wiring.segments().get(stream["id"], 0)
    assert record is not None and record.status == SegmentStatus.DISPATCHED
    assert (record.orchestrator, record.job_id, record.duration_ms) == (ORCHESTRATOR, f"{stream['id']}/0", 1000)
    [job] = queued_jobs(stage)
    assert (job.job_id, job.seq, job.orchestrator, job.source_bytes) == (
        f"{stream['id']}/0",
        0,
        ORCHESTRATOR,
        len(segment),
    )
    assert [o.profile.name for o in job.outputs] == [p["name"] for p in stream["profiles"]]
    active = stage.call("GET", f"/stream/{stream['id']}").json_body
    assert active["isActive"] is True and active["orchestrator"] == ORCHESTRATOR


def test_the_same_segment_twice_is_stored_and_sent_once(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    first = stage.push(stream["streamKey"], "index0.ts", segment)
    second = stage.push(stream["streamKey"], 0, segment)
    assert (first.json_body["status"], second.json_body["status"]) == ("accepted", "duplicate")
    assert second.json_body["orchestrator"] == ORCHESTRATOR
    assert len(queued_jobs(stage)) == 1


@pytest.mark.parametrize(
    ("name", "body", "headers", "refusal"),
    [
        (0, b"\x00garbage" * 100, {}, (422, "invalid_segment")),
        (0, b"", {}, (400, "empty_segment")),
        (0, (b"\x47" + bytes(187)) * (4 * 1024 * 1024 // 188 + 1), {}, (413, "segment_too_large")),
        ("-1.ts", None, {}, (400, "invalid_sequence")),
        ("abc.ts", None, {}, (400, "invalid_sequence")),
        ("1.5.ts", None, {}, (400, "invalid_sequence")),
        ("99999999999999999.ts", None, {}, (400, "invalid_sequence")),
        (0, None, {"Content-Duration": "two seconds"}, (422, "invalid_content_duration")),
        (0, None, {"Content-Duration": "60001"}, (422, "invalid_content_duration")),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    stage: Stage,
    stream: dict[str, Any],
    name: str | int,
    body: bytes | None,
    headers: dict[str, str],
    refusal: tuple[int, str],
) -> None:
    response = stage.push(stream["streamKey"], name, tiny_segments()[0] if body is None else body, **headers)
    assert error(response) == refusal
    assert stored(stage, stream["id"]) == ([], [])
    assert queued_jobs(stage) == []


def test_an_unknown_or_deleted_stream_key_is_refused(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    assert error(stage.push("nope-nope-nope-nope", 0, segment)) == (404, "unknown_stream_key")
    assert stage.call("DELETE", f"/stream/{stream['id']}").status_code == 204
    assert error(stage.push(stream["streamKey"], 0, segment)) == (410, "stream_deleted")
    assert stored(stage, stream["id"]) == ([], [])


def test_a_sequence_number_far_ahead_is_refused(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    assert stage.push(stream["streamKey"], 0, segment).status_code == 202
    assert error(stage.push(stream["streamKey"], 10_001, segment)) == (422, "sequence_out_of_order")
    assert stage.push(stream["streamKey"], 10_000, segment).status_code == 202


def test_a_segment_the_playlists_moved_past_is_too_late(stage: Stage, stream: dict[str, Any]) -> None:
    stage.app.wiring.streams().add_gaps(stream["id"], [3])
    assert error(stage.push(stream["streamKey"], 3, tiny_segments()[0])) == (409, "segment_too_late")


def test_a_pushed_playlist_gives_the_segments_their_durations(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    stage.push(stream["streamKey"], "index0.ts", segment)
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.960,\nindex0.ts\n#EXTINF:2.000,\nindex1.ts\n"
    response = stage.push(
        stream["streamKey"], "index.m3u8", playlist, **{"Content-Type": "application/vnd.apple.mpegurl"}
    )
    assert response.status_code == 202 and response.json_body["status"] == "playlist"
    assert [(r.seq, r.duration_ms) for r in stage.app.wiring.segments().newest(stream["id"], 10)] == [(0, 1960)]
    assert error(stage.push(stream["streamKey"], "index.m3u8", b"not a playlist")) == (422, "invalid_playlist")


def test_deletes_from_ffmpegs_hls_muxer_are_accepted_and_ignored(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    assert stage.push(stream["streamKey"], "index0.ts", segment).status_code == 202
    assert stage.client.http.delete(f"/live/{stream['streamKey']}/index0.ts").status_code == 204
    assert stage.push(stream["streamKey"], "index0.ts", segment).json_body["status"] == "duplicate"
    assert stage.client.http.delete("/live/nope-nope-nope-nope/index0.ts").status_code == 404


def test_no_orchestrator_taking_the_job_loses_nothing(stage: Stage, stream: dict[str, Any]) -> None:
    segment = tiny_segments()[0]
    unreachable = [{"address": ORCHESTRATOR, "url": "http://127.0.0.1:9"}]
    working = stage.app.wiring.settings.orchestrators
    stage.configure(orchestrators=unreachable)
    refused = stage.push(stream["streamKey"], 0, segment)
    assert error(refused) == (503, "orchestrators_unavailable")
    assert ORCHESTRATOR in refused.json_body["error"]["tried"][0]
    record = stage.app.wiring.segments().get(stream["id"], 0)
    assert record is not None and record.status == SegmentStatus.RECEIVED
    # The broadcaster pushes again once an orchestrator answers: the segment goes out then.
    stage.configure(orchestrators=working)
    assert stage.push(stream["streamKey"], 0, segment).json_body["status"] == "accepted"
    assert [json.loads(j.model_dump_json())["seq"] for j in queued_jobs(stage)] == [0]


def test_an_unreachable_orchestrator_is_skipped_and_the_stream_sticks_to_the_one_that_took_it(stage: Stage) -> None:
    wiring = stage.app.wiring
    down = {"address": "0x" + "22" * 20, "url": "http://127.0.0.1:9", "stake": 1_000_000}
    up = {"address": ORCHESTRATOR, "url": ORCHESTRATOR_URL, "stake": 1}
    settings = type(wiring.settings).model_validate({**wiring.settings.model_dump(), "orchestrators": [down, up]})
    # The gateway's dependencies, passed by hand, with a random source that draws the unreachable one first.
    assert rank(settings.orchestrators, random.Random(1))[0].address == down["address"]
    gateway = Gateway(
        settings,
        wiring.streams(),
        wiring.segments(),
        wiring.media(),
        wiring.http,
        random.Random(1),
        candidates=settings.orchestrators,
    )
    stream = gateway.streams.create(StreamCreate(name="sticky"), "tester")
    segments = tiny_segments()
    first = ingest(gateway, stream.stream_key, "0.ts", segments[0], None)
    assert (first.status, first.orchestrator) == ("accepted", ORCHESTRATOR)
    assert gateway.streams.get(stream.id).orchestrator == ORCHESTRATOR
    second = ingest(gateway, stream.stream_key, "1.ts", segments[1], None)
    assert second.orchestrator == ORCHESTRATOR
    assert [job.seq for job in queued_jobs(stage)] == [0, 1]
