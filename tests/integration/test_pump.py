"""The event pump delivers SQS messages (S3 notifications too) and schedules to Chalice handlers as Lambda does."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import unquote_plus

import pytest
from chalice import Chalice, Cron, Rate
from chalice.app import CloudWatchEvent, S3Event, SQSEvent

from devstack import aws
from devstack.pump import Pump, PumpConfig, SQSSource, failed_message_ids, rate_seconds
from tests import support

VISIBILITY_S = 1
MAX_RECEIVE = 5


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    return support.wait_for(check, timeout, 0.05, what)


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> str:
    return moto_endpoint


@pytest.fixture(scope="module")
def clients(endpoint: str) -> dict[str, Any]:
    session = aws.session()
    return {s: aws.client(session, s, endpoint) for s in ("sqs", "s3")}


def make_queue(sqs: Any, name: str, *, max_receive: int = MAX_RECEIVE, visibility: int = VISIBILITY_S) -> aws.Queue:
    """Create a queue and its dead-letter queue, as the stack does."""
    return aws.ensure_queue(sqs, name, visibility_timeout=visibility, max_receive_count=max_receive)


@pytest.fixture(scope="module")
def app_module(endpoint: str, clients: dict[str, Any]) -> Iterator[ModuleType]:
    module = support.load_module(support.PUMP_APP, "pump_test_app")
    sqs, s3 = clients["sqs"], clients["s3"]
    for name in (module.BATCH_QUEUE, module.PARTIAL_QUEUE, module.RAISE_QUEUE):
        make_queue(sqs, name)
    make_queue(sqs, module.WINDOW_QUEUE, visibility=10)  # longer than the batching window
    make_queue(sqs, module.POISON_QUEUE, max_receive=2)
    # The bucket notifies a queue, as the media bucket notifies ``results`` in resources.json.
    uploads = aws.ensure_queue(
        sqs,
        module.UPLOADS_QUEUE,
        visibility_timeout=VISIBILITY_S,
        max_receive_count=MAX_RECEIVE,
        s3_buckets=[module.BUCKET],
    )
    s3.create_bucket(Bucket=module.BUCKET)
    rules = [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".ts"}]
    notify = {"QueueArn": uploads.arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": rules}}}
    s3.put_bucket_notification_configuration(
        Bucket=module.BUCKET, NotificationConfiguration={"QueueConfigurations": [notify]}
    )
    with Pump(module.app, endpoint, PumpConfig(schedule_every=0.3, wait_time_s=1)):
        yield module


def bodies(module: ModuleType, name: str) -> list[str]:
    return [body for batch in module.calls.get(name, []) for body in batch]


def send_batch(sqs: Any, url: str, messages: list[str]) -> None:
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": m} for i, m in enumerate(messages)])


def queue_url(sqs: Any, name: str) -> str:
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def test_batch_size_is_honoured(endpoint: str, clients: dict[str, Any]) -> None:
    app = Chalice("batch-app")
    batches: list[list[str]] = []

    @app.on_sqs_message(queue="batch-size", batch_size=5)
    def handle(event: SQSEvent) -> None:
        batches.append([r.body for r in event])

    url = make_queue(clients["sqs"], "batch-size").url
    send_batch(clients["sqs"], url, [f"m{i}" for i in range(10)])
    send_batch(clients["sqs"], url, ["m10", "m11"])
    with Pump(app, endpoint, PumpConfig(pollers_per_queue=1)):
        wait_for(lambda: sum(map(len, batches)) == 12, what="12 messages")
    assert [len(b) for b in batches] == [5, 5, 2]
    assert sorted(m for b in batches for m in b) == sorted(f"m{i}" for i in range(12))


def test_records_have_the_lambda_sqs_shape(endpoint: str, clients: dict[str, Any]) -> None:
    app = Chalice("shape-app")
    events: list[dict[str, Any]] = []

    @app.on_sqs_message(queue="shape", batch_size=1)
    def handle(event: SQSEvent) -> None:
        events.append(event.to_dict())

    url = make_queue(clients["sqs"], "shape").url
    clients["sqs"].send_message(
        QueueUrl=url,
        MessageBody="hi",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "segment"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    with Pump(app, endpoint):
        wait_for(lambda: events, what="one event")
    record = events[0]["Records"][0]
    assert record["body"] == "hi" and record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":shape") and record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1" and "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["kind"]["stringValue"] == "segment"
    assert record["messageAttributes"]["raw"]["binaryValue"] == "AAE="
    assert {"messageId", "receiptHandle", "md5OfBody"} <= set(record)


def test_partial_batch_failure_deletes_only_the_successes(app_module: ModuleType, clients: dict[str, Any]) -> None:
    url = queue_url(clients["sqs"], app_module.PARTIAL_QUEUE)
    send_batch(clients["sqs"], url, ["ok-1", "fail-1", "ok-2"])
    # The failed record comes back after the visibility timeout; the others never do.
    wait_for(lambda: bodies(app_module, "partial").count("fail-1") >= 2, timeout=8, what="redelivery")
    time.sleep(VISIBILITY_S + 0.5)
    seen = bodies(app_module, "partial")
    assert seen.count("ok-1") == 1 and seen.count("ok-2") == 1


def test_a_message_failing_max_receive_count_times_ends_in_the_dlq(
    app_module: ModuleType, clients: dict[str, Any]
) -> None:
    sqs = clients["sqs"]
    dlq = queue_url(sqs, f"{app_module.POISON_QUEUE}-dlq")
    sqs.send_message(QueueUrl=queue_url(sqs, app_module.POISON_QUEUE), MessageBody="poison-1")

    def dead() -> list[dict[str, Any]]:
        return list(sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []))

    moved = wait_for(dead, timeout=10, what="the message in the DLQ")
    assert moved[0]["Body"] == "poison-1"
    deliveries = [r for batch in app_module.calls["poison"] for r in batch if r[0] == "poison-1"]
    assert [count for _, count in deliveries] == ["1", "2"]


def test_a_handler_exception_deletes_nothing_and_the_pump_goes_on(endpoint: str, clients: dict[str, Any]) -> None:
    app = Chalice("raise-app")
    batches: list[list[str]] = []

    @app.on_sqs_message(queue="raise-batch", batch_size=10)
    def handle(event: SQSEvent) -> None:
        batches.append(sorted(r.body for r in event))
        if len(batches) == 1:
            raise RuntimeError("the first delivery fails")

    url = make_queue(clients["sqs"], "raise-batch").url
    send_batch(clients["sqs"], url, ["a", "b", "c"])
    with Pump(app, endpoint, PumpConfig(pollers_per_queue=1)):
        wait_for(lambda: sum(map(len, batches[1:])) >= 3, timeout=8, what="redelivery of the batch")
        clients["sqs"].send_message(QueueUrl=url, MessageBody="after")
        wait_for(lambda: any("after" in b for b in batches), what="a later message")
    assert batches[0] == ["a", "b", "c"]
    assert sorted(m for b in batches[1:] for m in b if m != "after") == ["a", "b", "c"]


def test_the_batching_window_gathers_messages(app_module: ModuleType, clients: dict[str, Any]) -> None:
    url = queue_url(clients["sqs"], app_module.WINDOW_QUEUE)
    for i in range(3):
        clients["sqs"].send_message(QueueUrl=url, MessageBody=f"w{i}")
        time.sleep(0.2)
    wait_for(lambda: len(bodies(app_module, "window")) == 3, timeout=6, what="3 messages")
    assert app_module.calls["window"] == [["w0", "w1", "w2"]]


def test_s3_object_created_notification_reaches_an_sqs_handler(app_module: ModuleType, clients: dict[str, Any]) -> None:
    s3 = clients["s3"]
    s3.put_object(Bucket=app_module.BUCKET, Key="other/x.ts", Body=b"filtered out by the prefix")
    s3.put_object(Bucket=app_module.BUCKET, Key="in/a b/1.ts", Body=b"segment")
    wait_for(lambda: any("Records" in json.loads(b) for b in bodies(app_module, "uploads")), what="an S3 event")
    time.sleep(0.5)
    messages = [json.loads(b) for b in bodies(app_module, "uploads")]
    # S3 sends a TestEvent to the queue when the notification is configured; the consumer sees it, as in AWS.
    tests = [m for m in messages if m.get("Event") == "s3:TestEvent"]
    assert len(tests) == 1 and tests[0]["Bucket"] == app_module.BUCKET
    events = [m for m in messages if "Records" in m]
    assert len(events) == 1 and len(messages) == 2  # the key outside the prefix sent nothing
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == app_module.BUCKET
    assert unquote_plus(record["s3"]["object"]["key"]) == "in/a b/1.ts"  # URL-encoded, as in AWS


def test_schedules_fire(app_module: ModuleType) -> None:
    wait_for(lambda: len(app_module.calls.get("schedule", [])) >= 2, timeout=5, what="two firings")
    event = app_module.calls["schedule"][0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:")


def test_partial_batch_responses_follow_lambda_rules() -> None:
    ids = ["a", "b"]
    assert failed_message_ids(None, ids) == set()
    assert failed_message_ids({"batchItemFailures": []}, ids) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, ids) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == {"a", "b"}


def test_rate_expressions_parse() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 hours)") == 5 * 3600
    assert rate_seconds(Rate(1, unit=Rate.MINUTES)) == 60
    assert rate_seconds(Rate(2, unit=Rate.DAYS)) == 2 * 86400
    with pytest.raises(ValueError):
        rate_seconds("cron(0/15 10 ? * MON-FRI *)")
    with pytest.raises(ValueError):
        rate_seconds(Cron(0, 10, "*", "*", "?", "*"))


def test_sources_the_app_does_not_use_are_logged_and_skipped(endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    app = Chalice("unsupported-app")

    @app.on_s3_event(bucket="some-bucket")
    def on_s3(event: S3Event) -> None: ...

    @app.on_cw_event({"source": ["aws.ec2"]})
    def on_cw(event: CloudWatchEvent) -> None: ...

    @app.schedule(Cron(0, 10, "*", "*", "?", "*"))
    def nightly(event: Any) -> None: ...

    @app.on_sqs_message(queue="still-served")
    def on_sqs(event: SQSEvent) -> None: ...

    with caplog.at_level(logging.WARNING, logger="devstack.pump"):
        pump = Pump(app, endpoint)
    assert [(type(s), s.name) for s in pump.sources] == [(SQSSource, "on_sqs")]
    skipped = {r.getMessage().split()[2] for r in caplog.records if "not emulated" in r.getMessage()}
    assert skipped == {"on_s3", "on_cw", "nightly"}
