"""Structured JSON logs (AWS Lambda Powertools' Logger): one JSON object per line.

``log_context`` adds keys such as the stream id, sequence number and job id to every line the
current thread writes inside it, through any of the loggers made here, so one segment's path can
be followed across the gateway, the orchestrator's intake, its worker and the results handler.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from aws_lambda_powertools import Logger


def make_logger(service: str, stream: IO[str] | None = None) -> Logger:
    """Return the structured logger of a service (Lambda reads stdout, the default ``stream``)."""
    return Logger(service=service, stream=stream)


logger = make_logger("lp-network")


@contextmanager
def log_context(**keys: object) -> Iterator[None]:
    """Add ``keys`` (those that are not None) to every log line this thread writes in the block."""
    present = {name: value for name, value in keys.items() if value is not None}
    # Thread-local keys, shared by every Powertools logger: the local front and the event pump run
    # many invocations side by side in one process.
    outer = dict(logger.thread_safe_get_current_keys())
    logger.thread_safe_append_keys(**present)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(present)
        # A block inside another (a handler calling a handler in-process) gives back the outer values.
        shadowed = {name: outer[name] for name in present if name in outer}
        if shadowed:
            logger.thread_safe_append_keys(**shadowed)
