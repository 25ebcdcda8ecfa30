"""The orchestrator's intake: check a job sent by a gateway and put it on this orchestrator's queue.

Payment checks (tickets) slot in here, before the job is queued: no work without payment.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from chalicelib.errors import BadRequest, Unprocessable
from chalicelib.models import TranscodeJob


def parse_job(body: bytes) -> TranscodeJob:
    """Parse and validate a job body, or raise a 4xx error naming what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "the body is not JSON") from None
    try:
        return TranscodeJob.model_validate(data)
    except ValidationError as error:
        raise Unprocessable("invalid_job", "the job does not match the schema", errors=_errors(error)) from None


def _errors(error: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in error.errors()]


def accept_job(job: TranscodeJob, my_address: str | None, sqs: Any, queue_url: str) -> str:
    """Queue a job addressed to this orchestrator; return the SQS message id."""
    if my_address is not None and job.orchestrator.lower() != my_address.lower():
        raise Unprocessable(
            "wrong_orchestrator", f"this orchestrator is {my_address}, the job is for {job.orchestrator}"
        )
    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(job.wire()),
        MessageAttributes={"jobId": {"DataType": "String", "StringValue": job.job_id}},
    )
    return str(response["MessageId"])
