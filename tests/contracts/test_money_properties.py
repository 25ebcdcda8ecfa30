"""Property tests on the money: rewards and fees split by the terms to the wei.

Conservation and the round rules under random sequences of every operation: test_protocol_state_machine.py.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from .conftest import ETH, LPT, Chain
from .model import PPM, UNOWNED_SHARES, PoolModel, fee_split, fees_for

pytestmark = pytest.mark.slow  # each example drives the chain through many transactions

SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # every example drives a chain: shrinking would take minutes, so a failure is reported as found
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    print_blob=True,
)
ppm = st.integers(min_value=0, max_value=PPM)
stakes = st.integers(min_value=1, max_value=10_000).map(lambda n: n * LPT + 12_345)


def _shares(chain: Chain, who: str) -> int:
    return int(chain.bonding.functions.getDelegator(who).call()[2])


@SETTINGS
@given(reward_cut=ppm, own=stakes, delegated=st.lists(stakes, min_size=1, max_size=3), other=stakes)
def test_reward_split_follows_reward_cut_to_the_wei(
    chain_session: Chain, reward_cut: int, own: int, delegated: list[int], other: int
) -> None:
    chain = chain_session
    with chain.isolated():
        o = chain.register(own, reward_cut=reward_cut)
        chain.register(other)
        ds = [chain.new_account(lpt=a) for a in delegated]
        for d, a in zip(ds, delegated, strict=True):
            chain.tx(chain.bonding.functions.bond(a, o.address), d.address)
        chain.next_round()
        shares = {x: _shares(chain, x) for x in [o.address, *(d.address for d in ds)]}
        model = PoolModel(total_stake=own + sum(delegated), total_shares=chain.pool_shares(o.address))
        mintable = chain.minter.functions.currentMintableTokens().call()
        total_active = chain.bonding.functions.currentRoundTotalActiveStake().call()
        chain.tx(chain.bonding.functions.reward(), o.address)
        minted = mintable * model.total_stake // total_active
        shares[o.address] += model.reward(minted, reward_cut)
        assert chain.bonding.functions.transcoderTotalStake(o.address).call() == model.total_stake
        values = {x: chain.bonding.functions.pendingStake(x).call() for x in shares}
        assert values == {x: model.stake_of(s) for x, s in shares.items()}
        # delegators' stakes add up to the pool's, short by at most one wei each (rounding down)
        # delegators' stakes add up to the pool's, short by the unowned shares' part and a wei per delegator
        unowned = -(-UNOWNED_SHARES * model.total_stake // model.total_shares)
        assert 0 <= model.total_stake - sum(values.values()) <= unowned + len(values)


@SETTINGS
@given(
    fee_share=ppm,
    own=stakes,
    delegated=st.lists(stakes, min_size=1, max_size=3),
    fees=st.lists(st.integers(min_value=1, max_value=10**18), min_size=1, max_size=3),
)
def test_fee_split_follows_fee_share_to_the_wei(
    chain_session: Chain, fee_share: int, own: int, delegated: list[int], fees: list[int]
) -> None:
    chain = chain_session
    with chain.isolated():
        o = chain.register(own, fee_share=fee_share)
        ds = [chain.new_account(lpt=a) for a in delegated]
        for d, a in zip(ds, delegated, strict=True):
            chain.tx(chain.bonding.functions.bond(a, o.address), d.address)
        chain.next_round()  # the stake and the terms count from the next round
        shares = {x: _shares(chain, x) for x in [o.address, *(d.address for d in ds)]}
        total_shares = chain.pool_shares(o.address)
        # The orchestrator withdraws one wei after each ticket: only cases where it has earned that wei by
        # then (with feeShare near 100% and a fee of a few wei, its part of a ticket rounds down to nothing,
        # and the contract rightly refuses to pay out what is not there).
        earned = 0
        for fee in fees:
            increment, cut = fee_split(fee, fee_share, total_shares)
            earned += cut + fees_for(shares[o.address], increment)
            assume(earned >= 1)
            earned -= 1
        s = chain.new_account(eth=10 * ETH)
        chain.tx(chain.broker.functions.fundDeposit(), s.address, value=sum(fees))
        own_fees, factor = 0, 0
        for n, fee in enumerate(fees):
            ticket, sig, rand = chain.make_ticket(s, o.address, fee, nonce=n)
            chain.redeem(ticket, sig, rand)
            # the orchestrator's withdrawal sweeps each ticket's fee on its own and settles its share each time;
            # the delegators settle once, over the summed factor (one rounding, never less than per-ticket ones)
            increment, cut = fee_split(fee, fee_share, total_shares)
            factor += increment
            own_fees += cut + fees_for(shares[o.address], increment) - 1
            chain.tx(chain.bonding.functions.withdrawFees(o.address, 1), o.address)
        expected = {x: fees_for(sh, factor) for x, sh in shares.items()}
        expected[o.address] = own_fees
        got = {x: chain.bonding.functions.pendingFees(x).call() for x in shares}
        assert got == expected
        # short by the unowned shares' part and at most a wei per delegator per fee
        unowned = fees_for(UNOWNED_SHARES, factor) + len(fees)
        assert 0 <= sum(fees) - len(fees) - sum(got.values()) <= unowned + len(shares) * len(fees)
