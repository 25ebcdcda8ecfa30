"""Orchestrator health as the gateway sees it: a circuit breaker per orchestrator, shared by every function.

Each refusal, timeout or failed transcode is a strike; a success clears them. An orchestrator with
``STRIKES_TO_REST`` strikes, the last less than ``REST_MS`` ago, is left out of selection; after its rest it
gets segments again, and its first success clears its record. The table (``health``) is small, one item
per orchestrator that ever failed; reads are cached for a second per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STRIKES_TO_REST = 3
REST_MS = 30_000
CACHE_S = 1.0


@dataclass(frozen=True)
class Standing:
    """An orchestrator with strikes: how many, the last one's time and reason, and whether it rests now."""

    address: str
    strikes: int
    last_failure: int
    reason: str
    resting: bool


class HealthBook:
    """Strikes per orchestrator, in the ``health`` table."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._cache: tuple[float, dict[str, tuple[int, int]]] | None = None
        self._lock = threading.Lock()

    def strike(self, address: str, reason: str, now_ms: int) -> None:
        """Record one refusal, timeout or failure."""
        self._table.update_item(
            Key={"address": address.lower()},
            UpdateExpression="ADD strikes :one SET lastFailure = :t, reason = :r",
            ExpressionAttributeValues={":one": 1, ":t": now_ms, ":r": reason},
        )
        self._forget()

    def clear(self, address: str) -> None:
        """A success: the orchestrator's strikes are gone (only written if it had any)."""
        if address.lower() in self._records():
            self._table.delete_item(Key={"address": address.lower()})
            self._forget()

    def resting(self, addresses: Iterable[str], now_ms: int) -> set[str]:
        """Which of ``addresses`` (lower case) are resting now."""
        records = self._records()
        out = set()
        for address in addresses:
            strikes, last = records.get(address.lower(), (0, 0))
            if strikes >= STRIKES_TO_REST and now_ms - last < REST_MS:
                out.add(address.lower())
        return out

    def standing(self, now_ms: int) -> dict[str, Standing]:
        """Every orchestrator with strikes, by lower-case address (read afresh: for people, not the hot path)."""
        items = self._table.scan(ConsistentRead=True).get("Items", [])
        out = {}
        for item in items:
            address = str(item["address"])
            strikes, last = int(str(item.get("strikes", 0))), int(str(item.get("lastFailure", 0)))
            resting = strikes >= STRIKES_TO_REST and now_ms - last < REST_MS
            out[address] = Standing(address, strikes, last, str(item.get("reason", "")), resting)
        return out

    def _records(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            if self._cache is not None and time.monotonic() - self._cache[0] < CACHE_S:
                return self._cache[1]
        items = self._table.scan(ConsistentRead=True).get("Items", [])
        records = {str(i["address"]): (int(i.get("strikes", 0)), int(i.get("lastFailure", 0))) for i in items}  # type: ignore[arg-type]
        with self._lock:
            self._cache = (time.monotonic(), records)
        return records

    def _forget(self) -> None:
        with self._lock:
            self._cache = None
