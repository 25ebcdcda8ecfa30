"""Round automation: what an orchestrator's deployment does once per round, on a schedule.

When a round has begun and nobody initialized it yet, initialize it (tickets and staking wait for that);
then, if this key is an active orchestrator that has not called ``reward()`` this round, call it. Both
steps read the chain first, so running the schedule twice in a round sends nothing the second time, and
a race with another caller (someone initialized the round a moment earlier) is an answer, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_utils.address import to_checksum_address
from web3.contract.contract import ContractFunction

from chalicelib.chain.protocol import Protocol
from chalicelib.chain.transactions import ChainReverted, Sent, TxSender
from chalicelib.core.logs import logger

#: Reverts that mean someone else already did the duty this round.
_ALREADY_DONE = ("round already initialized", "already called reward for the current round")


@dataclass(frozen=True)
class RoundDuties:
    """What one run did: the round, and the transactions it sent (None: nothing to do)."""

    round: int
    initialized: Sent | None
    rewarded: Sent | None
    minted: int  # LPT wei the reward minted for the pool


def perform_round_duties(protocol: Protocol, tx: TxSender) -> RoundDuties:
    """Initialize the current round if needed, then call ``reward()`` for this key if it is due."""
    me = to_checksum_address(tx.address)
    round_ = protocol.current_round()
    initialized = ensure_round_initialized(protocol, tx)
    rewarded, minted = None, 0
    due = protocol.current_round_initialized() and protocol.is_active_transcoder(me)
    if due and protocol.transcoder(me).last_reward_round < round_:
        rewarded = _unless_done(
            tx, protocol.reward(me), "reward", lambda: protocol.transcoder(me).last_reward_round >= round_
        )
        if rewarded is not None:
            events = protocol.bonding.events.Reward().get_logs(
                from_block=rewarded.block_number, to_block=rewarded.block_number, argument_filters={"transcoder": me}
            )
            minted = sum(int(e["args"]["amount"]) for e in events)
            logger.info("reward called", round=round_, minted=minted, tx=rewarded.tx_hash, gas=rewarded.gas_used)
    return RoundDuties(round_, initialized, rewarded, minted)


def ensure_round_initialized(protocol: Protocol, tx: TxSender) -> Sent | None:
    """Initialize the current round unless it is; return the transaction, or None if none was needed."""
    if protocol.current_round_initialized():
        return None
    sent = _unless_done(tx, protocol.initialize_round(), "initializeRound", protocol.current_round_initialized)
    if sent is not None:
        logger.info("round initialized", round=protocol.current_round(), tx=sent.tx_hash, gas=sent.gas_used)
    return sent


def _unless_done(tx: TxSender, fn: ContractFunction, what: str, done: Callable[[], bool]) -> Sent | None:
    """Send ``fn``; None if it reverts because someone did it first (its reason says so, or, for a revert
    mined without a reason, ``done()`` now holds)."""
    try:
        return tx.send(fn)
    except ChainReverted as error:
        if any(reason in error.message for reason in _ALREADY_DONE) or done():
            logger.info(f"{what}: already done this round")
            return None
        raise
