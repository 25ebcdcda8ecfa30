"""What a segment costs: the output pixels its job asks for, at the orchestrator's price.

The gateway pays ahead and the orchestrator charges ahead, from the same count, so the two always agree
before any work is done. The count is an upper bound of what the worker makes: a rendition is never larger
than its profile, and a profile that keeps the source's frame rate is counted at ``ASSUMED_SOURCE_FPS``.
"""

from __future__ import annotations

import math
from fractions import Fraction

from chalicelib.jobs.models import TranscodeJob
from chalicelib.payments.models import MAX_TICKETS_PER_JOB

#: Frame rate counted for a profile that keeps the source's (fps 0): live sources are rarely faster.
ASSUMED_SOURCE_FPS = 30
#: Duration counted for a segment that declared none: HLS's customary segment length.
ASSUMED_SEGMENT_MS = 2_000


def job_pixels(job: TranscodeJob) -> int:
    """The output pixels ``job`` asks for: width × height × frames, summed over its renditions."""
    duration_ms = job.duration_ms if job.duration_ms else ASSUMED_SEGMENT_MS
    total = 0
    for output in job.outputs:
        # fps/fpsDen (e.g. 30000/1001) caps the rendition's rate; whole frames, rounded up.
        fps = output.profile.frame_rate() or ASSUMED_SOURCE_FPS
        frames = math.ceil(Fraction(duration_ms) * fps / 1000)
        total += output.profile.width * output.profile.height * frames
    return total


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
