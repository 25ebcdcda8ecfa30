"""The event pump: what Lambda's event source mappings and EventBridge schedules do for the Chalice app.

The app registers two kinds of event source, and the pump delivers both to the same handler, with
the same event shape, as AWS does:

- ``@app.on_sqs_message``: long-polls the queue, builds the Lambda SQS event, calls the handler.
  Success deletes the batch except the records named in a returned ``batchItemFailures`` list;
  a raised exception deletes nothing. What is not deleted comes back after the queue's visibility
  timeout, and SQS itself moves it to the dead-letter queue after ``maxReceiveCount`` receives.
  A FIFO queue (``*.fifo``) is delivered as Lambda does: one batch per message group at a time, in
  order, and a record that fails keeps the group's later records of its batch in the queue too.
  S3 notifications reach the app this way too: the bucket sends them to one of its queues.
- ``@app.schedule``: ``rate(...)`` and ``Rate`` expressions fire with the scheduled event shape;
  ``schedule_every`` makes every schedule fire that often (tests, demos).

Any other source is logged and skipped: emulating what the app does not use would only be code to keep.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from chalice.app import BaseEventSourceConfig, Chalice, ScheduledEventConfig, ScheduleExpression, SQSEventConfig

from devstack import aws
from devstack.front import lambda_context, thread_safe

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef, MessageTypeDef

log = logging.getLogger("devstack.pump")

#: Lambda's SQS pollers receive at most 10 messages per call.
SQS_MAX_RECEIVE = 10
ACCOUNT_ID = "123456789012"


@dataclass
class PumpConfig:
    """How the pump polls and invokes."""

    region: str = aws.DEFAULT_REGION
    #: Long-poll wait per receive (1-20 s): short enough that stopping is quick.
    wait_time_s: int = 1
    #: Concurrent pollers per queue (Lambda starts with several).
    pollers_per_queue: int = 2
    #: When set, every schedule fires this often (seconds) instead of at its expression's rate.
    schedule_every: float | None = None
    #: The stage name used in function and rule names.
    stage: str = "dev"
    function_timeout_s: float = 60.0


# --- SQS ---------------------------------------------------------------------------------------------


def lambda_sqs_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """Return the Lambda SQS event record of a received message."""

    def attribute(value: Mapping[str, Any]) -> dict[str, Any]:
        # SQS reserves the list values for future use: they are always empty.
        out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            out["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        return out

    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": {k: attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, message_ids: Sequence[str]) -> set[str]:
    """Return the ids of a batch that stay in the queue, from the handler's partial batch response.

    Follows Lambda's rules for ``ReportBatchItemFailures``: no response, an empty response or an
    empty/null ``batchItemFailures`` is complete success; an item without a valid ``itemIdentifier``
    (missing, empty, or not in the batch) fails the whole batch.
    """
    if not isinstance(result, Mapping):
        return set()
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    known, failed = set(message_ids), set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(ident, str) or ident not in known:
            log.warning("invalid batchItemFailures item %r: the whole batch fails", item)
            return set(message_ids)
        failed.add(ident)
    return failed


def group(message: MessageTypeDef) -> str:
    """The message group of a FIFO queue's message."""
    return str(message.get("Attributes", {}).get("MessageGroupId", ""))


def held_back_in_order(batch: Sequence[MessageTypeDef], failed: set[str]) -> set[str]:
    """The FIFO rule: after a group's first failed record, its later records of the batch stay queued too."""
    stopped: set[str] = set()
    held = set()
    for message in batch:
        if message["MessageId"] in failed or group(message) in stopped:
            stopped.add(group(message))
            held.add(message["MessageId"])
    return held


class SQSSource:
    """``@app.on_sqs_message``: Lambda's SQS event source mapping, run by one or more poller threads."""

    def __init__(self, pump: Pump, source: SQSEventConfig) -> None:
        self.pump = pump
        self.name = source.name
        self.queue_name = source.queue or str(source.queue_arn).rsplit(":", 1)[-1]
        self.batch_size = max(1, source.batch_size)
        self.window_s = float(source.maximum_batching_window_in_seconds or 0)
        if source.maximum_concurrency:
            self.threads = min(source.maximum_concurrency, 10)
        else:
            # One poller gathers a batching window's messages; several would split them.
            self.threads = 1 if self.window_s > 0 else max(1, pump.config.pollers_per_queue)
        self.sqs = pump.sqs
        self.queue_url = ""
        self.queue_arn = ""
        self._missing_logged = False
        # FIFO: the message groups some poller of this source is delivering now.
        self.fifo = self.queue_name.endswith(".fifo")
        self._busy_groups: set[str] = set()
        self._groups_lock = threading.Lock()

    def resolve(self) -> bool:
        """Find the queue's URL and ARN; ``False`` while it does not exist yet."""
        if self.queue_url:
            return True
        try:
            url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        except ClientError as err:
            level = logging.DEBUG if self._missing_logged else logging.WARNING
            self._missing_logged = True
            log.log(level, "%s: queue %s not found yet (%s)", self.name, self.queue_name, err.response["Error"]["Code"])
            return False
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        # Pollers of one queue may race here; they find the same answer.
        self.queue_url, self.queue_arn = url, attrs["QueueArn"]
        log.info("%s polls %s (batch %d)", self.name, self.queue_name, self.batch_size)
        return True

    def run(self) -> None:
        """Poll and deliver until the pump stops; nothing may kill a poller."""
        stopping = self.pump.stopping
        backoff = 0.5
        while not stopping.is_set():
            try:
                if self.resolve():
                    if batch := self.collect():
                        if self.fifo:
                            self.deliver_in_order(batch)
                        else:
                            self.deliver(batch)
                    backoff = 0.5
                    continue
            except Exception:
                if not stopping.is_set():
                    log.exception("%s: polling %s failed", self.name, self.queue_name)
            stopping.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _receive(self, count: int, wait_s: int) -> list[MessageTypeDef]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(SQS_MAX_RECEIVE, count)),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def collect(self) -> list[MessageTypeDef]:
        """Receive up to ``batch_size`` messages, waiting the batching window for more."""
        batch = self._receive(self.batch_size, max(0, min(20, self.pump.config.wait_time_s)))
        if not batch or self.window_s <= 0:
            return batch
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.batch_size and not self.pump.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            more = self._receive(self.batch_size - len(batch), 1 if left >= 1 else 0)
            if not more and left < 1:
                time.sleep(min(left, 0.05))
            batch.extend(more)
        return batch

    def deliver_in_order(self, batch: list[MessageTypeDef]) -> None:
        """Deliver a FIFO batch, leaving out groups another poller is delivering (they go back at once)."""
        with self._groups_lock:
            mine = {group(m) for m in batch} - self._busy_groups
            self._busy_groups |= mine
        taken = [m for m in batch if group(m) in mine]
        # SQS already holds a group back while it has messages in flight, unless their visibility lapsed
        # during a long invocation: then this poller must not run the group's next messages alongside.
        for message in batch:
            if group(message) not in mine:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        try:
            if taken:
                self.deliver(taken)
        finally:
            with self._groups_lock:
                self._busy_groups -= mine

    def deliver(self, batch: list[MessageTypeDef]) -> None:
        """Invoke the handler with a batch and delete what succeeded."""
        event = {"Records": [lambda_sqs_record(m, self.queue_arn, self.pump.config.region) for m in batch]}
        try:
            result = self.pump.invoke(self.name, event)
        except Exception:
            log.exception(
                "%s raised on a batch of %d: nothing deleted, it returns after the visibility timeout",
                self.name,
                len(batch),
            )
            return
        failed = failed_message_ids(result, [m["MessageId"] for m in batch])
        if self.fifo:
            failed = held_back_in_order(batch, failed)
        if failed:
            log.info("%s: %d of %d records failed and stay in the queue", self.name, len(failed), len(batch))
        done = [m for m in batch if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[start : start + SQS_MAX_RECEIVE]
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            for failure in self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed", []):
                log.warning("%s: could not delete a message: %s", self.name, failure)


# --- schedules ---------------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str | ScheduleExpression) -> float:
    """Return the interval of a ``rate(...)`` expression or ``Rate``; ``ValueError`` for anything else (cron)."""
    text = expression.to_string() if isinstance(expression, ScheduleExpression) else expression
    if not (match := _RATE.match(text.strip())):
        raise ValueError(f"{text!r} is not a rate expression: only rate schedules are emulated")
    return int(match.group(1)) * _UNIT_S[match.group(2).lower().rstrip("s")]


def scheduled_event(rule_name: str, region: str) -> dict[str, Any]:
    """Return the event EventBridge sends a scheduled rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class ScheduleSource:
    """``@app.schedule``: fires the handler at its rate (or every ``schedule_every`` seconds)."""

    threads = 1

    def __init__(self, pump: Pump, source: ScheduledEventConfig) -> None:
        self.pump = pump
        self.name = source.name
        seconds = rate_seconds(source.schedule_expression)
        self.interval = pump.config.schedule_every if pump.config.schedule_every is not None else seconds

    def run(self) -> None:
        """Fire at a steady rate until the pump stops; a failed firing is logged, not retried."""
        rule = self.pump.function_name(self.name)
        log.info("%s fires every %g s", self.name, self.interval)
        next_at = time.monotonic()
        while True:
            next_at = max(next_at + self.interval, time.monotonic())
            if self.pump.stopping.wait(max(0.0, next_at - time.monotonic())):
                return
            try:
                self.pump.invoke(self.name, scheduled_event(rule, self.pump.config.region))
            except Exception:
                log.exception("%s raised (a scheduled invocation is not retried)", self.name)


# --- the pump ----------------------------------------------------------------------------------------


class Pump:
    """Delivers the app's event sources from the AWS endpoint, one or more threads per source."""

    def __init__(self, app: Chalice, endpoint_url: str | None, config: PumpConfig | None = None) -> None:
        self.app = thread_safe(app)
        self.endpoint_url = endpoint_url
        self.config = config or PumpConfig()
        self.stopping = threading.Event()
        # One client for every poller: boto3 clients are thread-safe.
        self.sqs: SQSClient = aws.client(aws.session(self.config.region), "sqs", endpoint_url)
        self._threads: list[threading.Thread] = []
        self.sources: list[SQSSource | ScheduleSource] = []
        for source in app.event_sources:
            try:
                self.sources.append(self._source(source))
            except ValueError as err:
                log.warning("event source %s is not emulated, skipped: %s", source.name, err)

    def _source(self, source: BaseEventSourceConfig) -> SQSSource | ScheduleSource:
        if isinstance(source, SQSEventConfig):
            return SQSSource(self, source)
        if isinstance(source, ScheduledEventConfig):
            return ScheduleSource(self, source)
        raise ValueError(f"{type(source).__name__} sources are not emulated")

    def function_name(self, handler_name: str) -> str:
        """Return the Lambda function name Chalice would deploy a handler as."""
        return f"{self.app.app_name}-{self.config.stage}-{handler_name}"

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Call the handler ``name`` as Lambda would; exceptions propagate to the caller."""
        context = lambda_context(self.function_name(name), self.config.function_timeout_s)
        handler: Callable[[dict[str, Any], Any], Any] = self.app.handler_map[name]
        return handler(event, context)

    def start(self) -> Pump:
        """Start every source's threads."""
        self.stopping.clear()
        for source in self.sources:
            for i in range(source.threads):
                thread = threading.Thread(target=source.run, name=f"pump-{source.name}-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)
        log.info("pump: %d sources, %d threads", len(self.sources), len(self._threads))
        return self

    def stop(self, timeout: float = 25.0) -> None:
        """Stop polling; a batch being handled is finished first."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def __enter__(self) -> Pump:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
