"""This orchestrator's jobs queue, as the intake writes to it (the worker fleet reads it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalicelib.jobs.models import TranscodeJob

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class JobsQueue:
    """The SQS jobs queue (its dead-letter queue catches jobs that fail every attempt)."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self.url = url

    def send(self, job: TranscodeJob) -> str:
        """Queue ``job``; return the SQS message id."""
        response = self._sqs.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps(job.wire()),
            MessageAttributes={"jobId": {"DataType": "String", "StringValue": job.job_id}},
        )
        return response["MessageId"]
