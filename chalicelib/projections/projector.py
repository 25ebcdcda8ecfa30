"""The projector: the chain-event queue's handler, writing each message's entity states to the projections.

A message carries states read at one block, stamped with the poll's version; the table keeps the newest
version of each entity, so a message applied twice, late, or after a reorg's re-read changes nothing it
should not. No chain access here: the poller read everything.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.projections.models import ChainMessage
from chalicelib.projections.store import ProjectionStore


def apply_message(message: ChainMessage, store: ProjectionStore) -> int:
    """Write a message's states unless newer ones are there; return how many were written."""
    return store.put_all(message.states, message.version)


def project_chain_events(event: dict[str, Any], store: ProjectionStore) -> PartialItemFailureResponse:
    """Apply a batch from the FIFO queue in order; a record that fails holds back the rest of its batch."""
    processor = SqsFifoPartialProcessor()

    def handle(record: SQSRecord) -> None:
        apply_message(ChainMessage.model_validate_json(record.body), store)

    return process_partial_response(event=event, record_handler=handle, processor=processor)
