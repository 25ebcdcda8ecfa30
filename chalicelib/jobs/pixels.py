"""How many output pixels a job asks for: the count the gateway pays for, the orchestrator charges ahead,
and the worker holds the job to.

The count is an upper bound of what the worker makes: a rendition never exceeds its profile's box (width ×
height), a profile that keeps the source's frame rate (fps 0) is counted at ``ASSUMED_SOURCE_FPS``, and a
segment that declared no duration is counted as ``ASSUMED_SEGMENT_MS`` long. Nothing of this is checked
before the worker decodes the source, so the worker itself refuses to make much more than was paid for
(``paid_pixel_limit``): a gateway that understates its segments gets a failed job, not free work.
"""

from __future__ import annotations

import math
from fractions import Fraction

from chalicelib.jobs.models import TranscodeJob

#: Frame rate counted for a profile that keeps the source's (fps 0): live sources are rarely faster.
ASSUMED_SOURCE_FPS = 30
#: Duration counted for a segment that declared none: HLS's customary segment length.
ASSUMED_SEGMENT_MS = 2_000
#: By default a paid job may make at most this many times the pixels paid for: room for honest segments that
#: run longer than declared (ffmpeg pushes a segment before the playlist that states its duration) or
#: sources faster than 30 fps. What is made past the bound is charged afterwards, when the job settles.
DEFAULT_MAX_OVERRUN = 4.0


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


def paid_pixel_limit(job: TranscodeJob, max_overrun: float = DEFAULT_MAX_OVERRUN) -> int:
    """The most output pixels a worker makes for a paid ``job``: ``max_overrun`` times what was paid for."""
    if max_overrun < 1:
        raise ValueError("a paid job may make at least what was paid for")
    return math.floor(job_pixels(job) * Fraction(max_overrun))
