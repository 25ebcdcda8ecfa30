"""The event pump: what Lambda's event source mappings and EventBridge rules do for the Chalice app.

For every event source registered on the app (``app.event_sources``) the pump delivers events to
the same handler with the same event shape as AWS:

- ``@app.on_sqs_message``: long-polls the queue, builds the Lambda SQS event, calls the handler.
  Success deletes the batch except the records named in a returned ``batchItemFailures`` list;
  a raised exception deletes nothing. What is not deleted comes back after the queue's visibility
  timeout, and SQS itself moves it to the dead-letter queue after ``maxReceiveCount`` receives.
- ``@app.on_s3_event``: the bucket notifies an internal queue; each S3 event is unwrapped and
  delivered as Lambda's S3 invocation (``s3:TestEvent`` messages are dropped, as AWS does).
- ``@app.on_cw_event``: an EventBridge rule with the pattern targets an internal queue; each
  event is delivered as is.
- ``@app.schedule``: ``rate(...)``/``Rate`` and ``cron(...)``/``Cron`` expressions fire with the
  scheduled event shape; ``schedule_every`` makes every schedule fire that often (tests).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from chalice.app import (
    BaseEventSourceConfig,
    Chalice,
    CloudWatchEventConfig,
    S3EventConfig,
    ScheduledEventConfig,
    ScheduleExpression,
    SQSEventConfig,
)

from devstack import aws
from devstack.front import ACCOUNT_ID, LambdaContext, make_thread_safe

log = logging.getLogger("devstack.pump")

Handler = Callable[[dict[str, Any], Any], Any]
#: Lambda's SQS pollers receive at most 10 messages per call.
SQS_MAX_RECEIVE = 10
#: Internal queues get a dead-letter queue after this many failed deliveries (AWS retries an
#: asynchronous invocation twice).
INTERNAL_MAX_RECEIVE = 3
INTERNAL_VISIBILITY_S = 30


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
    #: Multiplies rate schedules' intervals (e.g. 0.01 makes ``rate(1 minute)`` fire every 0.6 s).
    time_scale: float = 1.0
    #: Prefix of the internal queues and rules made for S3 and EventBridge sources.
    internal_prefix: str = "devstack"
    #: The stage name used in function and rule names.
    stage: str = "dev"
    function_timeout_s: float = 60.0


class SourceWorker:
    """One event source's delivery loop, run in one or more threads."""

    name: str

    def __init__(self, pump: Pump, source: BaseEventSourceConfig) -> None:
        self.pump = pump
        self.source = source
        self.name = source.name
        self.handler: Handler = pump.app.handler_map[source.name]
        self.invocations = 0
        self.errors = 0

    def threads(self) -> int:
        """How many threads run :meth:`run`."""
        return 1

    def setup(self) -> None:
        """Create what the source needs (internal queues, notifications, rules)."""

    def run(self) -> None:
        """Deliver events until the pump stops."""
        raise NotImplementedError

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler as Lambda would; exceptions propagate to the caller."""
        context = LambdaContext(self.pump.function_name(self.name), self.pump.config.function_timeout_s)
        self.invocations += 1
        started = time.perf_counter()
        try:
            return self.handler(event, context)
        except Exception:
            self.errors += 1
            raise
        finally:
            log.debug("%s invoked in %.1f ms", self.name, (time.perf_counter() - started) * 1000)


# --- SQS ---------------------------------------------------------------------------------------------


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """Return the Lambda SQS event record of a received message."""
    attributes = {k: str(v) for k, v in message.get("Attributes", {}).items()}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    def b64(data: Any) -> str:
        return base64.b64encode(data).decode("ascii") if isinstance(data, bytes) else str(data)

    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = b64(value["BinaryValue"])
    return out


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


class QueuePoller(SourceWorker):
    """Polls one queue and hands batches to a delivery function."""

    queue_name: str
    batch_size: int = 1
    window_s: float = 0.0

    def __init__(self, pump: Pump, source: BaseEventSourceConfig) -> None:
        super().__init__(pump, source)
        self.queue_url: str | None = None
        self.queue_arn: str = ""
        self._resolved = threading.Event()
        self._resolve_lock = threading.Lock()
        self._missing_logged = False

    def threads(self) -> int:
        return max(1, self.pump.config.pollers_per_queue)

    def resolve(self) -> bool:
        """Find the queue's URL and ARN; ``False`` while it does not exist yet."""
        with self._resolve_lock:
            if self._resolved.is_set():
                return True
            sqs = self.pump.client("sqs")
            try:
                url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
            except ClientError as err:
                level = logging.DEBUG if self._missing_logged else logging.WARNING
                self._missing_logged = True
                log.log(
                    level, "%s: queue %s not found yet (%s)", self.name, self.queue_name, err.response["Error"]["Code"]
                )
                return False
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            self.queue_url, self.queue_arn = url, attrs["Attributes"]["QueueArn"]
            self._resolved.set()
            log.info("%s polls %s (batch %d)", self.name, self.queue_name, self.batch_size)
            return True

    def run(self) -> None:
        backoff = 0.5
        while not self.pump.stopping.is_set():
            try:
                if not self.resolve():
                    self.pump.stopping.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                batch = self.collect()
                if batch:
                    self.deliver(batch)
                backoff = 0.5
            except Exception:
                # Nothing may kill a poller: log, wait a little, go on.
                if not self.pump.stopping.is_set():
                    log.exception("%s: polling %s failed", self.name, self.queue_name)
                self.pump.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = self.pump.client("sqs").receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(SQS_MAX_RECEIVE, count)),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def collect(self) -> list[dict[str, Any]]:
        """Receive up to ``batch_size`` messages, waiting the batching window for more."""
        wait = max(0, min(20, self.pump.config.wait_time_s))
        batch = self._receive(self.batch_size, wait)
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

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        """Invoke the handler for a batch and delete what succeeded."""
        raise NotImplementedError

    def delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Delete received messages (in batches of 10)."""
        sqs = self.pump.client("sqs")
        for start in range(0, len(messages), SQS_MAX_RECEIVE):
            chunk = messages[start : start + SQS_MAX_RECEIVE]
            response = sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                log.warning("%s: could not delete a message: %s", self.name, failure)


class SQSWorker(QueuePoller):
    """``@app.on_sqs_message``: Lambda's SQS event source mapping."""

    def __init__(self, pump: Pump, source: SQSEventConfig) -> None:
        super().__init__(pump, source)
        if source.queue:
            self.queue_name = source.queue
        else:
            self.queue_name = str(source.queue_arn).rsplit(":", 1)[-1]
        self.batch_size = max(1, source.batch_size)
        self.window_s = float(source.maximum_batching_window_in_seconds or 0)
        if source.maximum_concurrency:
            self.concurrency = min(source.maximum_concurrency, 10)
        else:
            self.concurrency = 0

    def threads(self) -> int:
        if self.concurrency:
            return self.concurrency
        # One poller gathers a batching window's messages; several would split them.
        return 1 if self.window_s > 0 else super().threads()

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        event = {"Records": [lambda_sqs_record(m, self.queue_arn, self.pump.config.region) for m in batch]}
        try:
            result = self.invoke(event)
        except Exception:
            log.exception(
                "%s raised on a batch of %d: nothing deleted, the batch returns after the visibility timeout",
                self.name,
                len(batch),
            )
            return
        failed = failed_message_ids(result, [m["MessageId"] for m in batch])
        if failed:
            log.info("%s: %d of %d records failed and stay in the queue", self.name, len(failed), len(batch))
        self.delete([m for m in batch if m["MessageId"] not in failed])


# --- S3 and EventBridge, through internal queues ------------------------------------------------------


def _internal_queue_name(prefix: str, kind: str, *parts: str) -> str:
    name = "-".join((prefix, kind, *parts))
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:80]


class InternalQueueWorker(QueuePoller):
    """A source delivered through a queue the pump owns: one invocation per message."""

    def __init__(self, pump: Pump, source: BaseEventSourceConfig, queue_name: str) -> None:
        super().__init__(pump, source)
        self.queue_name = queue_name
        self.batch_size = SQS_MAX_RECEIVE

    def create_queue(self, policy_for: Callable[[str], str] | None = None) -> str:
        """Create the internal queue (with a DLQ) and return its ARN."""
        sqs = self.pump.client("sqs")
        dlq = sqs.create_queue(QueueName=f"{self.queue_name[:76]}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        arn = str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
        attributes = {
            "VisibilityTimeout": str(INTERNAL_VISIBILITY_S),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(INTERNAL_MAX_RECEIVE)}),
        }
        if policy_for is not None:
            attributes["Policy"] = policy_for(arn)
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return arn

    def events_of(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the invocation events a message carries (none for messages AWS would not deliver)."""
        return [body]

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        done = []
        for message in batch:
            try:
                body = json.loads(message["Body"])
                events = self.events_of(body) if isinstance(body, dict) else []
            except ValueError:
                log.warning("%s: dropping a message that is not JSON", self.name)
                events = []
            try:
                for event in events:
                    self.invoke(event)
            except Exception:
                log.exception("%s raised: the event is retried after %d s", self.name, INTERNAL_VISIBILITY_S)
                continue
            done.append(message)
        self.delete(done)


class S3Worker(InternalQueueWorker):
    """``@app.on_s3_event``: the bucket notifies an internal queue; each notification is one invocation."""

    source: S3EventConfig

    def __init__(self, pump: Pump, source: S3EventConfig) -> None:
        name = _internal_queue_name(pump.config.internal_prefix, "s3", pump.config.stage, source.name)
        super().__init__(pump, source, name)
        self.source = source
        self._ready = False

    def setup(self) -> None:
        arn = self.create_queue(lambda queue_arn: aws.s3_send_policy(queue_arn, [self.source.bucket]))
        config: dict[str, Any] = {
            "Id": self.queue_name,
            "QueueArn": arn,
            "Events": list(self.source.events),
        }
        rules = [
            {"Name": k, "Value": v} for k, v in (("prefix", self.source.prefix), ("suffix", self.source.suffix)) if v
        ]
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        aws.put_queue_notifications(self.pump.client("s3"), self.source.bucket, [config], [self.queue_name])

    def run(self) -> None:
        # The bucket may be created after the pump starts: keep trying to configure it.
        backoff = 0.5
        while not self._ready and not self.pump.stopping.is_set():
            try:
                self.setup()
                self._ready = True
            except Exception as err:
                log.warning("%s: cannot configure bucket %s yet (%s)", self.name, self.source.bucket, err)
                self.pump.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        super().run()

    def events_of(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        if body.get("Event") == "s3:TestEvent":
            return []  # S3 sends it to queues on configuration; Lambda never sees one
        return [body] if body.get("Records") else []


class EventBridgeWorker(InternalQueueWorker):
    """``@app.on_cw_event``: an EventBridge rule with the pattern targets an internal queue."""

    source: CloudWatchEventConfig

    def __init__(self, pump: Pump, source: CloudWatchEventConfig) -> None:
        name = _internal_queue_name(pump.config.internal_prefix, "events", pump.config.stage, source.name)
        super().__init__(pump, source, name)
        self.source = source

    def setup(self) -> None:
        rule = self.queue_name[:64]
        arn = self.create_queue(
            lambda queue_arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue_arn,
                        }
                    ],
                }
            )
        )
        events = self.pump.client("events")
        events.put_rule(Name=rule, EventPattern=json.dumps(self.source.event_pattern), State="ENABLED")
        events.put_targets(Rule=rule, Targets=[{"Id": "devstack-pump", "Arn": arn}])


# --- schedules ---------------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Return the interval of a ``rate(...)`` expression in seconds, or ``None`` for other expressions."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2).lower().rstrip("s")]


_MONTHS = {
    m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


def _cron_field(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> set[int] | None:
    """Parse one cron field into the values it allows (``None`` for any)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)

        def value(token: str) -> int:
            token = token.upper()
            return names[token] if names and token in names else int(token)

        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = value(a), value(b)
        else:
            start = value(part)
            end = high if step != 1 else start
        values.update(range(start, end + 1, step))
    return values


class CronSchedule:
    """An AWS ``cron(min hour day-of-month month day-of-week year)`` expression (no L, W or #)."""

    def __init__(self, expression: str) -> None:
        body = expression.strip()
        if body.lower().startswith("cron(") and body.endswith(")"):
            body = body[5:-1]
        fields = body.split()
        names = "|".join([*_MONTHS, *_DAYS])
        if len(fields) != 6 or re.search(r"[LW#]", re.sub(rf"\b({names})\b", "", body.upper())):
            raise ValueError(f"unsupported cron expression {expression!r} (L, W and # are not)")
        self.minutes = _cron_field(fields[0], 0, 59)
        self.hours = _cron_field(fields[1], 0, 23)
        self.days = _cron_field(fields[2], 1, 31)
        self.months = _cron_field(fields[3], 1, 12, _MONTHS)
        self.weekdays = _cron_field(fields[4], 1, 7, _DAYS)
        self.years = _cron_field(fields[5], 1970, 2199)

    def matches(self, at: datetime) -> bool:
        """Tell whether the expression fires at the minute ``at`` (UTC)."""
        weekday = (at.isoweekday() % 7) + 1  # AWS: 1 = Sunday
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, at.minute),
                (self.hours, at.hour),
                (self.days, at.day),
                (self.months, at.month),
                (self.weekdays, weekday),
                (self.years, at.year),
            )
        )

    def next_after(self, after: datetime) -> datetime | None:
        """Return the first firing minute after ``after``, looking up to two years ahead."""
        at = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(2 * 366 * 24 * 60):
            if self.matches(at):
                return at
            at += timedelta(minutes=1)
        return None


def scheduled_event(rule_name: str, region: str, at: datetime | None = None) -> dict[str, Any]:
    """Return the event EventBridge sends a scheduled rule's target."""
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class ScheduleWorker(SourceWorker):
    """``@app.schedule``: fires the handler at its rate or cron times."""

    source: ScheduledEventConfig

    def __init__(self, pump: Pump, source: ScheduledEventConfig) -> None:
        super().__init__(pump, source)
        self.source = source
        expression = source.schedule_expression
        self.expression = expression.to_string() if isinstance(expression, ScheduleExpression) else str(expression)
        self.interval: float | None = None
        self.cron: CronSchedule | None = None
        config = pump.config
        if config.schedule_every is not None:
            self.interval = config.schedule_every
        elif (seconds := rate_seconds(self.expression)) is not None:
            self.interval = seconds * config.time_scale
        else:
            self.cron = CronSchedule(self.expression)

    def _next_wait(self) -> float | None:
        if self.interval is not None:
            return self.interval
        assert self.cron is not None
        now = datetime.now(UTC)
        at = self.cron.next_after(now)
        return None if at is None else (at - now).total_seconds()

    def run(self) -> None:
        rule = self.pump.function_name(self.name)
        log.info(
            "%s fires on %s%s",
            self.name,
            self.expression,
            f" (every {self.interval:g} s here)" if self.interval is not None else "",
        )
        next_at = time.monotonic()
        while not self.pump.stopping.is_set():
            wait = self._next_wait()
            if wait is None:
                log.warning("%s: %s never fires again", self.name, self.expression)
                return
            next_at = max(next_at + wait, time.monotonic()) if self.interval is not None else time.monotonic() + wait
            if self.pump.stopping.wait(max(0.0, next_at - time.monotonic())):
                return
            try:
                self.invoke(scheduled_event(rule, self.pump.config.region))
            except Exception:
                log.exception("%s raised (a scheduled invocation is not retried here)", self.name)


# --- the pump ----------------------------------------------------------------------------------------


class Pump:
    """Delivers the app's event sources from the AWS endpoint, one or more threads per source."""

    def __init__(self, app: Chalice, endpoint_url: str, config: PumpConfig | None = None) -> None:
        self.app = make_thread_safe(app)
        self.endpoint_url = endpoint_url
        self.config = config or PumpConfig()
        self.stopping = threading.Event()
        self._session = aws.session(self.config.region)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.workers: list[SourceWorker] = [w for w in map(self._worker, app.event_sources) if w]

    def _worker(self, source: BaseEventSourceConfig) -> SourceWorker | None:
        if isinstance(source, SQSEventConfig):
            return SQSWorker(self, source)
        if isinstance(source, S3EventConfig):
            return S3Worker(self, source)
        if isinstance(source, ScheduledEventConfig):
            try:
                return ScheduleWorker(self, source)
            except ValueError as err:
                log.warning("schedule %s is not emulated: %s", source.name, err)
                return None
        if isinstance(source, CloudWatchEventConfig):
            return EventBridgeWorker(self, source)
        log.warning("event source %s (%s) is not emulated", source.name, type(source).__name__)
        return None

    def client(self, service: str) -> Any:
        """Return the pump's shared client for ``service`` (boto3 clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = aws.client(self._session, service, self.endpoint_url)
            return self._clients[service]

    def function_name(self, handler_name: str) -> str:
        """Return the Lambda function name Chalice would deploy a handler as."""
        return f"{self.app.app_name}-{self.config.stage}-{handler_name}"

    def worker(self, name: str) -> SourceWorker:
        """Return the worker of the event source named ``name``."""
        return next(w for w in self.workers if w.name == name)

    def start(self) -> Pump:
        """Start every source's threads; internal queues and rules are created first when possible."""
        self.stopping.clear()
        for worker in self.workers:
            if isinstance(worker, EventBridgeWorker):
                worker.setup()
            elif isinstance(worker, S3Worker):
                try:
                    worker.setup()
                    worker._ready = True
                except Exception as err:  # the bucket may not exist yet; the worker retries
                    log.warning("%s: bucket %s not ready (%s)", worker.name, worker.source.bucket, err)
            for i in range(worker.threads()):
                thread = threading.Thread(target=worker.run, name=f"pump-{worker.name}-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)
        log.info("pump: %d sources, %d threads", len(self.workers), len(self._threads))
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
