"""The results handler: each manifest settles its segment once; what cannot be applied is retried, then
dead-lettered; nothing else in the batch is held back."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.segments.models import SegmentStatus
from tests.domain.conftest import Stage, run_worker
from tests.domain.footage import tiny_segments
from tests.media import scrambled


def pushed_and_transcoded(stage: Stage, name: str = "results", n: int = 1) -> dict[str, Any]:
    stream = stage.create_stream(name)
    for seq, segment in enumerate(tiny_segments(n)):
        assert stage.push(stream["streamKey"], seq, segment).status_code == 202
    run_worker(stage)
    return stream


def notification(stage: Stage, key: str) -> dict[str, Any]:
    """The SQS message S3 sends the results queue when ``key`` is created (taken from the queue)."""
    stage.receive("results")
    stage.put_media(key, stage.media(key))
    [message] = stage.receive("results")
    return message


def test_the_test_event_s3_sends_when_configured_is_skipped(stage: Stage) -> None:
    [message] = stage.receive("results")
    assert json.loads(message["Body"])["Event"] == "s3:TestEvent"
    answer = stage.client.lambda_.invoke("on_result", stage.sqs_event("results", [message])).payload
    assert answer == {"batchItemFailures": []}


def test_a_manifest_makes_its_segment_ready(stage: Stage) -> None:
    stream = pushed_and_transcoded(stage)
    assert stage.deliver_results() == {"batchItemFailures": []}
    record = stage.app.wiring.segments().get(stream["id"], 0)
    assert record is not None and record.status == SegmentStatus.READY
    assert (
        list(record.renditions) == ["240p0"]
        and record.renditions["240p0"].key == f"renditions/{stream['id']}/240p0/0.ts"
    )
    assert record.source_info is not None and (record.source_info.width, record.source_info.height) == (426, 240)
    assert record.encoder == "libx264" and record.completed_at is not None


def test_a_redelivered_notification_changes_nothing(stage: Stage) -> None:
    stream = pushed_and_transcoded(stage)
    stage.deliver_results()
    before = stage.segment(stream["id"], 0)
    again = notification(stage, f"results/{stream['id']}/0.json")
    event = stage.sqs_event("results", [again, again, again])
    assert stage.client.lambda_.invoke("on_result", event).payload == {"batchItemFailures": []}
    assert stage.segment(stream["id"], 0) == before


def test_an_unusable_manifest_fails_only_its_own_record(stage: Stage) -> None:
    stream = pushed_and_transcoded(stage, n=3)
    good = notification(stage, f"results/{stream['id']}/0.json")
    stage.put_media(f"results/{stream['id']}/1.json", b"{not json")
    [unreadable] = stage.receive("results")
    # A manifest that names another segment than its key does.
    stage.put_media(f"results/{stream['id']}/2.json", stage.media(f"results/{stream['id']}/0.json"))
    [misplaced] = stage.receive("results")
    answer = stage.client.lambda_.invoke("on_result", stage.sqs_event("results", [unreadable, good, misplaced])).payload
    failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
    assert failed == {unreadable["MessageId"], misplaced["MessageId"]}
    statuses = [r.status for r in stage.app.wiring.segments().newest(stream["id"], 10)]
    assert statuses == [SegmentStatus.READY, SegmentStatus.DISPATCHED, SegmentStatus.DISPATCHED]


def test_an_object_that_is_not_a_manifest_is_ignored(stage: Stage) -> None:
    body = json.dumps(stage.client.events.generate_s3_event(stage.name("media"), "results/not-a-manifest.txt"))
    event = stage.client.events.generate_sqs_event([body], stage.name("results"))
    assert stage.client.lambda_.invoke("on_result", event).payload == {"batchItemFailures": []}


def test_an_undecodable_segment_ends_failed_with_its_reason_and_its_job_dead_lettered(stage: Stage) -> None:
    stream = stage.create_stream("undecodable")
    assert stage.push(stream["streamKey"], 0, scrambled(tiny_segments()[0])).status_code == 202
    results = run_worker(stage)  # every attempt the queue allows, back to back (no retry delay)
    assert [(r.status, r.attempt, r.final) for r in results] == [
        ("failed", 1, False),
        ("failed", 2, False),
        ("failed", 3, True),
    ]
    assert stage.deliver_results() == {"batchItemFailures": []}
    record = stage.app.wiring.segments().get(stream["id"], 0)
    assert record is not None and record.status == SegmentStatus.FAILED
    assert record.error is not None and record.error.code == "undecodable_source" and record.attempts == 3
    [dead] = stage.receive("jobs-dlq")
    assert json.loads(dead["Body"])["jobId"] == f"{stream['id']}/0"


def test_a_notification_naming_another_bucket_is_refused_and_changes_nothing(stage: Stage) -> None:
    stream = pushed_and_transcoded(stage, n=2)
    # A stranger's (or a misconfigured) bucket claims to hold segment 1's manifest.
    forged_body = json.dumps(
        stage.client.events.generate_s3_event("someone-elses-bucket", f"results/{stream['id']}/1.json")
    )
    honest = notification(stage, f"results/{stream['id']}/0.json")
    forged = {**honest, "MessageId": "forged-message", "Body": forged_body}
    answer = stage.client.lambda_.invoke("on_result", stage.sqs_event("results", [forged, honest])).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": "forged-message"}]}
    statuses = [r.status for r in stage.app.wiring.segments().newest(stream["id"], 10)]
    assert statuses == [SegmentStatus.READY, SegmentStatus.DISPATCHED]
