"""Property tests on the money: nothing appears or disappears, and splits follow the terms to the wei."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from .conftest import ETH, LPT, Chain
from .model import PPM, PoolModel, fee_split, fees_for

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
        model = PoolModel(total_stake=own + sum(delegated), total_shares=sum(shares.values()))
        mintable = chain.minter.functions.currentMintableTokens().call()
        total_active = chain.bonding.functions.currentRoundTotalActiveStake().call()
        chain.tx(chain.bonding.functions.reward(), o.address)
        minted = mintable * model.total_stake // total_active
        shares[o.address] += model.reward(minted, reward_cut)
        assert chain.bonding.functions.transcoderTotalStake(o.address).call() == model.total_stake
        values = {x: chain.bonding.functions.pendingStake(x).call() for x in shares}
        assert values == {x: model.stake_of(s) for x, s in shares.items()}
        # delegators' stakes add up to the pool's, short by at most one wei each (rounding down)
        assert 0 <= model.total_stake - sum(values.values()) <= len(values)


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
        shares = {x: _shares(chain, x) for x in [o.address, *(d.address for d in ds)]}
        total_shares = sum(shares.values())
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
        assert 0 <= sum(fees) - len(fees) - sum(got.values()) <= len(shares) * len(fees)


OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "bond",
                "unbond",
                "rebond",
                "withdraw_stake",
                "reward",
                "ticket",
                "ticket",
                "withdraw_fees",
                "round",
                "slash",
                "sender_exit",
            ]
        ),
        st.integers(min_value=0, max_value=4),  # which actor
        st.integers(min_value=1, max_value=PPM),  # a size, in ppm of what is available
    ),
    min_size=12,
    max_size=30,
)


def _try(chain: Chain, fn: Any, sender: str, value: int = 0) -> bool:
    try:
        chain.tx(fn, sender, value)
    except Exception:  # a refused operation must leave the books as they were, which the asserts check
        return False
    return True


@SETTINGS
@given(ops=OPS, cuts=st.lists(ppm, min_size=4, max_size=4))
def test_no_lpt_or_eth_appears_or_disappears(
    chain_session: Chain, ops: list[tuple[str, int, int]], cuts: list[int]
) -> None:
    chain = chain_session
    with chain.isolated():
        chain.tx(chain.bonding.functions.setUnbondingPeriod(1), chain.owner)  # so withdrawStake happens too
        supply0 = chain.token.functions.totalSupply().call()
        minter_eth0 = chain.w3.eth.get_balance(chain.minter.address)
        orchestrators = [chain.register(1000 * LPT, cuts[0], cuts[1]), chain.register(700 * LPT, cuts[2], cuts[3])]
        delegators = [chain.new_account(lpt=500 * LPT) for _ in range(3)]
        sender = chain.new_account(eth=1000 * ETH)
        # a small deposit, so that later tickets are paid from the reserve
        chain.tx(
            chain.broker.functions.fundDepositAndReserve(ETH // 2, 9 * ETH + ETH // 2), sender.address, value=10 * ETH
        )
        chain.next_round()
        bonded_lpt = 1700 * LPT
        nonce = 0
        for op, who, size in ops:
            d = delegators[who % 3]
            o = orchestrators[who % 2]
            if op == "bond":
                balance = chain.token.functions.balanceOf(d.address).call()
                if balance:
                    _try(chain, chain.bonding.functions.bond(max(1, balance * size // PPM), o.address), d.address)
            elif op == "unbond":
                stake = chain.bonding.functions.pendingStake(d.address).call()
                if stake:
                    _try(chain, chain.bonding.functions.unbond(max(1, stake * size // PPM)), d.address)
            elif op == "rebond":
                _try(chain, chain.bonding.functions.rebond(0), d.address)
            elif op == "withdraw_stake":
                _try(chain, chain.bonding.functions.withdrawStake(0), d.address)
            elif op == "reward":
                _try(chain, chain.bonding.functions.reward(), o.address)
            elif op == "ticket":
                nonce += 1
                face = ETH // 10 + ETH * size // PPM
                ticket, sig, rand = chain.make_ticket(sender, o.address, face, nonce=nonce)
                _try(chain, chain.broker.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand), o.address)
            elif op == "withdraw_fees":
                x = (d if who < 3 else o).address
                fees = chain.bonding.functions.pendingFees(x).call()
                if fees:
                    _try(chain, chain.bonding.functions.withdrawFees(x, max(1, fees * size // PPM)), x)
            elif op == "round":
                chain.next_round()
            elif op == "sender_exit":
                if _try(chain, chain.broker.functions.unlock(), sender.address):
                    chain.next_round()
                    chain.next_round()
                    _try(chain, chain.broker.functions.withdraw(), sender.address)
            elif op == "slash":
                _try(
                    chain, chain.bonding.functions.slashTranscoder(o.address, d.address, size // 10, size), chain.owner
                )

        minted = chain.minter.functions.currentMintedTokens().call()  # only this round's: recompute from events
        logs_minted = sum(
            e.args.amount
            for e in chain.minter.events.RewardMinted().get_logs(from_block=0)  # type: ignore[attr-defined]
        )
        burned = sum(e.args.amount for e in chain.minter.events.TokensBurned().get_logs(from_block=0))  # type: ignore[attr-defined]
        assert minted <= logs_minted
        # LPT: supply moves only by mint and burn; the Minter holds exactly the pools plus the open unbonding locks
        assert chain.token.functions.totalSupply().call() == supply0 + logs_minted - burned
        pools = sum(chain.bonding.functions.transcoderTotalStake(o.address).call() for o in orchestrators)
        locks = 0
        for d in delegators:
            for lock_id in range(chain.bonding.functions.getDelegator(d.address).call()[4]):
                locks += chain.bonding.functions.getUnbondingLock(d.address, lock_id).call()[0]
        assert chain.token.functions.balanceOf(chain.minter.address).call() == pools + locks
        assert pools + locks <= bonded_lpt + 1500 * LPT + logs_minted
        # every pool: its delegators' stakes add up to it, short by at most a wei per delegator
        for o in orchestrators:
            members = [
                x.address
                for x in [*delegators, o]
                if chain.bonding.functions.getDelegator(x.address).call()[0] == o.address
            ]
            held = sum(chain.bonding.functions.pendingStake(x).call() for x in members)
            total = chain.bonding.functions.transcoderTotalStake(o.address).call()
            assert 0 <= total - held <= len(members)
        # ETH: the Minter holds the sender's funds plus every credited fee not yet withdrawn
        deposit, _, reserve, _ = chain.broker.functions.getSenderInfo(sender.address).call()
        # both orchestrators' counters were primed to 1 when they registered
        credited = sum(chain.broker.functions.feeCounter(o.address).call() - 1 for o in orchestrators)
        withdrawn = sum(
            e.args.amount
            for e in chain.bonding.events.WithdrawFees().get_logs(from_block=0)  # type: ignore[attr-defined]
        )
        assert chain.w3.eth.get_balance(chain.minter.address) - minter_eth0 == deposit + reserve + credited - withdrawn
        exited = sum(
            e.args.deposit + e.args.reserve
            for e in chain.broker.events.Withdrawal().get_logs(from_block=0)  # type: ignore[attr-defined]
        )
        assert deposit + reserve + credited + exited == 10 * ETH
        owed = sum(chain.bonding.functions.pendingFees(x.address).call() for x in [*delegators, *orchestrators])
        assert 0 <= credited - withdrawn - owed <= 5 * (len(ops) + 1)
