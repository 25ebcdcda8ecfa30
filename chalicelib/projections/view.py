"""Answers from the projections: the payment checks' ``ChainView`` and the gateway's list of orchestrators.

The round is worked out from the newest confirmed block and the RoundsManager's clock (as
``RoundsManager._currentRound`` does), so it moves on with the blocks even before a ``NewRound``; what
depends on the round (terms in force, active, the reserve a recipient may still claim) is worked out
from it as the contracts do.
"""

from __future__ import annotations

from typing import TypeVar

from chalicelib.core.errors import Unavailable
from chalicelib.payments.chainview import RoundView, SenderFunds
from chalicelib.projections.models import (
    BROKER_KEY,
    CLOCK_KEY,
    HEAD_KEY,
    ZERO_HASH,
    BrokerState,
    ClaimState,
    ClockState,
    EntityState,
    HeadState,
    OrchestratorState,
    OrchestratorView,
    RoundHashState,
    SenderState,
    claim_key,
    orchestrator_key,
    round_key,
    sender_key,
)
from chalicelib.projections.store import ProjectionStore

_S = TypeVar("_S")


class NotProjectedYet(Unavailable):
    """The poller has not projected the chain yet (no head or clock): a 503 the caller may retry."""

    def __init__(self, message: str) -> None:
        super().__init__("chain_not_projected", message)


def _is(state: EntityState | None, kind: type[_S]) -> _S | None:
    return state if isinstance(state, kind) else None


def active_in(o: OrchestratorState, round_: int) -> bool:
    """BondingManager.activeSetInfo: active in ``round_`` (activation ≤ round < deactivation) and registered."""
    return o.registered and o.activation_round <= round_ < o.deactivation_round


def terms_in(o: OrchestratorState, round_: int) -> tuple[int, int]:
    """(rewardCut, feeShare) in force in ``round_``: terms set in a round apply from the next one."""
    return (o.next_reward_cut, o.next_fee_share) if round_ > o.read_round else (o.reward_cut, o.fee_share)


class ProjectedChainView:
    """A ``ChainView`` (and the orchestrator list) answered from the ``projections`` table: no RPC."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store

    def _clock(self, *more: str) -> tuple[ClockState, HeadState, dict[str, EntityState]]:
        """The clock and head, and the states of ``more`` keys, in one read."""
        found = self.store.get_many([CLOCK_KEY, HEAD_KEY, *more])
        clock = _is(found.get(CLOCK_KEY), ClockState)
        head = _is(found.get(HEAD_KEY), HeadState)
        if clock is None or head is None:
            raise NotProjectedYet("the chain poller has not projected the chain yet")
        return clock, head, found

    def round_number(self) -> int:
        """The current round at the newest confirmed block."""
        clock, head, _ = self._clock()
        return clock.round_at(head.number)

    def current_round(self) -> RoundView:
        """The current round, and the last initialized one with its recorded block hash."""
        clock, head, _ = self._clock()
        number = clock.round_at(head.number)
        last = clock.last_initialized_round
        recorded = _is(self.store.get(round_key(last)), RoundHashState)
        block_hash = recorded.block_hash if recorded else ZERO_HASH
        return RoundView(number, last, bytes.fromhex(block_hash.removeprefix("0x")))

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        """The sender's deposit, the reserve ``recipient`` may still claim this round, the unlock round."""
        keys = (sender_key(sender), orchestrator_key(recipient), claim_key(sender, recipient))
        clock, head, found = self._clock(*keys)
        round_ = clock.round_at(head.number)
        s = _is(found.get(keys[0]), SenderState)
        o = _is(found.get(keys[1]), OrchestratorState)
        active = o is not None and active_in(o, round_)
        if s is None:
            return SenderFunds(0, 0, 0, active)
        claim = _is(found.get(keys[2]), ClaimState)
        claimable = self._claimable(s, o, claim, round_, clock.active_set_size)
        return SenderFunds(s.deposit, claimable, s.withdraw_round, active)

    def _claimable(
        self, s: SenderState, o: OrchestratorState | None, claim: ClaimState | None, round_: int, set_size: int
    ) -> int:
        # TicketBroker.claimableReserve
        if o is None or not active_in(o, round_) or set_size == 0:
            return 0
        base = s.reserve + (s.claimed_in_round if s.read_round == round_ else 0)
        already = claim.claimed if claim is not None and claim.read_round == round_ else 0
        return max(base // set_size - already, 0)

    def sender(self, address: str) -> SenderState | None:
        """A sender's deposit and reserve as last projected; None if the chain never saw it."""
        return _is(self.store.get(sender_key(address)), SenderState)

    def ticket_validity_period(self) -> int:
        """The TicketBroker's ticketValidityPeriod."""
        broker = _is(self.store.get(BROKER_KEY), BrokerState)
        if broker is None:
            raise NotProjectedYet("the chain poller has not projected the TicketBroker yet")
        return broker.ticket_validity_period

    def orchestrators(self) -> list[OrchestratorView]:
        """Every orchestrator the chain knows of (registered, advertised, or once either), largest stake first.

        An orchestrator only an orphaned fork knew keeps its item (re-read as the contracts' zero state, its
        version guarding against the orphaned poll's late messages) but is not listed: a fresh read of the
        chain would not find it.
        """
        round_ = self.round_number()
        views = []
        for state in self.store.of_kind("orchestrator"):
            o = _is(state, OrchestratorState)
            if o is None or not o.known:
                continue
            cut, share = terms_in(o, round_)
            views.append(
                OrchestratorView(
                    address=o.address,
                    stake=o.total_stake,
                    reward_cut=cut,
                    fee_share=share,
                    service_uri=o.service_uri,
                    price_per_unit=o.price_per_unit,
                    pixels_per_unit=o.pixels_per_unit,
                    active=active_in(o, round_),
                    credited=o.credited,
                )
            )
        return sorted(views, key=lambda v: (-v.stake, v.address.lower()))

    def active_orchestrators(self) -> list[OrchestratorView]:
        """The orchestrators that are active this round and can be paid, largest stake first."""
        return [o for o in self.orchestrators() if o.active]
