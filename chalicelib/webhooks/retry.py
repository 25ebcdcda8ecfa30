"""When a failed delivery is tried again (DESIGN.md): 5 s, doubling to at most 1 h, then giving up.

Only answers that may change are retried: a network error, a timeout or a 5xx. A 4xx, a redirect (never
followed) or a URL the policy refuses is final. After ``MAX_ATTEMPTS`` attempts, or once the event is
``MAX_EVENT_AGE_MS`` old, the delivery gives up and says so in the log and the webhook's status.
"""

from __future__ import annotations

import math
from typing import Final

FIRST_BACKOFF_S: Final = 5
MAX_BACKOFF_S: Final = 3600
#: 16 attempts: 5 s, 10 s, ... 2560 s, then hourly; about 6.4 hours from the first to the last.
MAX_ATTEMPTS: Final = 16
MAX_EVENT_AGE_MS: Final = 24 * 3600 * 1000
#: SQS delays a message by at most this much; a longer wait is made of several hops (``queue_delay_s``).
SQS_MAX_DELAY_S: Final = 900
#: An attempt may start this early (SQS's delays are whole seconds; clocks of two hosts differ a little).
EARLY_MS: Final = 500


def backoff_s(failures: int) -> int:
    """Seconds to wait after the ``failures``-th failed attempt: 5, 10, 20, ... at most 3600."""
    if failures < 1:
        raise ValueError("a backoff follows at least one failure")
    return min(FIRST_BACKOFF_S << min(failures - 1, 20), MAX_BACKOFF_S)


def retryable(status_code: int | None) -> bool:
    """Whether an attempt that got ``status_code`` (None: no answer at all) is tried again."""
    return status_code is None or status_code >= 500


def queue_delay_s(due_at_ms: int, now_ms: int) -> int:
    """The SQS ``DelaySeconds`` that brings a message back at ``due_at_ms``, or as close as SQS allows."""
    return max(0, min(SQS_MAX_DELAY_S, math.ceil((due_at_ms - now_ms) / 1000)))


def may_retry(attempt: int, created_at_ms: int, next_due_ms: int) -> bool:
    """Whether attempt ``attempt + 1``, due at ``next_due_ms``, is still made."""
    return attempt < MAX_ATTEMPTS and next_due_ms - created_at_ms <= MAX_EVENT_AGE_MS
