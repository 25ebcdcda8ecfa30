"""What staking writes need beside the call itself: the delegator's position, an LPT approval when the current one
is too small, and the active-set hints for the stake each change will leave (stale hints still work, they only
cost the contract a walk of the list)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress
from web3 import Web3

from chalicelib.chain.pool_hints import ZERO_ADDRESS, find_hints
from chalicelib.chain.protocol import Protocol
from lpcli.progress import Progress
from lpcli.units import format_token

Pool = list[tuple[ChecksumAddress, int]]
Hints = tuple[ChecksumAddress, ChecksumAddress]


@dataclass(frozen=True)
class Position:
    """A delegator's place in the BondingManager now."""

    delegate: ChecksumAddress  # the zero address when unbonded
    bonded: int  # LPT base units, rewards and pending stake included
    fees: int  # ETH wei withdrawable now
    next_lock_id: int

    @property
    def is_bonded(self) -> bool:
        """Whether it is bonded to anyone."""
        return self.delegate != ZERO_ADDRESS


@dataclass(frozen=True)
class UnbondingLock:
    """Stake on its way out: withdrawable from ``withdraw_round``."""

    id: int
    amount: int
    withdraw_round: int


def position(protocol: Protocol, who: str) -> Position:
    """``who``'s delegate, bonded stake, fees and next unbonding-lock id."""
    delegate, bonded, _shares, fees, next_id = protocol.bonding.functions.getDelegator(who).call()
    return Position(Web3.to_checksum_address(delegate), int(bonded), int(fees), int(next_id))


def unbonding_locks(protocol: Protocol, who: str, next_lock_id: int) -> list[UnbondingLock]:
    """``who``'s unbonding locks that still hold stake (withdrawn and rebonded ones are gone)."""
    locks = []
    for lock_id in range(next_lock_id):
        amount, withdraw_round = protocol.bonding.functions.getUnbondingLock(who, lock_id).call()
        if amount:
            locks.append(UnbondingLock(lock_id, int(amount), int(withdraw_round)))
    return locks


def total_stake(protocol: Protocol, orchestrator: str) -> int:
    """Everything bonded to ``orchestrator``, pending stake included (its key in the active set)."""
    return int(protocol.bonding.functions.transcoderTotalStake(orchestrator).call())


def with_stake(pool: Pool, member: ChecksumAddress, stake: int) -> Pool:
    """``pool`` with ``member`` at ``stake`` (left out at 0), largest stake first."""
    rest = [(m, s) for m, s in pool if m != member]
    if stake > 0:
        rest.append((member, stake))
    return sorted(rest, key=lambda item: item[1], reverse=True)


def hints_for(pool: Pool, member: ChecksumAddress, new_stake: int) -> Hints:
    """``(prev, next)`` for ``member`` at ``new_stake``; zeros when it is not in the pool (nothing to move)."""
    return find_hints(pool, member, new_stake) if new_stake > 0 else (ZERO_ADDRESS, ZERO_ADDRESS)


def bond_hints(protocol: Protocol, me: ChecksumAddress, amount: int, to: ChecksumAddress) -> tuple[Hints, Hints]:
    """Hints for ``bondWithHint(amount, to, ...)``: the old delegate's (if the stake moves) and ``to``'s."""
    pool = protocol.transcoder_pool()
    stakes = dict(pool)
    now = position(protocol, me)
    moved = 0
    old: Hints = (ZERO_ADDRESS, ZERO_ADDRESS)
    if now.is_bonded and now.delegate != to:
        moved = now.bonded
        if now.delegate in stakes:
            old_stake = stakes[now.delegate] - moved
            old = hints_for(pool, now.delegate, old_stake)
            pool = with_stake(pool, now.delegate, old_stake)
    new_stake = stakes.get(to, total_stake(protocol, to)) + amount + moved
    return old, find_hints(pool, to, new_stake)


def stake_change_hints(protocol: Protocol, delegate: ChecksumAddress, change: int) -> Hints:
    """Hints for ``delegate``'s pool after its stake changes by ``change`` (unbond: negative, rebond: positive)."""
    pool = protocol.transcoder_pool()
    stakes = dict(pool)
    if delegate not in stakes:
        return ZERO_ADDRESS, ZERO_ADDRESS
    return hints_for(pool, delegate, stakes[delegate] + change)


def ensure_allowance(progress: Progress, protocol: Protocol, amount: int) -> None:
    """Approve the BondingManager to take ``amount`` LPT from the signer, unless it already may."""
    token = protocol.contract("LivepeerToken")
    spender = protocol.bonding.address
    allowance = int(token.functions.allowance(progress.address, spender).call())
    label = f"approve {format_token(amount, 'LPT')} to the BondingManager"
    if allowance >= amount:
        progress.skip(label, f"already approved ({format_token(allowance, 'LPT')})")
        return
    progress.send(label, token.functions.approve(spender, amount))
