"""SQS batches with partial failures (Powertools' batch processor) and S3 notifications inside them.

Lambda deletes a batch's messages except those a handler names in ``batchItemFailures``; those come
back after the visibility timeout and, after ``maxReceiveCount`` receives, go to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["S3Object", "SQSRecord", "process_sqs_batch", "s3_objects_created"]


def process_sqs_batch(event: dict[str, Any], handle: Callable[[SQSRecord], object]) -> PartialItemFailureResponse:
    """Run ``handle`` on every record of a Lambda SQS event; return the partial batch response.

    A record whose handler raises is named in ``batchItemFailures`` (and so retried); the others are
    deleted. A batch that fails whole is answered the same way rather than raised.
    """
    # A processor holds one batch's state: one per invocation, since invocations may run side by side.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=handle, processor=processor)


@dataclass(frozen=True)
class S3Object:
    """An object an S3 notification names."""

    bucket: str
    key: str


def s3_objects_created(record: SQSRecord) -> list[S3Object]:
    """Return the object an S3 ``ObjectCreated`` notification delivered through SQS names.

    None for the ``s3:TestEvent`` S3 sends when a notification is configured, or for other events.
    The key comes URL-decoded (S3, and moto, send it encoded).
    """
    event = record.decoded_nested_s3_event
    if "Records" not in event:  # s3:TestEvent
        return []
    # S3 puts one record in each notification message.
    if not event.record.event_name.startswith("ObjectCreated"):
        return []
    return [S3Object(event.bucket_name, event.object_key)]
