"""Structured JSON logs (AWS Lambda Powertools' Logger), one logger for the whole library.

Every line is one JSON object; ``log_context`` adds keys such as the stream id, sequence number and
job id to every line a thread writes inside it, so one segment's path can be followed across the
gateway, the orchestrator and the results handler with one filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger

logger = Logger(service="lp-network")


@contextmanager
def log_context(**keys: object) -> Iterator[None]:
    """Add ``keys`` (those that are not None) to every log line this thread writes in the block."""
    present = {name: value for name, value in keys.items() if value is not None}
    # Thread-local keys: the local front and the event pump run many invocations side by side.
    logger.thread_safe_append_keys(**present)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(present)
