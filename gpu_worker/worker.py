"""The worker loop: long-poll the orchestrator's SQS jobs queue and run one job at a time.

Delivery is at least once and nothing is lost: a message is deleted only after its renditions and
its ``ok`` result manifest are in S3. A failed job is reported (``attempt``, ``final``) and left on
the queue with its visibility shortened to a short backoff, so SQS redelivers it soon and, after
``maxReceiveCount`` receives, moves it to the dead-letter queue. A killed worker's message simply comes back. While a
job runs a heartbeat keeps extending its visibility; SIGTERM/SIGINT finish the job, then exit.

The loop itself (``QueueLoop``) is shared with the recorder (``gpu_worker.recorder``), which runs it over
another queue and another kind of job.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import requests
from pydantic import ValidationError

from chalicelib.jobs.models import TranscodeJob, TranscodeResult, Usage, output_pixels
from chalicelib.jobs.pixels import DEFAULT_MAX_OVERRUN
from chalicelib.jobs.urls import UrlPolicy
from gpu_worker.encoders import EncoderChoice
from gpu_worker.jobs import DEFAULT_MAX_SOURCE_BYTES, process_job
from gpu_worker.logs import log, log_context

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

__all__ = ["Heartbeat", "JobQueue", "Message", "QueueLoop", "UsageQueue", "Worker", "process_job"]

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Message:
    """One received SQS message."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class JobQueue:
    """The jobs queue as the worker sees it: receive, extend, delete, and its redrive limits."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self.sqs = sqs
        self.url = url
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])[
            "Attributes"
        ]
        self.visibility_timeout = int(attributes.get("VisibilityTimeout", "30"))
        redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else {}
        # None: no dead-letter queue, so no receive is ever the last one.
        self.max_receive_count: int | None = int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None

    @classmethod
    def named(cls, sqs: SQSClient, name: str) -> JobQueue:
        """Return the queue called ``name``."""
        return cls(sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def receive(self, wait_time_s: int) -> Message | None:
        """Long-poll for one message; None when the wait ends empty."""
        response = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait_time_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        for raw in response.get("Messages", []):
            return Message(
                message_id=raw["MessageId"],
                receipt_handle=raw["ReceiptHandle"],
                body=raw["Body"],
                receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
        return None

    def extend(self, message: Message, seconds: int) -> None:
        """Keep ``message`` invisible for another ``seconds``."""
        self.sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
        )

    def delete(self, message: Message) -> None:
        """Delete a finished message."""
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def is_final(self, message: Message) -> bool:
        """Tell whether a failure now is the last: the queue will not deliver it again."""
        return self.max_receive_count is not None and message.receive_count >= self.max_receive_count


class UsageQueue:
    """The orchestrator's ``usage`` queue, as the worker writes to it."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self.sqs = sqs
        self.url = url

    def report(self, usage: Usage) -> None:
        """Send one finished job's usage."""
        self.sqs.send_message(QueueUrl=self.url, MessageBody=usage.model_dump_json(by_alias=True))


class Heartbeat:
    """Extend a message's visibility every ``interval`` seconds while a job runs (a context manager)."""

    def __init__(self, queue: JobQueue, message: Message, interval: float) -> None:
        self.queue = queue
        self.message = message
        self.interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.queue.extend(self.message, self.queue.visibility_timeout)
            except Exception as error:  # a missed beat only risks a redelivery
                log.warning("heartbeat for %s failed: %s", self.message.message_id, error)


class _StopNow(BaseException):
    """Raised by the signal handler to leave an idle long poll at once.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way out of
    botocore or urllib3 swallows it.
    """


class QueueLoop(ABC, Generic[ResultT]):
    """Receive messages one at a time until stopped, ``max_jobs`` are handled, or a signal arrives.

    A subclass says what one message's job is (``handle``) and what its log lines call it.
    """

    #: what the log lines call the loop ("worker t1 polling ...") and the job a signal lets finish
    role: ClassVar[str] = "loop"
    job_noun: ClassVar[str] = "job"

    def __init__(
        self,
        queue: JobQueue,
        *,
        wait_time_s: int,
        heartbeat_fraction: float,
        retry_delay_s: float,
        max_jobs: int,
        stop: threading.Event | None,
        label: str | None,
    ) -> None:
        self.queue = queue
        self.wait_time_s = wait_time_s
        self.heartbeat_interval = max(0.2, queue.visibility_timeout * heartbeat_fraction)
        self.retry_delay_s = retry_delay_s
        self.max_jobs = max_jobs
        self.stop = stop or threading.Event()
        self.label = label
        self.handled = 0
        self._idle = False

    @abstractmethod
    def handle(self, message: Message) -> ResultT | None:
        """Run one message's job and settle the message (delete it, or retry it later); None if it has none."""

    def _polling_details(self) -> str:
        """What the opening log line adds after the queue's URL."""
        return ""

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: finish the running job, then stop; when idle, stop at once."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping after the current %s", signal.Signals(signum).name, self.job_noun)
        self.stop.set()
        if self._idle:
            raise _StopNow  # interrupts the long poll; a message it was receiving comes back

    def run(self) -> int:
        """Run the loop; return how many messages were handled."""
        log.info("%s %s polling %s%s", self.role, self.label, self.queue.url, self._polling_details())
        try:
            while not self.stop.is_set() and not (self.max_jobs and self.handled >= self.max_jobs):
                message = self._receive()
                if message is not None:
                    self.handle(message)
                    self.handled += 1
        except _StopNow:
            pass
        log.info("%s %s stopped after %d messages", self.role, self.label, self.handled)
        return self.handled

    def _receive(self) -> Message | None:
        self._idle = True
        try:
            return None if self.stop.is_set() else self.queue.receive(self.wait_time_s)
        except Exception as error:  # the queue may be briefly unreachable
            log.warning("receiving from %s failed: %s", self.queue.url, error)
            self.stop.wait(1.0)
            return None
        finally:
            self._idle = False

    def _retry_later(self, message: Message) -> None:
        """Shorten a failed message's invisibility to a linear backoff (capped at the queue's).

        A live segment retried a whole visibility timeout later is useless; a few seconds later it
        may still make the playlist (and a recording's transient failure is simply retried soon).
        The message is never deleted: SQS dead-letters it in the end.
        """
        delay = min(self.queue.visibility_timeout, round(self.retry_delay_s * message.receive_count))
        try:
            self.queue.extend(message, delay)
        except Exception as error:  # the full visibility timeout applies instead
            log.warning("shortening the retry delay of %s failed: %s", message.message_id, error)


class Worker(QueueLoop[TranscodeResult]):
    """Receive transcode jobs one at a time until stopped, ``max_jobs`` are done, or a signal arrives."""

    role = "worker"

    def __init__(
        self,
        queue: JobQueue,
        encoder: EncoderChoice,
        session: requests.Session,
        *,
        wait_time_s: int = 20,
        heartbeat_fraction: float = 1 / 3,
        max_jobs: int = 0,
        retry_delay_s: float = 2.0,
        worker_id: str | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        stop: threading.Event | None = None,
        policy: UrlPolicy = UrlPolicy(),
        max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
        usage: UsageQueue | None = None,
        max_paid_overrun: float = DEFAULT_MAX_OVERRUN,
    ) -> None:
        super().__init__(
            queue, wait_time_s=wait_time_s, heartbeat_fraction=heartbeat_fraction, retry_delay_s=retry_delay_s,
            max_jobs=max_jobs, stop=stop, label=worker_id,
        )  # fmt: skip
        self.encoder = encoder
        self.session = session
        self.worker_id = worker_id
        self.timeout = timeout
        self.policy = policy
        self.max_source_bytes = max_source_bytes
        self.max_paid_overrun = max_paid_overrun
        # On-chain mode: where to report what each paid job made (None: nothing is reported).
        self.usage = usage

    def _polling_details(self) -> str:
        return (
            f" with {self.encoder.name} (visibility {self.queue.visibility_timeout}s,"
            f" maxReceiveCount {self.queue.max_receive_count})"
        )

    def handle(self, message: Message) -> TranscodeResult | None:
        """Run one message's job; delete the message only when its result is ``ok``."""
        try:
            job = TranscodeJob.model_validate_json(message.body)
        except ValidationError as error:
            # Leave it: after maxReceiveCount receives SQS moves it to the dead-letter queue.
            log.error(
                "message %s (receive %d) is not a TranscodeJob, left for the dead-letter queue: %s",
                message.message_id, message.receive_count, error.errors(include_url=False)[:3],
            )  # fmt: skip
            self._retry_later(message)
            return None
        with log_context(stream_id=job.stream_id, seq=job.seq, job_id=job.job_id):
            return self._run(job, message)

    def _report_usage(self, job: TranscodeJob, result: TranscodeResult) -> None:
        """On-chain mode: tell the orchestrator what the job made, so the sender pays for exactly that."""
        if job.payer is None or job.charge is None or self.usage is None:
            return
        usage = Usage(job_id=job.job_id, payer=job.payer, pixels=output_pixels(result.renditions), charge=job.charge)
        try:
            self.usage.report(usage)
        except Exception as error:  # the bound charged ahead stands; the job itself is done
            log.warning("reporting usage of %s failed: %s", job.job_id, error)

    def _run(self, job: TranscodeJob, message: Message) -> TranscodeResult:
        started = time.perf_counter()
        final = self.queue.is_final(message)
        log.info("job %s seq %d started (receive %d)", job.job_id, job.seq, message.receive_count)
        with Heartbeat(self.queue, message, self.heartbeat_interval):
            result = process_job(
                job,
                self.encoder,
                self.session,
                attempt=message.receive_count,
                final=final,
                worker=self.worker_id,
                timeout=self.timeout,
                policy=self.policy,
                max_source_bytes=self.max_source_bytes,
                max_paid_overrun=self.max_paid_overrun,
            )
        if result.status == "ok":
            self._report_usage(job, result)
        if result.status == "ok" or (result.final and not final):  # done, or failed for good (no retry helps)
            try:
                self.queue.delete(message)
            except Exception as error:  # redelivery redoes the job idempotently
                log.warning("deleting %s failed: %s", message.message_id, error)
        else:
            self._retry_later(message)
        ms = round((time.perf_counter() - started) * 1000)
        code = f" error={result.error.code}" if result.error else ""
        log.info(
            "job %s seq %d %s encoder=%s ms=%d transcode_ms=%s attempt=%d final=%s%s",
            job.job_id, job.seq, result.status, self.encoder.name, ms, result.transcode_ms,
            result.attempt, result.final, code,
        )  # fmt: skip
        return result
