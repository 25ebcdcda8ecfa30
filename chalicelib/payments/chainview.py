"""What the payment checks need to know about the chain, and nothing more.

Both sides ask the same three questions: which round is it (and its block hash, which tickets carry), how
much of a sender's money backs a ticket to a given orchestrator, and whether the sender is leaving. In the
Lambda functions the answers come from the projections the chain-event pipeline keeps in DynamoDB (no RPC
on the hot path); tools and tests may answer from the chain itself (``chalicelib.chain.view.RpcChainView``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from chalicelib.core.cache import RefreshingCache


@dataclass(frozen=True)
class RoundView:
    """The current round (``number``) and the last initialized one, with the block hash recorded for it.

    Tickets are made in the last initialized round, as in Livepeer: between a round's start and its
    initialization, the round before is still the one a ticket can name (it stays redeemable for
    ``ticketValidityPeriod`` rounds from it).
    """

    number: int
    last_initialized: int
    last_initialized_block_hash: bytes

    @property
    def initialized(self) -> bool:
        """Whether the current round is initialized."""
        return self.last_initialized == self.number


@dataclass(frozen=True)
class SenderFunds:
    """A sender's money as it backs one recipient's tickets now (wei).

    ``reserve_allocation`` is what ``recipient`` may still claim from the sender's reserve this round
    (the TicketBroker's ``claimableReserve``); ``withdraw_round`` is 0 unless the sender started to unlock;
    ``recipient_active`` says whether ``recipient`` is in the active set this round (the broker pays only
    orchestrators that are, or lately were: one outside it should take no new tickets).
    """

    deposit: int
    reserve_allocation: int
    withdraw_round: int
    recipient_active: bool

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
    """A ``ChainView`` answered from memory, refreshed behind the requests (``core.cache``).

    The chain moves a block every second or so and the projections follow it by their poll interval, so an
    answer ``fresh_s`` old costs nothing in accuracy; one up to ``stale_s`` old is still served while it is
    read again in the background, so the hot path (every segment, both sides) almost never waits for a read.
    """

    def __init__(
        self,
        inner: ChainView,
        fresh_s: float = 1.0,
        stale_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self.inner = inner
        self._cache: RefreshingCache[Any] = RefreshingCache(fresh_s, stale_s, clock)
        self._background = background

    def current_round(self) -> RoundView:
        return cast(RoundView, self._cache.get("round", self.inner.current_round, self._background))

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        key = ("funds", sender.lower(), recipient.lower())
        return cast(
            SenderFunds, self._cache.get(key, lambda: self.inner.sender_funds(sender, recipient), self._background)
        )

    def ticket_validity_period(self) -> int:
        return cast(int, self._cache.get("validity", self.inner.ticket_validity_period, self._background))
