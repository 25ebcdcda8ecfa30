"""The recorder: turns a recorded session into one MP4, beside the gateway (PyAV cannot run in its Lambdas).

``python -m gpu_worker.recorder`` long-polls the gateway's ``recordings`` queue (+ DLQ). For each ``RemuxJob`` it
reads the session's segments of one rendition from the media bucket, one at a time, copies them into an MP4
(``gpu_worker.remux``: no re-encode, index first), uploads it, and then writes the manifest (``RemuxResult``)
beside it: that object's creation is the S3 notification that tells the gateway the recording is ready. It is
the gateway's own process (on AWS, the worker image run with this module; it needs read access to the media
bucket's segments and write access to its ``recordings/``), so it uses boto3 with the gateway's bucket, not
presigned URLs as an orchestrator's worker must.

Delivery is at least once: a message is deleted once its manifest is written. A job that cannot succeed (no
segment, not H.264, undecodable) writes a ``failed`` manifest at once; one that may (S3 unreachable) is tried
again soon, and on its last receive writes ``failed`` with ``final``. A job done twice makes the same MP4 and
the same manifest, and the gateway moves a recording once.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from chalicelib.core.resources import physical_name
from chalicelib.recordings.remux import RecordingError, RecordingFile, RemuxJob, RemuxResult
from gpu_worker.errors import TranscodeError
from gpu_worker.logs import log, log_context
from gpu_worker.remux import RemuxError, remux_to_mp4
from gpu_worker.settings import RecorderSettings
from gpu_worker.worker import Heartbeat, JobQueue, Message, QueueLoop

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

MP4_CONTENT_TYPE = "video/mp4"
JSON_CONTENT_TYPE = "application/json"


class RecordingBucket:
    """The gateway's media bucket as the recorder reads and writes it."""

    def __init__(self, s3: S3Client) -> None:
        self.s3 = s3

    def segments(self, job: RemuxJob) -> Iterator[bytes]:
        """The job's segments, in order, read one at a time (a missing one fails the job for good)."""
        for key in job.segment_keys():
            try:
                yield self.s3.get_object(Bucket=job.bucket, Key=key)["Body"].read()
            except self.s3.exceptions.NoSuchKey:
                raise RemuxError(f"segment {key} is not in the bucket", "segment_missing") from None
            except (BotoCoreError, ClientError) as error:
                raise TranscodeError(f"segment {key} could not be read: {error}", "segment_unavailable") from None

    def upload_mp4(self, job: RemuxJob, path: Path) -> None:
        """Upload the MP4 (in parts, when large)."""
        try:
            self.s3.upload_file(str(path), job.bucket, job.mp4_key(), ExtraArgs={"ContentType": MP4_CONTENT_TYPE})
        except (BotoCoreError, ClientError) as error:
            raise TranscodeError(f"the MP4 could not be uploaded: {error}", "upload_failed") from None

    def put_result(self, job: RemuxJob, result: RemuxResult) -> None:
        """Write the manifest: its creation tells the gateway."""
        body = result.model_dump_json(by_alias=True, exclude_none=True).encode()
        self.s3.put_object(Bucket=job.bucket, Key=job.result_key(), Body=body, ContentType=JSON_CONTENT_TYPE)


def remux_job(
    job: RemuxJob,
    bucket: RecordingBucket,
    *,
    attempt: int = 1,
    final: bool = True,
    recorder: str | None = None,
    work_dir: str | None = None,
) -> RemuxResult:
    """Make the job's MP4 and write its manifest (``ok``, or ``failed`` when no attempt will follow); return it.

    Never raises for a bad job; raises only when the manifest itself could not be written (the message stays).
    """
    started = time.perf_counter()

    def made(file: RecordingFile | None = None, error: RecordingError | None = None, ends: bool = True) -> RemuxResult:
        return RemuxResult(
            stream_id=job.stream_id,
            session_id=job.session_id,
            status="ok" if file is not None else "failed",
            file=file,
            error=error,
            attempt=attempt,
            final=ends,
            recorder=recorder,
            remux_ms=round((time.perf_counter() - started) * 1000),
        )

    try:
        with tempfile.TemporaryDirectory(prefix="lp-recording-", dir=work_dir) as folder:
            path = Path(folder) / "output.mp4"
            mp4 = remux_to_mp4(bucket.segments(job), path)
            bucket.upload_mp4(job, path)
        file = RecordingFile(
            key=job.mp4_key(),
            rendition=job.rendition,
            bytes=mp4.bytes,
            width=mp4.width,
            height=mp4.height,
            bitrate=mp4.bitrate,
            duration_ms=mp4.duration_ms,
            video_codec=mp4.video_codec,
            audio_codec=mp4.audio_codec,
        )
        result = made(file=file)
    except TranscodeError as error:
        result = made(error=RecordingError(code=error.code, message=error.message), ends=final or not error.retry)
    except Exception as error:  # a bug or the unexpected: reported, and retried like a transient failure
        log.exception("remux of %s failed unexpectedly", job.session_id)
        result = made(
            error=RecordingError(code="internal_error", message=f"{type(error).__name__}: {error}"), ends=final
        )
    if result.status == "ok" or result.final:
        bucket.put_result(job, result)
    return result


class Recorder(QueueLoop[RemuxResult]):
    """Receive remux jobs one at a time until stopped, ``max_jobs`` are done, or a signal arrives."""

    role = "recorder"
    job_noun = "recording"

    def __init__(
        self,
        queue: JobQueue,
        bucket: RecordingBucket,
        *,
        wait_time_s: int = 20,
        heartbeat_fraction: float = 1 / 3,
        retry_delay_s: float = 5.0,
        work_dir: str | None = None,
        recorder_id: str | None = None,
        max_jobs: int = 0,
        stop: threading.Event | None = None,
    ) -> None:
        super().__init__(
            queue, wait_time_s=wait_time_s, heartbeat_fraction=heartbeat_fraction, retry_delay_s=retry_delay_s,
            max_jobs=max_jobs, stop=stop, label=recorder_id,
        )  # fmt: skip
        self.bucket = bucket
        self.work_dir = work_dir
        self.recorder_id = recorder_id

    def handle(self, message: Message) -> RemuxResult | None:
        """Run one message's job; delete the message once its manifest is written."""
        try:
            job = RemuxJob.model_validate_json(message.body)
        except ValidationError as error:
            log.error("message %s is not a RemuxJob, left for the dead-letter queue: %s", message.message_id, error)
            self._retry_later(message)
            return None
        with log_context(stream_id=job.stream_id, session_id=job.session_id):
            started = time.perf_counter()
            try:
                with Heartbeat(self.queue, message, self.heartbeat_interval):
                    result = remux_job(
                        job,
                        self.bucket,
                        attempt=message.receive_count,
                        final=self.queue.is_final(message),
                        recorder=self.recorder_id,
                        work_dir=self.work_dir,
                    )
            except Exception as error:  # the manifest could not be written: the whole job comes back
                log.warning("the manifest of %s could not be written: %s", job.session_id, error)
                self._retry_later(message)
                return None
            if result.status == "ok" or result.final:
                try:
                    self.queue.delete(message)
                except Exception as error:  # redelivery makes the same MP4 again
                    log.warning("deleting %s failed: %s", message.message_id, error)
            else:
                self._retry_later(message)
            code = f" error={result.error.code}" if result.error else ""
            log.info(
                "recording %s %s segments=%d ms=%d attempt=%d final=%s%s",
                job.session_id, result.status, len(job.seqs), round((time.perf_counter() - started) * 1000),
                result.attempt, result.final, code,
            )  # fmt: skip
            return result


def main(argv: list[str] | None = None) -> int:
    """Start the recorder on the stage's ``recordings`` queue and loop until stopped."""
    options = RecorderSettings()
    log.setLevel(options.log_level.upper())
    session = boto3.session.Session()
    sqs = session.client("sqs", region_name=options.region)
    if options.queue_url:
        queue = JobQueue(sqs, options.queue_url)
    else:
        name = options.queue_name or physical_name(options.stage, "recordings", options.resource_prefix)
        queue = JobQueue.named(sqs, name)
    recorder = Recorder(
        queue,
        RecordingBucket(session.client("s3", region_name=options.region)),
        wait_time_s=options.wait_time_s,
        heartbeat_fraction=options.heartbeat_fraction,
        retry_delay_s=options.retry_delay_s,
        work_dir=options.work_dir,
        recorder_id=options.recorder_id,
        max_jobs=options.max_jobs,
    )
    recorder.install_signal_handlers()
    recorder.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
