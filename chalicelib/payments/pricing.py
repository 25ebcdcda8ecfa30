"""What a segment costs: the output pixels its job asks for (``chalicelib.jobs.pixels``), at the orchestrator's
price, paid in tickets.

The gateway pays ahead and the orchestrator charges ahead, from the same count, so the two always agree
before any work is done; the worker then holds the job to that count (``paid_pixel_limit``).
"""

from __future__ import annotations

from fractions import Fraction

from chalicelib.jobs.pixels import ASSUMED_SEGMENT_MS, ASSUMED_SOURCE_FPS, job_pixels
from chalicelib.payments.models import MAX_TICKETS_PER_JOB


def tickets_needed(fee_wei: int, ticket_value: Fraction) -> int:
    """The fewest tickets worth at least ``fee_wei`` together (at least one: every job carries a payment)."""
    if ticket_value <= 0:
        raise ValueError("a ticket must be worth something")
    count = -(-Fraction(fee_wei) // ticket_value)
    return max(1, int(count))


def credit_for(tickets: int, ticket_value: Fraction) -> int:
    """Whole wei credited for ``tickets`` tickets; ``tickets_needed`` tickets always cover their fee."""
    return int(tickets * ticket_value)


__all__ = [
    "ASSUMED_SEGMENT_MS",
    "ASSUMED_SOURCE_FPS",
    "MAX_TICKETS_PER_JOB",
    "credit_for",
    "job_pixels",
    "tickets_needed",
]
