"""The ``webhooks`` queue (+ DLQ): one message per delivery attempt, delayed for the retry backoff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from chalicelib.webhooks.models import Delivery

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

#: SQS sends at most 10 messages per batch call.
BATCH = 10


class DeliverySink(Protocol):
    """Where delivery attempts are queued (the SQS queue; a recording fake in tests)."""

    def send(self, deliveries: Sequence[Delivery], delay_s: int = 0) -> None:
        """Queue ``deliveries``, each to be received after ``delay_s`` seconds (at most 900)."""
        ...


class DeliveryQueue:
    """The ``webhooks`` SQS queue."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def send(self, deliveries: Sequence[Delivery], delay_s: int = 0) -> None:
        """Queue ``deliveries`` in batch calls (one for up to 10); raise if SQS refused any."""
        for start in range(0, len(deliveries), BATCH):
            chunk = deliveries[start : start + BATCH]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": d.model_dump_json(by_alias=True), "DelaySeconds": delay_s}
                for i, d in enumerate(chunk)
            ]
            failed = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} of {len(chunk)} webhook deliveries: {failed[0]}")
