"""The recordings' queues, as the gateway writes to them: ``sessionends`` (its own handler reads it) and
``recordings`` (the recorder reads it). Each has its dead-letter queue (``resources.json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.core.models import ApiModel

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class MessageSink(Protocol):
    """Where a payload is queued (an SQS queue; a recording fake in tests)."""

    def send(self, payload: ApiModel) -> None:
        """Queue ``payload`` as one message; raise if it could not be queued."""
        ...


class PayloadQueue:
    """One SQS queue taking camelCase JSON payloads."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self.url = url

    def send(self, payload: ApiModel) -> None:
        """Queue ``payload`` as one message."""
        self._sqs.send_message(QueueUrl=self.url, MessageBody=payload.model_dump_json(by_alias=True))
