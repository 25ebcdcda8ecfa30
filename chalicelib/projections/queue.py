"""The chain-event FIFO queue, as the poller writes to it: one message group, so the projector sees chain order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.projections.models import ChainMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

#: Every chain message is in one group: the projector applies them in the order the poller sent them.
MESSAGE_GROUP = "chain"
_SQS_BATCH = 10


class ChainEventQueue:
    """Sends chain messages, deduplicated by (poll version, event key) within SQS's five-minute window."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self.url = url

    def send(self, messages: Sequence[tuple[ChainMessage, str]]) -> None:
        """Send ``(message, deduplication id)`` pairs in order; raise if any is refused."""
        for start in range(0, len(messages), _SQS_BATCH):
            chunk = messages[start : start + _SQS_BATCH]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(i),
                    "MessageBody": message.model_dump_json(),
                    "MessageGroupId": MESSAGE_GROUP,
                    "MessageDeduplicationId": dedup_id,
                }
                for i, (message, dedup_id) in enumerate(chunk)
            ]
            failed = self._sqs.send_message_batch(QueueUrl=self.url, Entries=entries).get("Failed", [])
            if failed:
                raise RuntimeError(f"the chain-event queue refused {len(failed)} messages: {failed[0]}")
