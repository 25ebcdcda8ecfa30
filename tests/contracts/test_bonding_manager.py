"""BondingManager: bonding, unbonding, the active set, rewards, fees and slashing."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from .conftest import ETH, LPT, Chain, reverts
from .model import PPM, UNOWNED_SHARES, PoolModel, fee_split, fees_for

ZERO = "0x" + "00" * 20


def _total(chain: Chain, t: str) -> int:
    return int(chain.bonding.functions.transcoderTotalStake(t).call())


def _pool(chain: Chain) -> list[str]:
    out, cur = [], chain.bonding.functions.getFirstTranscoderInPool().call()
    while cur != ZERO:
        out.append(cur)
        cur = chain.bonding.functions.getNextTranscoderInPool(cur).call()
    return out


def _events(contract_event: object, receipt: object) -> list[object]:
    return list(contract_event().process_receipt(receipt, errors=DISCARD))  # type: ignore[operator]


# ------------------------------------------------------------------------------------------------ bonding


def test_self_bond_registers_and_joins_the_active_set_next_round(chain: Chain) -> None:
    o = chain.new_account(lpt=1000 * LPT)
    r = chain.current_round()
    receipt = chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), o.address)
    (activated,) = _events(chain.bonding.events.TranscoderActivated, receipt)
    assert activated.args.activationRound == r + 1  # type: ignore[attr-defined]
    assert chain.bonding.functions.isRegisteredTranscoder(o.address).call()
    assert chain.bonding.functions.isInTranscoderPool(o.address).call()
    assert not chain.bonding.functions.isActiveTranscoder(o.address).call()
    assert chain.bonding.functions.nextRoundTotalActiveStake().call() == 1000 * LPT
    assert chain.token.functions.balanceOf(chain.minter.address).call() == 1000 * LPT
    chain.next_round()
    assert chain.bonding.functions.isActiveTranscoder(o.address).call()
    assert chain.bonding.functions.getTotalBonded().call() == 1000 * LPT


def test_delegator_bonds_to_a_registered_orchestrator(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    receipt = chain.tx(chain.bonding.functions.bond(300 * LPT, o.address), d.address)
    (bond,) = _events(chain.bonding.events.Bond, receipt)
    assert bond.args.newDelegate == o.address and bond.args.bondedAmount == 300 * LPT  # type: ignore[attr-defined]
    assert chain.stake(d.address) == 300 * LPT
    assert _total(chain, o.address) == 1300 * LPT
    delegate, bonded, _, fees, _ = chain.bonding.functions.getDelegator(d.address).call()
    assert (delegate, bonded, fees) == (o.address, 300 * LPT, 0)
    assert chain.bonding.functions.nextRoundTotalActiveStake().call() == 1300 * LPT


def test_bonding_zero_moves_the_whole_stake_to_a_new_delegate(chain: Chain) -> None:
    a, b = chain.register(1000 * LPT), chain.register(800 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    chain.tx(chain.bonding.functions.bond(300 * LPT, a.address), d.address)
    chain.tx(chain.bonding.functions.bond(0, b.address), d.address)
    assert (_total(chain, a.address), _total(chain, b.address)) == (1000 * LPT, 1100 * LPT)
    assert chain.stake(d.address) == 300 * LPT
    assert _pool(chain) == [b.address, a.address]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("unregistered", "delegate must be a registered transcoder"),
        ("zero", "bond amount must be greater than 0"),
        ("null", "delegate is null address"),
        ("transcoder-delegates", "registered transcoders can't delegate towards other addresses"),
        ("uninitialized", "current round is not initialized"),
        ("paused", "system is paused"),
    ],
)
def test_reverts_when_bond_is_not_allowed(chain: Chain, setup: str, reason: str) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=10 * LPT)
    to, amount, sender = o.address, 10 * LPT, d.address
    if setup == "unregistered":
        to = chain.new_account().address
    elif setup == "zero":
        amount = 0
    elif setup == "null":
        to = ZERO
    elif setup == "transcoder-delegates":
        to, sender = chain.register(10 * LPT).address, o.address
    elif setup == "uninitialized":
        chain.next_round(initialize=False)
    elif setup == "paused":
        chain.govern(chain.controller.functions.pause())
    with reverts(reason):
        chain.tx(chain.bonding.functions.bond(amount, to), sender)


def test_unbond_then_withdraw_stake_after_the_unbonding_period(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    chain.tx(chain.bonding.functions.bond(300 * LPT, o.address), d.address)
    r = chain.current_round()
    receipt = chain.tx(chain.bonding.functions.unbond(100 * LPT), d.address)
    (ev,) = _events(chain.bonding.events.Unbond, receipt)
    assert (ev.args.unbondingLockId, ev.args.amount, ev.args.withdrawRound) == (0, 100 * LPT, r + 7)  # type: ignore[attr-defined]
    assert chain.stake(d.address) == 200 * LPT and _total(chain, o.address) == 1200 * LPT
    assert chain.bonding.functions.getUnbondingLock(d.address, 0).call() == [100 * LPT, r + 7]
    with reverts("withdraw round must be before or equal to the current round"):
        chain.tx(chain.bonding.functions.withdrawStake(0), d.address)
    for _ in range(7):
        chain.next_round()
    chain.tx(chain.bonding.functions.withdrawStake(0), d.address)
    assert chain.token.functions.balanceOf(d.address).call() == 100 * LPT
    with reverts("invalid unbonding lock ID"):
        chain.tx(chain.bonding.functions.withdrawStake(0), d.address)


@pytest.mark.parametrize(
    ("amount", "reason"),
    [(0, "unbond amount must be greater than 0"), (301 * LPT, "amount is greater than bonded amount")],
)
def test_reverts_when_unbond_amount_is_wrong(chain: Chain, amount: int, reason: str) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    chain.tx(chain.bonding.functions.bond(300 * LPT, o.address), d.address)
    with reverts(reason):
        chain.tx(chain.bonding.functions.unbond(amount), d.address)


def test_reverts_when_unbonded_caller_unbonds_or_rebonds(chain: Chain) -> None:
    d = chain.new_account()
    with reverts("caller must be bonded"):
        chain.tx(chain.bonding.functions.unbond(1), d.address)
    with reverts("caller must be bonded"):
        chain.tx(chain.bonding.functions.rebond(0), d.address)


def test_rebond_puts_a_lock_back_with_the_delegate(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    chain.tx(chain.bonding.functions.bond(300 * LPT, o.address), d.address)
    chain.tx(chain.bonding.functions.unbond(100 * LPT), d.address)
    chain.tx(chain.bonding.functions.rebond(0), d.address)
    assert chain.stake(d.address) == 300 * LPT and _total(chain, o.address) == 1300 * LPT
    with reverts("invalid unbonding lock ID"):
        chain.tx(chain.bonding.functions.rebond(0), d.address)


def test_rebond_from_unbonded_to_a_new_delegate(chain: Chain) -> None:
    a, b = chain.register(1000 * LPT), chain.register(500 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    chain.tx(chain.bonding.functions.bond(300 * LPT, a.address), d.address)
    chain.tx(chain.bonding.functions.unbond(300 * LPT), d.address)
    assert chain.bonding.functions.getDelegator(d.address).call()[0] == ZERO
    with reverts("caller must be bonded"):
        chain.tx(chain.bonding.functions.rebond(0), d.address)
    chain.tx(chain.bonding.functions.rebondFromUnbonded(b.address, 0), d.address)
    assert chain.stake(d.address) == 300 * LPT and _total(chain, b.address) == 800 * LPT
    with reverts("caller must be unbonded"):
        chain.tx(chain.bonding.functions.rebondFromUnbonded(b.address, 0), d.address)


def test_orchestrator_that_unbonds_its_whole_self_bond_resigns(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=300 * LPT)
    chain.tx(chain.bonding.functions.bond(300 * LPT, o.address), d.address)
    receipt = chain.tx(chain.bonding.functions.unbond(chain.stake(o.address)), o.address)
    assert _events(chain.bonding.events.TranscoderDeactivated, receipt)
    assert not chain.bonding.functions.isRegisteredTranscoder(o.address).call()
    assert not chain.bonding.functions.isInTranscoderPool(o.address).call()
    assert chain.bonding.functions.nextRoundTotalActiveStake().call() == 0
    assert chain.stake(d.address) == 300 * LPT  # the delegator keeps its stake and may leave
    chain.tx(chain.bonding.functions.unbond(300 * LPT), d.address)


def test_a_slashed_orchestrator_is_inactive_at_once(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    verifier = chain.new_account()
    chain.set_verifier(verifier.address)
    chain.next_round()
    assert chain.bonding.functions.isActiveTranscoder(o.address).call()
    chain.tx(chain.bonding.functions.slashTranscoder(o.address, ZERO), verifier.address)
    assert not chain.bonding.functions.isActiveTranscoder(o.address).call()
    with reverts("caller must be an active transcoder"):
        chain.tx(chain.bonding.functions.reward(), o.address)
    chain.next_round(initialize=False)
    with reverts("current round is not initialized"):
        chain.tx(chain.bonding.functions.slashTranscoder(o.address, ZERO), verifier.address)


# ------------------------------------------------------------------------------------------------ terms


def test_transcoder_sets_its_terms_for_the_next_round(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    receipt = chain.tx(chain.bonding.functions.transcoder(50_000, 600_000), o.address)
    (ev,) = _events(chain.bonding.events.TranscoderUpdate, receipt)
    assert (ev.args.rewardCut, ev.args.feeShare) == (50_000, 600_000)  # type: ignore[attr-defined]
    assert chain.bonding.functions.getTranscoderTerms(o.address).call() == [0, 0, 50_000, 600_000]
    chain.next_round()
    info = chain.bonding.functions.getTranscoder(o.address).call()
    assert (info[2], info[3]) == (50_000, 600_000)
    assert chain.bonding.functions.getTranscoderTerms(o.address).call() == [50_000, 600_000, 50_000, 600_000]


@pytest.mark.parametrize(
    ("cut", "share", "reason"),
    [
        (PPM + 1, 0, "invalid rewardCut percentage"),
        (0, PPM + 1, "invalid feeShare percentage"),
        (0, 0, "transcoder must be registered"),
    ],
)
def test_reverts_when_transcoder_terms_are_invalid(chain: Chain, cut: int, share: int, reason: str) -> None:
    o = chain.register(1000 * LPT) if reason != "transcoder must be registered" else chain.new_account()
    with reverts(reason):
        chain.tx(chain.bonding.functions.transcoder(cut, share), o.address)


def test_reverts_when_transcoder_terms_change_in_the_locked_tail_of_a_round(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    chain.mine_into_lock()
    with reverts("current round is locked"):
        chain.tx(chain.bonding.functions.transcoder(1, 1), o.address)


# ------------------------------------------------------------------------------------------------ active set


def test_active_set_keeps_the_top_n_by_stake(chain: Chain) -> None:
    chain.govern(chain.bonding.functions.setNumActiveTranscoders(3))
    a, b, c = chain.register(300 * LPT), chain.register(200 * LPT), chain.register(100 * LPT)
    assert _pool(chain) == [a.address, b.address, c.address]
    small = chain.register(50 * LPT)  # not above the smallest member: stays out
    assert not chain.bonding.functions.isInTranscoderPool(small.address).call()
    big = chain.new_account(lpt=250 * LPT)
    receipt = chain.tx(chain.bonding.functions.bond(250 * LPT, big.address), big.address)
    (out,) = _events(chain.bonding.events.TranscoderDeactivated, receipt)
    assert out.args.transcoder == c.address  # type: ignore[attr-defined]
    assert _pool(chain) == [a.address, big.address, b.address]
    assert chain.bonding.functions.nextRoundTotalActiveStake().call() == 750 * LPT
    with reverts("numActiveTranscoders must be at least the pool size"):
        chain.govern(chain.bonding.functions.setNumActiveTranscoders(2))


def test_hints_place_a_stake_change_and_stale_hints_still_work(chain: Chain) -> None:
    a, b, c = chain.register(300 * LPT), chain.register(200 * LPT), chain.register(100 * LPT)
    d = chain.new_account(lpt=500 * LPT)
    # c rises between a and b: correct hints (prev=a, next=b)
    chain.tx(chain.bonding.functions.bondWithHint(150 * LPT, c.address, ZERO, ZERO, a.address, b.address), d.address)
    assert _pool(chain) == [a.address, c.address, b.address]
    # b rises to the top with stale hints (prev=c, next=ZERO): the list walks and still sorts
    d2 = chain.new_account(lpt=500 * LPT)
    chain.tx(chain.bonding.functions.bondWithHint(200 * LPT, b.address, ZERO, ZERO, c.address, ZERO), d2.address)
    assert _pool(chain) == [b.address, a.address, c.address]
    stakes = [_total(chain, t) for t in _pool(chain)]
    assert stakes == sorted(stakes, reverse=True)


# ------------------------------------------------------------------------------------------------ rewards


def test_reward_mints_the_stake_share_of_mintable_and_splits_by_reward_cut(chain: Chain) -> None:
    o = chain.register(1000 * LPT, reward_cut=100_000)
    other = chain.register(3000 * LPT)
    d = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), d.address)
    chain.next_round()
    mintable = chain.minter.functions.currentMintableTokens().call()
    total_active = chain.bonding.functions.currentRoundTotalActiveStake().call()
    assert total_active == 5000 * LPT
    _, _, o_shares, _, _ = chain.bonding.functions.getDelegator(o.address).call()
    _, _, d_shares, _, _ = chain.bonding.functions.getDelegator(d.address).call()
    model = PoolModel(total_stake=2000 * LPT, total_shares=chain.pool_shares(o.address))
    receipt = chain.tx(chain.bonding.functions.reward(), o.address)
    minted = mintable * 2000 * LPT // total_active
    (ev,) = _events(chain.bonding.events.Reward, receipt)
    assert ev.args.amount == minted  # type: ignore[attr-defined]
    cut_shares = model.reward(minted, 100_000)
    assert _total(chain, o.address) == model.total_stake == 2000 * LPT + minted
    assert chain.stake(o.address) == model.stake_of(o_shares + cut_shares)
    assert chain.stake(d.address) == model.stake_of(d_shares)
    assert chain.token.functions.balanceOf(chain.minter.address).call() == 5000 * LPT + minted
    with reverts("caller has already called reward for the current round"):
        chain.tx(chain.bonding.functions.reward(), o.address)
    chain.tx(chain.bonding.functions.reward(), other.address)
    assert chain.minter.functions.currentMintedTokens().call() == minted + mintable * 3000 * LPT // total_active


def test_reverts_when_inactive_orchestrator_calls_reward(chain: Chain) -> None:
    o = chain.register(1000 * LPT)  # active only from next round
    with reverts("caller must be an active transcoder"):
        chain.tx(chain.bonding.functions.reward(), o.address)


def test_reward_uses_the_stake_at_the_start_of_the_round(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    chain.next_round()
    d = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), d.address)  # counts from next round
    mintable = chain.minter.functions.currentMintableTokens().call()
    receipt = chain.tx(chain.bonding.functions.reward(), o.address)
    (ev,) = _events(chain.bonding.events.Reward, receipt)
    assert ev.args.amount == mintable  # its whole start-of-round stake is the whole active stake  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ fees


def test_fees_split_by_fee_share_to_the_wei_and_are_withdrawable(chain: Chain) -> None:
    o = chain.register(1000 * LPT, fee_share=333_333)
    d = chain.new_account(lpt=777 * LPT)
    chain.tx(chain.bonding.functions.bond(777 * LPT, o.address), d.address)
    chain.next_round()  # bonded stake and new terms count from the next round
    _, _, o_shares, _, _ = chain.bonding.functions.getDelegator(o.address).call()
    _, _, d_shares, _, _ = chain.bonding.functions.getDelegator(d.address).call()
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    fee = 10**16 + 7
    ticket, sig, rand = chain.make_ticket(s, o.address, fee)
    chain.redeem(ticket, sig, rand)
    increment, cut = fee_split(fee, 333_333, chain.pool_shares(o.address))
    o_fees = cut + fees_for(o_shares, increment)
    d_fees = fees_for(d_shares, increment)
    assert chain.bonding.functions.pendingFees(o.address).call() == o_fees
    assert chain.bonding.functions.pendingFees(d.address).call() == d_fees
    # what the unowned shares' part of the fee leaves in the pool, plus at most one wei per delegator
    assert o_fees + d_fees <= fee <= o_fees + d_fees + fees_for(UNOWNED_SHARES, increment) + 2
    payee = chain.new_account(eth=0)
    receipt = chain.tx(chain.bonding.functions.withdrawFees(payee.address, d_fees), d.address)
    assert chain.w3.eth.get_balance(payee.address) == d_fees
    assert _events(chain.bonding.events.FeesSwept, receipt)
    assert chain.bonding.functions.pendingFees(d.address).call() == 0
    assert chain.bonding.functions.pendingFees(o.address).call() == o_fees
    with reverts("insufficient fees to withdraw"):
        chain.tx(chain.bonding.functions.withdrawFees(payee.address, 1), d.address)


def test_fees_earned_before_a_delegator_joins_are_not_shared_with_it(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT, fee_share=PPM)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, 10**16)
    chain.redeem(ticket, sig, rand)
    late = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), late.address)  # sweeps first
    assert chain.bonding.functions.pendingFees(late.address).call() == 0
    increment, cut = fee_split(10**16, PPM, chain.pool_shares(o.address))
    assert chain.bonding.functions.pendingFees(o.address).call() == cut + fees_for(chain.shares(o.address), increment)


# ------------------------------------------------------------------------------------------------ slashing


def test_verifier_slashes_burns_pays_the_finder_and_evicts(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account(lpt=500 * LPT)
    chain.tx(chain.bonding.functions.bond(500 * LPT, o.address), d.address)
    finder, verifier = chain.new_account(), chain.new_account()
    chain.set_verifier(verifier.address)
    chain.govern(chain.bonding.functions.setSlashing(100_000, 500_000))
    supply = chain.token.functions.totalSupply().call()
    receipt = chain.tx(chain.bonding.functions.slashTranscoder(o.address, finder.address), verifier.address)
    (ev,) = _events(chain.bonding.events.TranscoderSlashed, receipt)
    assert (ev.args.penalty, ev.args.finderReward) == (100 * LPT, 50 * LPT)  # type: ignore[attr-defined]
    assert chain.token.functions.balanceOf(finder.address).call() == 50 * LPT
    assert chain.token.functions.totalSupply().call() == supply - 50 * LPT
    assert chain.stake(o.address) == 900 * LPT and chain.stake(d.address) == 500 * LPT
    assert not chain.bonding.functions.isInTranscoderPool(o.address).call()
    assert chain.bonding.functions.nextRoundTotalActiveStake().call() == 0


def test_reverts_when_slasher_is_not_the_verifier(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    verifier = chain.new_account()
    with reverts("caller must be Verifier"):  # none registered: slashing is off
        chain.tx(chain.bonding.functions.slashTranscoder(o.address, ZERO), verifier.address)
    chain.set_verifier(verifier.address)
    with reverts("caller must be Verifier"):
        chain.tx(chain.bonding.functions.slashTranscoder(o.address, ZERO), o.address)


def test_slashing_an_address_with_no_stake_is_a_no_op(chain: Chain) -> None:
    nobody, verifier = chain.new_account(), chain.new_account()
    chain.set_verifier(verifier.address)
    receipt = chain.tx(chain.bonding.functions.slashTranscoder(nobody.address, ZERO), verifier.address)
    (ev,) = _events(chain.bonding.events.TranscoderSlashed, receipt)
    assert ev.args.penalty == 0  # type: ignore[attr-defined]


def test_reverts_when_parameters_are_set_by_others(chain: Chain) -> None:
    d = chain.new_account()
    with reverts("caller must be Controller owner"):
        chain.tx(chain.bonding.functions.setUnbondingPeriod(1), d.address)
    with reverts("caller must be RoundsManager"):
        chain.tx(chain.bonding.functions.setCurrentRoundTotalActiveStake(), d.address)
    with reverts("caller must be Controller owner"):
        chain.tx(chain.bonding.functions.setSlashing(0, 0), d.address)
    chain.govern(chain.bonding.functions.setUnbondingPeriod(3))
    assert chain.bonding.functions.unbondingPeriod().call() == 3


def test_reverts_when_a_bond_buys_no_share(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    chain.next_round()
    chain.tx(chain.bonding.functions.reward(), o.address)  # a share is now worth more than one wei
    d = chain.new_account(lpt=1)
    with reverts("bond amount too small"):
        chain.tx(chain.bonding.functions.bond(1, o.address), d.address)


def test_reverts_when_fees_go_to_an_address_that_refuses_eth(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, 10**16)
    chain.redeem(ticket, sig, rand)
    with reverts("ETH transfer failed"):  # the Controller has no receive function
        chain.tx(chain.bonding.functions.withdrawFees(chain.controller.address, 10**16), o.address)


def test_reverts_when_the_bonding_manager_may_not_take_the_tokens(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    d = chain.new_account()
    chain.tx(chain.token.functions.transfer(d.address, 10 * LPT), chain.owner)  # but no approval
    with pytest.raises(ContractCustomError):  # OpenZeppelin's ERC20InsufficientAllowance
        chain.tx(chain.bonding.functions.bond(10 * LPT, o.address), d.address)
    assert chain.stake(d.address) == 0
