"""The BondingManager's money rules in plain integers: what the contract must match to the wei.

Rounding (the contract's, stated once): every division rounds down, except the shares burned on unbond and
slash, which round up. A reward's cut is ``minted × rewardCut // PPM``; the rest raises the share price; the
cut is turned into shares at the new price (rounded down, the remainder staying with the pool). A fee's pool
part is ``fee × feeShare // PPM``; the per-share factor is that × 1e27 // totalShares; the pool is charged
ceil(factor × totalShares / 1e27) and the orchestrator's cut is the rest, so delegators who settle over summed
factors are always covered.
"""

from __future__ import annotations

from dataclasses import dataclass

PPM = 1_000_000
FEE_FACTOR_PRECISION = 10**27
UNOWNED_SHARES = 10**12  # issued to nobody with a pool's first shares, never burned (PoolAccounting)


@dataclass
class PoolModel:
    total_stake: int
    total_shares: int

    def stake_of(self, shares: int) -> int:
        return 0 if self.total_shares == 0 else shares * self.total_stake // self.total_shares

    def reward(self, minted: int, reward_cut: int) -> int:
        """Apply a reward; return the shares the orchestrator's cut bought."""
        cut = minted * reward_cut // PPM
        self.total_stake += minted - cut
        cut_shares = cut * self.total_shares // self.total_stake
        self.total_shares += cut_shares
        self.total_stake += cut
        return cut_shares


def fee_split(fee: int, fee_share: int, total_shares: int) -> tuple[int, int]:
    """(factor increment, orchestrator's cut) for ``fee`` wei swept into a pool."""
    if total_shares == 0:
        return 0, fee
    increment = (fee * fee_share // PPM) * FEE_FACTOR_PRECISION // total_shares
    return increment, fee - -(-increment * total_shares // FEE_FACTOR_PRECISION)  # pool part rounded up


def fees_for(shares: int, increment: int) -> int:
    return shares * increment // FEE_FACTOR_PRECISION
