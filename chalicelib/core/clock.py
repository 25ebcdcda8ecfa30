"""Wall-clock time in milliseconds, the unit every stored timestamp uses; a ``Clock`` is injectable."""

from __future__ import annotations

import time
from collections.abc import Callable

#: A source of the time in milliseconds: ``now_ms`` in production, a controllable one in tests.
Clock = Callable[[], int]


def now_ms() -> int:
    """Return the wall-clock time in milliseconds."""
    return int(time.time() * 1000)
