"""A per-process cache that answers from memory and refreshes behind the request (stale-while-revalidate).

A value younger than ``fresh_s`` is served as is. An older one, up to ``stale_s``, is served too, while one
background thread per key reads it again, so the request that noticed pays nothing. Past ``stale_s`` (or
on first use) the request reads it itself. In Lambda a refresh thread left running when an invocation
returns simply pauses with the container and finishes in the next invocation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from chalicelib.core.logs import logger

T = TypeVar("T")
#: The most keys a cache keeps: past it, stale ones go, and if that is not enough, all.
MAX_KEYS = 10_000


class RefreshingCache(Generic[T]):
    """Values by key, refreshed in the background once older than ``fresh_s``, re-read once older than
    ``stale_s``."""

    def __init__(self, fresh_s: float, stale_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_s = fresh_s
        self.stale_s = stale_s
        self._clock = clock
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], T], background: bool = True) -> T:
        """The value of ``key``: from memory if young enough, else read (``read()``) now or behind."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None:
            age = now - kept[0]
            if age < self.fresh_s:
                return kept[1]  # type: ignore[no-any-return]
            if age < self.stale_s:
                self._refresh_behind(key, read, background)
                return kept[1]  # type: ignore[no-any-return]
        return self._read(key, read)

    def _read(self, key: Hashable, read: Callable[[], T]) -> T:
        value = read()
        with self._lock:
            if len(self._kept) >= MAX_KEYS:  # keys may come from strangers (a sender's address): stay bounded
                cut = self._clock() - self.stale_s
                self._kept = {k: v for k, v in self._kept.items() if v[0] >= cut}
                if len(self._kept) >= MAX_KEYS:
                    self._kept.clear()
            self._kept[key] = (self._clock(), value)
        return value

    def _refresh_behind(self, key: Hashable, read: Callable[[], T], background: bool) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def run() -> None:
            try:
                self._read(key, read)
            except Exception as error:  # the stale value stays; the next request tries again
                logger.warning("background refresh failed", key=str(key), error=str(error))
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        if background:
            threading.Thread(target=run, daemon=True, name=f"refresh-{key}").start()
        else:
            run()
