"""What the payment checks need to know about the chain, and nothing more.

Both sides ask the same three questions: which round is it (and its block hash, which tickets carry), how
much of a sender's money backs a ticket to a given orchestrator, and whether the sender is leaving. In the
Lambda functions the answers come from the projections the chain-event pipeline keeps in DynamoDB (no RPC
on the hot path); tools and tests may answer from the chain itself (``chalicelib.chain.view.RpcChainView``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

_T = TypeVar("_T")


@dataclass(frozen=True)
class RoundView:
    """The current round: its number, the block hash recorded for it (zero bytes until initialized)."""

    number: int
    block_hash: bytes
    initialized: bool


@dataclass(frozen=True)
class SenderFunds:
    """A sender's money as it backs one recipient's tickets now (wei).

    ``reserve_allocation`` is what ``recipient`` may still claim from the sender's reserve this round
    (the TicketBroker's ``claimableReserve``); ``withdraw_round`` is 0 unless the sender started to unlock.
    """

    deposit: int
    reserve_allocation: int
    withdraw_round: int

    @property
    def unlocking(self) -> bool:
        """Whether the sender has started to unlock its deposit and reserve."""
        return self.withdraw_round != 0

    def covers(self, face_value: int) -> bool:
        """Whether a winning ticket of ``face_value`` would be paid in full (redemption is all or nothing)."""
        return self.deposit + self.reserve_allocation >= face_value


class ChainView(Protocol):
    """The chain as the payment checks see it."""

    def current_round(self) -> RoundView:
        """The current round."""
        ...

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        """``sender``'s deposit, the reserve allocation ``recipient`` may claim, and its unlock state."""
        ...

    def ticket_validity_period(self) -> int:
        """How many rounds after its creation round a ticket can still be redeemed."""
        ...


class CachedChainView:
    """A ``ChainView`` whose answers are kept ``ttl_s`` seconds, per process.

    The chain moves a block every second or so and the projections follow it by their poll interval, so a
    second's staleness costs nothing in accuracy and saves the hot path (every segment, both sides) a
    handful of DynamoDB reads.
    """

    def __init__(self, inner: ChainView, ttl_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.ttl_s = ttl_s
        self._clock = clock
        self._kept: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, ...], read: Callable[[], _T]) -> _T:
        now = self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl_s:
            return cast(_T, kept[1])
        value = read()
        with self._lock:
            self._kept[key] = (now, value)
        return value

    def current_round(self) -> RoundView:
        return self._cached(("round",), self.inner.current_round)

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        return self._cached(
            ("funds", sender.lower(), recipient.lower()), lambda: self.inner.sender_funds(sender, recipient)
        )

    def ticket_validity_period(self) -> int:
        return self._cached(("validity",), self.inner.ticket_validity_period)
