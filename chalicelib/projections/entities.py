"""Which projected entities an event changes: the one place that knows what each protocol event touches.

The reorg and restart guarantees rest on this map being complete: every change to a projected field is
announced by an event that names the entity. The contracts were read for it (``contracts/src``):

- BondingManager: stake changes emit ``StakeUpdate``; joining and leaving the active set emit
  ``TranscoderActivated``/``TranscoderDeactivated``; terms ``TranscoderUpdate``; registration (self-bond)
  changes come with ``Bond``/``Unbond``/``Rebond``/``TranscoderSlashed`` naming the delegate.
- TicketBroker: every change to a sender's deposit, reserve or unlock names the sender; a reserve claim
  (``ReserveClaimed``) names the sender and the claimant; a redemption (``WinningTicketRedeemed``) names the
  recipient too, whose credit (``recipientCredit``) only it changes.
- RoundsManager: ``NewRound`` (initialization: block hash, active-set size) and ``ParameterUpdate`` (round
  length); ServiceRegistry: ``ServiceURIUpdate`` and ``PriceUpdate``.
"""

from __future__ import annotations

from chalicelib.chain.event_record import ChainEvent
from chalicelib.projections.models import (
    BROKER_KEY,
    CLOCK_KEY,
    claim_key,
    orchestrator_key,
    round_key,
    sender_key,
)

ZERO_ADDRESS = "0x" + "00" * 20

#: The contracts whose logs the poller reads (the token's transfers and the timelock's calls change nothing
#: projected, and would only fill the queue).
WATCHED_CONTRACTS: tuple[str, ...] = ("BondingManager", "TicketBroker", "RoundsManager", "ServiceRegistry")

_ORCHESTRATOR_EVENTS = {
    "TranscoderUpdate",
    "TranscoderActivated",
    "TranscoderDeactivated",
    "TranscoderSlashed",
    "Reward",
    "StakeUpdate",
    "FeesSwept",
}
_SENDER_EVENTS = {"DepositFunded", "ReserveFunded", "Unlock", "UnlockCancelled", "Withdrawal"}


def _orchestrators(*addresses: str) -> list[str]:
    return [orchestrator_key(a) for a in addresses if a and a.lower() != ZERO_ADDRESS]


def touched(event: ChainEvent) -> list[str]:
    """The keys of the entities ``event`` changes (none for events nothing projected depends on)."""
    a, name = event.args, event.event
    if event.contract == "BondingManager":
        if name in _ORCHESTRATOR_EVENTS:
            return _orchestrators(a["transcoder"])
        if name == "Bond":
            return _orchestrators(a["newDelegate"], a["oldDelegate"])
        if name in {"Unbond", "Rebond"}:
            return _orchestrators(a["delegate"])
    elif event.contract == "TicketBroker":
        if name in _SENDER_EVENTS:
            return [sender_key(a["reserveHolder"] if name == "ReserveFunded" else a["sender"])]
        if name == "WinningTicketRedeemed":  # what it takes from the reserve comes with its own ReserveClaimed
            return [sender_key(a["sender"]), *_orchestrators(a["recipient"])]
        if name == "ReserveClaimed":
            return [sender_key(a["reserveHolder"]), claim_key(a["reserveHolder"], a["claimant"])]
        if name == "ParameterUpdate":
            return [BROKER_KEY]
    elif event.contract == "RoundsManager":
        if name == "NewRound":
            return [CLOCK_KEY, round_key(int(a["round"]))]
        if name == "ParameterUpdate":
            return [CLOCK_KEY]
    elif event.contract == "ServiceRegistry" and name in {"ServiceURIUpdate", "PriceUpdate"}:
        return _orchestrators(a["addr"])
    return []
