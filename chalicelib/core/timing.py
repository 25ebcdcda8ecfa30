"""What a request spent on named parts of its work, answered in a ``Server-Timing`` header (W3C Server Timing).

A route collects (``collecting``); code deep in the request times its part (``timed``) or adds one measured
elsewhere (``add``: the orchestrator's own figure, read from its answer with ``durations``). Outside a route that
collects, timing records nothing. The figures say where a segment's time went (the pipeline benchmark reads them
from the ingest's 202); they are for people and tools, never trusted for anything else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "Server-Timing"
#: The gateway making and signing the tickets of a job (and fetching a quote when it holds none).
TICKETS = "tickets"
#: The orchestrator checking a job's tickets and writing its ledger, as its intake reported it.
TICKET_CHECK = "ticket-check"
#: The orchestrator queueing a paid job for its workers (one SQS send): beside ``ticket-check``, what one call to
#: an AWS service costs on the same request (the scale of the payment's one conditional DynamoDB write).
INTAKE_QUEUE = "intake-queue"
#: What an orchestrator's intake reports that its gateway passes on in its own answer.
FROM_ORCHESTRATOR = (TICKET_CHECK, INTAKE_QUEUE)

#: A duration above an hour is not one a request spent: it is left out (a stranger's header may say anything).
MAX_MS = 3_600_000.0

_spans: ContextVar[dict[str, float] | None] = ContextVar("server_timing", default=None)
_METRIC = re.compile(r"^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:;(.*))?$")
_DURATION = re.compile(r"(?:^|;)\s*dur\s*=\s*\"?([0-9]+(?:\.[0-9]+)?)\"?\s*(?:;|$)")


@contextmanager
def collecting() -> Iterator[dict[str, float]]:
    """Collect the parts timed until the block ends, in milliseconds by name (a part timed twice adds up)."""
    spans: dict[str, float] = {}
    token = _spans.set(spans)
    try:
        yield spans
    finally:
        _spans.reset(token)


def add(name: str, ms: float) -> None:
    """Count ``ms`` milliseconds to ``name`` in the request collecting, if any."""
    spans = _spans.get()
    if spans is not None:
        spans[name] = spans.get(name, 0.0) + ms


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Count the block's wall-clock time to ``name`` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, (time.perf_counter() - started) * 1000)


def header(spans: dict[str, float]) -> dict[str, str]:
    """The ``Server-Timing`` header of ``spans`` (none when nothing was timed)."""
    if not spans:
        return {}
    return {HEADER: ", ".join(f"{name};dur={ms:.1f}" for name, ms in spans.items())}


def durations(value: str | None) -> dict[str, float]:
    """The metrics of a ``Server-Timing`` header with a duration, by name (the first entry of a name: a stranger
    repeating one cannot add up past ``MAX_MS``); what cannot be read is left out."""
    found: dict[str, float] = {}
    for entry in (value or "").split(","):
        metric = _METRIC.match(entry)
        if metric is None or metric[1] in found:
            continue
        duration = _DURATION.search(metric[2] or "")
        if duration is not None and (ms := float(duration[1])) <= MAX_MS:
            found[metric[1]] = ms
    return found
