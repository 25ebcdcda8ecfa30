"""The worker's structured JSON log, on stderr, with the segment's keys added by ``log_context``."""

from __future__ import annotations

import sys

from chalicelib.core.logs import log_context, make_logger

__all__ = ["log", "log_context"]

log = make_logger("lp-worker", sys.stderr)
