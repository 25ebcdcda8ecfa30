"""The orchestrator's intake: check a job sent by a gateway and put it on this orchestrator's queue.

Payment checks (tickets) slot in here, before the job is queued: no work without payment.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from chalicelib.core.errors import BadRequest, Unprocessable, invalid
from chalicelib.core.logs import log_context, logger
from chalicelib.intake.queue import JobsQueue
from chalicelib.jobs.models import TranscodeJob


def parse_job(body: bytes) -> TranscodeJob:
    """Parse and validate a job body, or raise a 4xx error naming what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "the body is not JSON") from None
    try:
        return TranscodeJob.model_validate(data)
    except ValidationError as error:
        raise invalid("invalid_job", "the job does not match the schema", error) from None


def accept_job(job: TranscodeJob, my_address: str | None, queue: JobsQueue) -> str:
    """Queue a job addressed to this orchestrator; return the SQS message id."""
    with log_context(stream_id=job.stream_id, seq=job.seq, job_id=job.job_id):
        if my_address is not None and job.orchestrator.lower() != my_address.lower():
            raise Unprocessable(
                "wrong_orchestrator", f"this orchestrator is {my_address}, the job is for {job.orchestrator}"
            )
        message_id = queue.send(job)
        logger.info("job queued", message_id=message_id)
        return message_id
