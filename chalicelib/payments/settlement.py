"""Settling a finished job: the intake charged an upper bound of its pixels ahead; the worker reports what it
made (``jobs.models.Usage`` on the orchestrator's ``usage`` queue) and the difference goes back to the sender."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from chalicelib.core.batch import SQSRecord, process_sqs_batch
from chalicelib.core.logs import logger
from chalicelib.jobs.models import Usage
from chalicelib.payments.ledger import Ledger


def handle_usage(event: dict[str, Any], ledger: Ledger) -> PartialItemFailureResponse:
    """The ``usage`` queue's handler: settle each report once (a report delivered again changes nothing)."""

    def settle(record: SQSRecord) -> None:
        usage = Usage.model_validate_json(record.body)
        back = ledger.settle(usage.payer, usage.job_id, usage.pixels, usage.charge)
        if back is not None:
            logger.info("job settled", job_id=usage.job_id, sender=usage.payer, pixels=usage.pixels, back_wei=back)

    return process_sqs_batch(event, settle)
