"""A paid job makes no more than it paid for: the worker holds it to the pixels its payment counted.

The gateway declares a segment's duration and the pixel count assumes 30 fps where a profile keeps the
source's rate; nothing of that can be checked before the source is decoded. So the worker counts the pixels
it hands its encoders and stops a paid job that would pass ``max_paid_overrun`` times the paid count: a
gateway that understates its segments gets a failed job (``exceeds_paid_pixels``, not retried), not free work.
"""

from __future__ import annotations

import json

import pytest
import requests

from chalicelib.core import aws
from chalicelib.jobs.models import TranscodeJob, output_pixels
from chalicelib.jobs.pixels import job_pixels, paid_pixel_limit
from chalicelib.segments.models import SegmentStatus
from chalicelib.streams.profiles import Profile
from gpu_worker.encoders import libx264
from gpu_worker.errors import PaidPixelsExceeded
from gpu_worker.transcode import transcode_segment
from gpu_worker.worker import JobQueue, Worker
from tests.domain.conftest import Stage
from tests.domain.footage import FPS, HEIGHT, WIDTH, tiny_segments

FAST = libx264("ultrafast")
PAYER = "0x" + "ab" * 20
LADDER = [
    Profile(name="240p", width=426, height=240, bitrate=250_000),
    Profile(name="144p", width=256, height=144, bitrate=100_000),
]


def frames_pixels(frames: int) -> int:
    """The ladder's output pixels for ``frames`` source frames (every profile fits the 426x240 source)."""
    return frames * (426 * 240 + 256 * 144)


def test_an_honest_source_is_made_within_the_pixels_paid_for() -> None:
    [segment] = tiny_segments(1, seconds=2)
    made = transcode_segment(segment, LADDER, FAST, max_pixels=frames_pixels(2 * FPS))
    assert [r.frames for r in made.renditions] == [2 * FPS, 2 * FPS]


def test_a_source_longer_than_paid_for_is_stopped_at_the_limit() -> None:
    [segment] = tiny_segments(1, seconds=2)  # 20 frames; the payment counted 10
    with pytest.raises(PaidPixelsExceeded) as stopped:
        transcode_segment(segment, LADDER, FAST, max_pixels=frames_pixels(FPS))
    assert stopped.value.code == "exceeds_paid_pixels" and not stopped.value.retry
    # It stopped at the limit: the frame that would pass it (the 11th) was not encoded, nor any after it.
    assert "after 11 source frames" in stopped.value.message


def test_a_source_wider_than_its_profiles_is_counted_inside_the_profiles_box() -> None:
    # A wide strip would once have made 240p renditions as wide as the source; now the box bounds them.
    job_profile = Profile(name="240p", width=426, height=240, bitrate=250_000)
    [segment] = tiny_segments(1, seconds=1)
    made = transcode_segment(segment, [job_profile.model_copy(update={"width": 200})], FAST)
    [rendition] = made.renditions
    assert rendition.width <= 200 and rendition.height < HEIGHT  # the source's aspect ratio, inside 200x240
    assert abs(rendition.width / rendition.height - WIDTH / HEIGHT) < 0.05


def test_the_limit_is_the_overrun_times_the_pixels_paid_for() -> None:
    job = TranscodeJob.model_validate(
        {
            "jobId": "s/0", "streamId": "s", "seq": 0, "sourceUrl": "https://x/s", "sourceBytes": 1,
            "durationMs": 1000, "resultKey": "r", "resultUrl": "https://x/r", "orchestrator": PAYER, "createdAt": 0,
            "outputs": [{"profile": LADDER[0].wire(), "key": "k", "uploadUrl": "https://x/k"}],
        }
    )  # fmt: skip
    assert job_pixels(job) == 426 * 240 * 30  # fps 0 is counted at 30 fps
    assert paid_pixel_limit(job, 1.0) == job_pixels(job)
    assert paid_pixel_limit(job, 2.5) == job_pixels(job) * 5 // 2
    with pytest.raises(ValueError):
        paid_pixel_limit(job, 0.5)


def _requeued_as_paid(stage: Stage, duration_ms: int) -> dict[str, object]:
    """Push one 2 s segment, then put its job back on the queue as a paid job declaring ``duration_ms``."""
    stream = stage.create_stream("paid", profiles=[p.wire() for p in LADDER])
    assert stage.push(stream["streamKey"], 0, tiny_segments(1, seconds=2)[0]).status_code == 202
    [message] = stage.receive("jobs")
    job = {**json.loads(message["Body"]), "payer": PAYER, "durationMs": duration_ms}
    aws.sqs().send_message(QueueUrl=stage.queue_url("jobs"), MessageBody=json.dumps(job))
    return stream


def _worker(stage: Stage, overrun: float) -> tuple[Worker, JobQueue]:
    queue = JobQueue(aws.sqs(), stage.queue_url("jobs"))
    worker = Worker(queue, FAST, requests.Session(), wait_time_s=0, retry_delay_s=0, max_paid_overrun=overrun)
    return worker, queue


def test_a_paid_job_that_understated_its_segment_fails_for_good_without_a_retry(stage: Stage) -> None:
    stream = _requeued_as_paid(stage, duration_ms=300)  # paid for 9 frames at 30 fps; the source has 20
    worker, queue = _worker(stage, overrun=1.5)
    message = queue.receive(0)
    assert message is not None
    result = worker.handle(message)
    assert result is not None and result.status == "failed" and result.final
    assert result.error is not None and result.error.code == "exceeds_paid_pixels"
    assert queue.receive(0) is None and stage.receive("jobs-dlq") == []  # deleted: no retry would help
    assert stage.deliver_results() == {"batchItemFailures": []}
    record = stage.app.wiring.segments().get(stream["id"], 0)
    assert record is not None and record.status == SegmentStatus.FAILED
    assert record.error is not None and record.error.code == "exceeds_paid_pixels"


def test_a_paid_job_within_its_overrun_is_made_in_full(stage: Stage) -> None:
    _requeued_as_paid(stage, duration_ms=1000)  # paid for 30 frames at 30 fps; the source has 20 at 10 fps
    worker, queue = _worker(stage, overrun=1.0)
    message = queue.receive(0)
    assert message is not None
    result = worker.handle(message)
    assert result is not None and result.status == "ok", result.error
    job = TranscodeJob.model_validate_json(message.body)
    assert output_pixels(result.renditions) == frames_pixels(2 * FPS) <= job_pixels(job)
