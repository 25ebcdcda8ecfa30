"""The worker loop against SQS and S3 (moto over HTTP): jobs done, failures retried into the DLQ,
killed workers losing nothing, SIGTERM finishing the job in hand.

The jobs queue has a 2 s visibility timeout and ``maxReceiveCount`` 2, so retries take seconds.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from chalicelib.core.outbound import policy_session
from chalicelib.jobs.models import JobOutput, TranscodeJob, TranscodeResult
from chalicelib.jobs.urls import UrlPolicy
from chalicelib.streams.profiles import DEFAULT_PROFILES
from devstack.footage import REPO_ROOT
from gpu_worker.encoders import libx264
from gpu_worker.worker import Heartbeat, JobQueue, Worker
from tests import support
from tests.media import make_segments, probe

REGION = "us-east-1"
BUCKET = "worker-test-media"
VISIBILITY_S = 2
MAX_RECEIVES = 2
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in CREDENTIALS.items():
            env.setenv(name, value)
        boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION).create_bucket(Bucket=BUCKET)
        yield moto_endpoint


@dataclass
class Stack:
    """A fresh jobs queue with its DLQ, and the bucket, on the moto endpoint."""

    endpoint: str
    s3: Any
    sqs: Any
    queue_url: str
    dlq_url: str

    def job(self, source: bytes, profiles: int = 2) -> TranscodeJob:
        """Store ``source`` and send a job for it with presigned URLs; return the job."""
        job_id = uuid.uuid4().hex[:12]
        base = f"jobs/{job_id}"
        self.s3.put_object(Bucket=BUCKET, Key=f"{base}/source.ts", Body=source)
        outputs = [
            JobOutput(
                profile=p, key=f"{base}/{p.name}.ts", upload_url=self._presign("put_object", f"{base}/{p.name}.ts")
            )
            for p in DEFAULT_PROFILES[:profiles]
        ]
        job = TranscodeJob(
            job_id=job_id,
            stream_id="stream-1",
            seq=7,
            source_url=self._presign("get_object", f"{base}/source.ts"),
            source_bytes=len(source),
            outputs=outputs,
            result_key=f"results/{job_id}.json",
            result_url=self._presign("put_object", f"results/{job_id}.json"),
            orchestrator="0xorchestrator",
            created_at=int(time.time() * 1000),
        )
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(job.wire()))
        return job

    def _presign(self, method: str, key: str) -> str:
        url: str = self.s3.generate_presigned_url(method, Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
        return url

    def result(self, job: TranscodeJob) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=BUCKET, Key=job.result_key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        parsed: dict[str, Any] = json.loads(body)
        return parsed

    def object(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return data

    def count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def worker_env(self) -> dict[str, str]:
        return {
            **os.environ,
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "LP_REGION": REGION,
            "LP_WORKER_QUEUE_URL": self.queue_url,
            # the job URLs name this test's moto on loopback: allowed explicitly, as the local stack does
            "LP_ALLOWED_JOB_ORIGINS": json.dumps([self.endpoint]),
            "LP_WORKER_WAIT_TIME_S": "1",
            "LP_WORKER_ENCODER": "libx264",
            "LP_WORKER_X264_PRESET": "ultrafast",
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
        }


@pytest.fixture
def stack(endpoint: str) -> Stack:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    queue_url = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": str(VISIBILITY_S), "RedrivePolicy": redrive}
    )["QueueUrl"]
    return Stack(endpoint, s3, sqs, queue_url, dlq_url)


@pytest.fixture(scope="module")
def segment() -> bytes:
    return make_segments("720p", n=1)[0].read_bytes()


class InThreadWorker:
    """The real loop on a thread of the test process (no signals there: stopped by an event)."""

    def __init__(self, stack: Stack) -> None:
        sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name=REGION)
        policy = UrlPolicy.allowing([stack.endpoint])  # moto on loopback, allowed explicitly
        self.worker = Worker(
            JobQueue(sqs, stack.queue_url),
            libx264("ultrafast"),
            policy_session(policy),
            wait_time_s=1,
            retry_delay_s=1,
            worker_id="t1",
            policy=policy,
        )
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self) -> Worker:
        self.thread.start()
        return self.worker

    def __exit__(self, *exc: object) -> None:
        self.worker.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    return support.wait_for(check, timeout, 0.2, what)


# --- the happy path --------------------------------------------------------------------------------


def test_a_job_puts_its_renditions_and_an_ok_manifest_then_leaves_the_queue(stack: Stack, segment: bytes) -> None:
    job = stack.job(segment, profiles=2)
    with InThreadWorker(stack):
        result = wait_for(lambda: stack.result(job), what="the result manifest")
    TranscodeResult.model_validate(result)  # the manifest is the shared payload, camelCase
    assert result["status"] == "ok" and result["final"] is True and result["attempt"] == 1
    assert result["jobId"] == job.job_id and result["seq"] == 7 and result["encoder"] == "libx264"
    assert result["source"]["width"] == 1280 and result["source"]["videoCodec"].startswith("avc1.")
    assert [r["name"] for r in result["renditions"]] == ["240p0", "360p0"]
    for rendition, output in zip(result["renditions"], job.outputs, strict=True):
        data = stack.object(output.key)
        got = probe(data)
        assert (got.width, got.height) == (rendition["width"], rendition["height"])
        assert rendition["bytes"] == len(data) and got.frames == rendition["frames"] == 50
        assert rendition["codecs"].startswith("avc1.") and rendition["codecs"].endswith(",mp4a.40.2")
    assert stack.count(stack.queue_url) == 0  # deleted once the manifest was written


# --- failures ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_undecodable_source_is_retried_then_dead_lettered_with_a_final_failed_manifest(stack: Stack) -> None:
    job = stack.job(b"\x47" + bytes(range(255)) * 300)
    attempts: list[dict[str, Any]] = []

    def record() -> bool:
        result = stack.result(job)
        if result is not None and (not attempts or attempts[-1]["attempt"] != result["attempt"]):
            attempts.append(result)
        return stack.count(stack.dlq_url) == 1

    with InThreadWorker(stack):
        wait_for(record, timeout=30, what="the job in the dead-letter queue")
    assert [(r["attempt"], r["final"]) for r in attempts] == [(1, False), (MAX_RECEIVES, True)]
    last = attempts[-1]
    assert last["status"] == "failed" and last["error"]["code"] == "undecodable_source"
    assert stack.count(stack.queue_url) == 0


@pytest.mark.slow
def test_a_malformed_message_does_not_stop_the_loop_and_is_dead_lettered(stack: Stack, segment: bytes) -> None:
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody='{"jobId": "no-such-shape"')
    job = stack.job(segment, profiles=1)
    with InThreadWorker(stack) as worker:
        wait_for(lambda: stack.count(stack.dlq_url) == 1, timeout=30, what="the bad message in the DLQ")
        assert worker.handled >= MAX_RECEIVES
    result = stack.result(job)
    assert result is not None and result["status"] == "ok"  # the good job behind it was done


def test_a_heartbeat_keeps_a_running_job_invisible_past_the_visibility_timeout(stack: Stack) -> None:
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="{}")
    jobs = JobQueue(stack.sqs, stack.queue_url)
    assert (jobs.visibility_timeout, jobs.max_receive_count) == (VISIBILITY_S, MAX_RECEIVES)
    message = jobs.receive(1)
    assert message is not None and message.receive_count == 1 and not jobs.is_final(message)
    with Heartbeat(jobs, message, interval=VISIBILITY_S / 3):
        time.sleep(VISIBILITY_S * 1.75)
        assert jobs.receive(0) is None  # still invisible: nobody else starts the job
    again = wait_for(lambda: jobs.receive(1), timeout=10, what="the message to come back")
    assert again.receive_count == 2 and jobs.is_final(again)


# --- the process: SIGKILL and SIGTERM ----------------------------------------------------------------


class WorkerProcess:
    """``python -m gpu_worker`` as a child process; its log lines are collected as they come."""

    def __init__(self, stack: Stack, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gpu_worker"],
            cwd=REPO_ROOT,
            env={**stack.worker_env(), **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if text in line:
                return line
        raise AssertionError(f"no log line with {text!r}; log:\n{''.join(self.log)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_nothing(stack: Stack, segment: bytes, processes: list[WorkerProcess]) -> None:
    job = stack.job(segment, profiles=4)
    first = WorkerProcess(stack)
    processes.append(first)
    first.wait_for_line(f"job {job.job_id} seq 7 started")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    assert stack.result(job) is None, "the job finished before the kill; the test proves nothing"

    second = WorkerProcess(stack)
    processes.append(second)
    result = wait_for(lambda: stack.result(job), timeout=60, what="the second worker's manifest")
    assert result["status"] == "ok" and result["attempt"] == 2
    assert len(result["renditions"]) == 4
    wait_for(lambda: stack.count(stack.queue_url) == 0, timeout=10, what="the message's deletion")


@pytest.mark.slow
def test_sigterm_finishes_the_job_in_hand_then_exits(
    stack: Stack, segment: bytes, processes: list[WorkerProcess]
) -> None:
    job = stack.job(segment, profiles=4)
    worker = WorkerProcess(stack)
    processes.append(worker)
    worker.wait_for_line(f"job {job.job_id} seq 7 started")
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=60) == 0
    result = stack.result(job)
    assert result is not None and result["status"] == "ok" and result["attempt"] == 1
    assert stack.count(stack.queue_url) == 0


def test_sigterm_stops_an_idle_worker_at_once(stack: Stack, processes: list[WorkerProcess]) -> None:
    # A 20 s long poll is in progress when the signal comes: it must not delay the exit.
    worker = WorkerProcess(stack, LP_WORKER_WAIT_TIME_S="20")
    processes.append(worker)
    worker.wait_for_line("polling")
    time.sleep(0.3)
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 3
