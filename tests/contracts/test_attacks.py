"""Attacks on the protocol's economics, each run as an attacker would through public functions.

Every test runs the attack and an honest participant beside it, and asserts by outcome (stake, fees, balances)
that the attacker gains nothing and the honest participant earns its full share. One section per defect of
issue 7; the model in ``model.py`` gives the honest figures to the wei.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from chalicelib.chain.protocol import revert_code
from contracts.deploy import load_artifact

from .conftest import ETH, LPT, Chain, reverts
from .model import PPM, UNOWNED_SHARES, PoolModel, fee_split, fees_for

ZERO = "0x" + "00" * 20


def _funded_sender(chain: Chain, deposit: int = 10 * ETH, reserve: int = 0) -> LocalAccount:
    s = chain.new_account(eth=deposit + reserve + 10 * ETH)
    chain.tx(chain.broker.functions.fundDepositAndReserve(deposit, reserve), s.address, value=deposit + reserve)
    return s


def _replace_broker(chain: Chain, previous: str | None = None) -> Any:
    """Deploy a new TicketBroker that succeeds ``previous`` (the current one by default) and make it current
    through Governance."""
    artifact = load_artifact("TicketBroker")
    params = chain.deployment.params
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    predecessor = previous or chain.broker.address
    args = (chain.controller.address, params.unlock_period, params.ticket_validity_period, predecessor)
    receipt = chain.w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": chain.owner}))
    new = chain.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    chain.govern(chain.controller.functions.setContractInfo(Web3.keccak(text="TicketBroker"), new.address))
    return new


def _pay(chain: Chain, sender: LocalAccount, recipient: str, face: int, nonce: int) -> Any:
    ticket, sig, rand = chain.make_ticket(sender, recipient, face, nonce=nonce)
    return chain.redeem(ticket, sig, rand)


# ------------------------------------------------------------------------------------------------ 1. reward hopping


def test_stake_that_hops_between_pools_mid_round_earns_no_reward_while_honest_stake_earns_its_share(
    chain: Chain,
) -> None:
    a, b = chain.register(1000 * LPT), chain.register(1000 * LPT)
    honest = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, a.address), honest.address)
    chain.next_round()  # everything above is seasoned from here
    chain.next_round()
    attacker = chain.new_account(lpt=1000 * LPT)
    mintable = chain.minter.functions.currentMintableTokens().call()
    total_active = chain.bonding.functions.currentRoundTotalActiveStake().call()
    assert total_active == 3000 * LPT
    honest_shares, _a_shares = chain.shares(honest.address), chain.shares(a.address)
    pool_a = PoolModel(total_stake=2000 * LPT, total_shares=chain.pool_shares(a.address))

    # The attack: join A just before A's reward, move to B just before B's reward.
    chain.tx(chain.bonding.functions.bond(1000 * LPT, a.address), attacker.address)
    chain.tx(chain.bonding.functions.reward(), a.address)
    chain.tx(chain.bonding.functions.bond(0, b.address), attacker.address)
    chain.tx(chain.bonding.functions.reward(), b.address)

    assert chain.stake(attacker.address) == 1000 * LPT  # nothing from either reward
    assert chain.bonding.functions.delegatorStake(attacker.address).call() == [0, 1000 * LPT]
    # A minted on its stake at the round's start (2000 LPT) and all of it went to the stake bonded then
    minted_a = mintable * 2000 * LPT // total_active
    pool_a.reward(minted_a, 0)
    assert chain.stake(honest.address) == pool_a.stake_of(honest_shares)
    assert chain.stake(honest.address) >= 1000 * LPT + minted_a // 2 - UNOWNED_SHARES  # to the unowned shares' part
    # From the next round the attacker's stake earns at B like anyone's: it lost nothing, gained nothing.
    chain.next_round()
    assert 1000 * LPT - 1 <= chain.stake(attacker.address) <= 1000 * LPT


def test_stake_moved_in_just_before_a_redemption_gets_none_of_its_fees(chain: Chain) -> None:
    o = chain.register(1000 * LPT, fee_share=PPM)  # every wei of fees to the pool
    honest = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), honest.address)
    chain.next_round()
    sender = _funded_sender(chain)
    sniper = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), sniper.address)
    fee = 10**17
    _pay(chain, sender, o.address, fee, nonce=1)
    assert chain.fees(sniper.address) == 0
    with reverts("insufficient fees to withdraw"):
        chain.tx(chain.bonding.functions.withdrawFees(sniper.address, 1), sniper.address)
    # the stake bonded at the round's start shares the whole fee
    shares = {x: chain.shares(x) for x in (o.address, honest.address)}
    increment, cut = fee_split(fee, PPM, chain.pool_shares(o.address))
    assert chain.fees(honest.address) == fees_for(shares[honest.address], increment)
    assert chain.fees(o.address) == cut + fees_for(shares[o.address], increment)
    # ... and a fee credited later in that same round, swept only next round, is still theirs
    _pay(chain, sender, o.address, fee, nonce=2)
    chain.next_round()
    assert chain.fees(sniper.address) == 0
    assert chain.fees(honest.address) == 2 * fees_for(shares[honest.address], increment)
    # in the round after, the sniper's stake is seasoned and shares fees like anyone's
    _pay(chain, sender, o.address, fee, nonce=3)
    assert chain.fees(sniper.address) > 0


def test_unbonding_and_rebonding_mid_round_does_not_earn_the_round_twice(chain: Chain) -> None:
    o, d = chain.seasoned_pool(1000 * LPT, 1000 * LPT)
    stake = chain.stake(d.address)
    chain.tx(chain.bonding.functions.unbond(stake), d.address)
    chain.tx(chain.bonding.functions.rebondFromUnbonded(o.address, 0), d.address)
    chain.tx(chain.bonding.functions.reward(), o.address)
    assert chain.stake(d.address) == stake  # the rebonded stake is pending: no part of this reward
    assert chain.stake(o.address) > 1000 * LPT  # the orchestrator's seasoned stake got all of it


def test_an_orchestrator_cannot_inflate_its_share_price_to_take_stake_pending_in_its_pool(chain: Chain) -> None:
    # Found in review: shrink the pool's seasoned shares to one before reward(); were the reward minted for
    # the round-start stake and given to what is left, that one share would be worth the whole reward, and
    # the victim's pending stake would convert to zero shares.
    o, _ = chain.seasoned_pool(100_000 * LPT, 1000 * LPT)
    o_shares = chain.shares(o.address)
    victim = chain.new_account(lpt=1000 * LPT)
    chain.delegate(victim, o.address, 1000 * LPT)
    chain.tx(chain.bonding.functions.unbond(chain.stake(o.address) - 1), o.address)
    assert 0 < chain.shares(o.address) < o_shares
    receipt = chain.tx(chain.bonding.functions.reward(), o.address)
    (ev,) = chain.bonding.events.Reward().process_receipt(receipt, errors=DISCARD)
    # minted only for the seasoned stake still bonded: the other delegator's 1000 LPT and O's last wei
    mintable = chain.minter.functions.currentMintableTokens().call()
    total_active = chain.bonding.functions.currentRoundTotalActiveStake().call()
    assert ev.args.amount <= mintable * (1000 * LPT + 2 * UNOWNED_SHARES) // total_active
    chain.next_round()
    assert chain.stake(victim.address) >= 1000 * LPT - 2  # the victim keeps its stake, to rounding
    chain.tx(chain.bonding.functions.unbond(1000 * LPT - 2), victim.address)


def test_unbonding_a_wei_at_a_time_cannot_pump_a_pools_share_price(chain: Chain) -> None:
    # Found in the second review: an orchestrator alone in its pool burns all but one share (a 1-wei unbond
    # burns a whole share, rounded up, and leaves its value behind), then each round bonds twice the price for
    # one share and burns one again: the price doubles every round, until a victim's bond, below two shares'
    # price, converts to no share at all. Every pool now holds unowned shares that are never burned.
    chain.register(1_000_000 * LPT)  # an honest giant: the attacker's own reward is negligible
    o = chain.register(10 * LPT)
    chain.tx(chain.token.functions.transfer(o.address, 5000 * LPT), chain.owner)
    chain.next_round()
    chain.next_round()
    chain.tx(chain.bonding.functions.reward(), o.address)  # a share is now worth a little over a wei

    def pool() -> tuple[int, int]:
        stake, shares = chain.bonding.functions.getTranscoder(o.address).call()[:2]
        return int(stake), int(shares)

    chain.tx(chain.bonding.functions.unbond(chain.stake(o.address) - 2), o.address)  # down to its last shares
    assert pool()[1] >= UNOWNED_SHARES  # but the pool's share count stays large
    for _ in range(12):
        price = -(-pool()[0] // pool()[1])
        chain.tx(chain.bonding.functions.bond(2 * price + 10**6, o.address), o.address)  # bond, then burn a share
        chain.next_round()
        chain.tx(chain.bonding.functions.unbond(1), o.address)
    stake, shares = pool()
    assert stake <= shares * 11 // 10  # the price has moved by no more than the reward, not doubled each round
    victim = chain.new_account(lpt=stake)
    bond = (stake - 1) * 9 // 10
    chain.delegate(victim, o.address, bond)
    chain.tx(chain.bonding.functions.unbond(1), o.address)
    chain.next_round()
    assert chain.pool_shares(o.address) >= UNOWNED_SHARES
    assert chain.stake(victim.address) >= bond - 2  # the victim keeps its bond, to rounding


def test_evicting_an_active_orchestrator_and_freeing_its_seat_does_not_cost_it_the_round(chain: Chain) -> None:
    # Found in review: evict V with a larger newcomer, resign the newcomer, and V, rejoining on any stake
    # change, would have been active only from the next round: no reward, no reserve for the rest of this one.
    chain.govern(chain.bonding.functions.setNumActiveTranscoders(2))
    v = chain.register(1000 * LPT)
    chain.register(2000 * LPT)
    chain.next_round()
    attacker = chain.register(1500 * LPT)  # evicts v from the next round
    chain.tx(chain.bonding.functions.unbond(1500 * LPT), attacker.address)  # and frees the seat
    poke = chain.new_account(lpt=LPT)
    chain.delegate(poke, v.address, LPT)  # v rejoins
    assert chain.bonding.functions.isActiveTranscoder(v.address).call()
    chain.tx(chain.bonding.functions.reward(), v.address)
    chain.next_round()
    assert chain.bonding.functions.isActiveTranscoder(v.address).call()


# ------------------------------------------------------------------------------------------------ 2. terms switching


def test_an_active_orchestrator_cannot_raise_its_cut_before_reward(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    chain.next_round()
    with reverts("caller can't be active or must have already called reward for the current round"):
        chain.tx(chain.bonding.functions.transcoder(PPM, 0), o.address)


def test_terms_switched_around_reward_do_not_change_that_rounds_split(chain: Chain) -> None:
    o, honest = chain.seasoned_pool(1000 * LPT, 1000 * LPT, reward_cut=0, fee_share=PPM)
    sender = _funded_sender(chain)
    shares = {x: chain.shares(x) for x in (o.address, honest.address)}
    model = PoolModel(total_stake=2000 * LPT, total_shares=chain.pool_shares(o.address))
    mintable = chain.minter.functions.currentMintableTokens().call()
    total_active = chain.bonding.functions.currentRoundTotalActiveStake().call()

    # The attack: reward, then take 100% of rewards and 0% to the pool, hoping it counts for this round's fees
    chain.tx(chain.bonding.functions.reward(), o.address)
    chain.tx(chain.bonding.functions.transcoder(PPM, 0), o.address)
    fee = 10**17
    _pay(chain, sender, o.address, fee, nonce=1)
    # and set the terms back before anyone looks next round
    chain.tx(chain.bonding.functions.transcoder(0, PPM), o.address)

    minted = mintable * 2000 * LPT // total_active
    model.reward(minted, 0)
    assert chain.stake(honest.address) == model.stake_of(shares[honest.address])
    increment, _ = fee_split(fee, PPM, model.total_shares)
    assert chain.fees(honest.address) == fees_for(shares[honest.address], increment)
    # The terms set this round are the next round's, visible on chain now
    assert chain.bonding.functions.getTranscoderTerms(o.address).call() == [0, PPM, 0, PPM]


def test_new_terms_take_effect_next_round_for_rewards_and_fees(chain: Chain) -> None:
    o, d = chain.seasoned_pool(1000 * LPT, 1000 * LPT, reward_cut=0, fee_share=PPM)
    chain.tx(chain.bonding.functions.reward(), o.address)
    chain.tx(chain.bonding.functions.transcoder(PPM, 0), o.address)
    sender = _funded_sender(chain)
    _pay(chain, sender, o.address, 10**17, nonce=1)  # this round: old terms
    fees_before, stake_before = chain.fees(d.address), chain.stake(d.address)
    assert fees_before > 0
    chain.next_round()
    assert chain.bonding.functions.getTranscoderTerms(o.address).call() == [PPM, 0, PPM, 0]
    _pay(chain, sender, o.address, 10**17, nonce=2)  # next round: new terms, nothing to the pool
    chain.tx(chain.bonding.functions.reward(), o.address)  # 100% cut
    assert chain.fees(d.address) == fees_before
    assert chain.stake(d.address) == stake_before


# ------------------------------------------------------------------------------------------------ 3. deployer powers


def test_the_deployer_cannot_slash_mint_or_repoint_anything_directly(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    deployer = chain.owner
    assert chain.controller.functions.owner().call() == chain.governance.address
    assert chain.controller.functions.getContract(Web3.keccak(text="Verifier")).call() == ZERO
    with reverts("caller must be Verifier"):
        chain.tx(chain.bonding.functions.slashTranscoder(o.address, deployer), deployer)
    with reverts("caller must be the Minter"):
        chain.tx(chain.token.functions.mint(deployer, 10**30), deployer)
    assert not any(item.get("name") in {"grantRole", "MINTER_ROLE"} for item in chain.token.abi)
    assert chain.token.functions.minter().call() == chain.minter.address
    with pytest.raises(ContractCustomError):  # OwnableUnauthorizedAccount
        chain.tx(chain.controller.functions.setContractInfo(Web3.keccak(text="BondingManager"), deployer), deployer)
    with reverts("caller must be Controller owner"):
        chain.tx(chain.bonding.functions.setUnbondingPeriod(0), deployer)
    with reverts("caller must be BondingManager"):
        chain.tx(chain.minter.functions.trustedWithdrawETH(deployer, 1), deployer)
    assert chain.stake(o.address) == 1000 * LPT


def test_an_owner_change_waits_out_the_public_delay_and_strangers_cannot_propose(chain: Chain) -> None:
    stranger = chain.new_account()
    fn = chain.controller.functions.setContractInfo(Web3.keccak(text="Verifier"), stranger.address)
    data, none, salt = fn._encode_transaction_data(), b"\0" * 32, b"\x07" * 32
    delay = chain.governance.functions.getMinDelay().call()
    assert delay == chain.deployment.params.governance_delay > 0
    with pytest.raises(ContractCustomError):  # AccessControlUnauthorizedAccount: only the proposer schedules
        chain.tx(chain.governance.functions.schedule(fn.address, 0, data, none, salt, delay), stranger.address)
    with pytest.raises(ContractCustomError):  # TimelockInsufficientDelay
        chain.tx(chain.governance.functions.schedule(fn.address, 0, data, none, salt, delay - 1), chain.owner)
    receipt = chain.tx(chain.governance.functions.schedule(fn.address, 0, data, none, salt, delay), chain.owner)
    (scheduled,) = chain.governance.events.CallScheduled().process_receipt(receipt, errors=DISCARD)
    assert scheduled.args.target == chain.controller.address and scheduled.args.delay == delay  # announced
    with pytest.raises(ContractCustomError):  # TimelockUnexpectedOperationState: too early
        chain.tx(chain.governance.functions.execute(fn.address, 0, data, none, salt), stranger.address)
    chain.rpc("evm_increaseTime", [delay])
    chain.mine()
    chain.tx(chain.governance.functions.execute(fn.address, 0, data, none, salt), stranger.address)  # anyone executes
    assert chain.controller.functions.getContract(Web3.keccak(text="Verifier")).call() == stranger.address


def test_slash_and_finder_fee_are_bounded_protocol_parameters(chain: Chain) -> None:
    o = chain.register(1000 * LPT)
    verifier, finder = chain.new_account(), chain.new_account()
    chain.set_verifier(verifier.address)
    max_slash = chain.bonding.functions.MAX_SLASH_AMOUNT().call()
    max_finder = chain.bonding.functions.MAX_FINDER_FEE().call()
    with reverts("slashAmount is over MAX_SLASH_AMOUNT"):
        chain.govern(chain.bonding.functions.setSlashing(max_slash + 1, 0))
    with reverts("finderFee is over MAX_FINDER_FEE"):
        chain.govern(chain.bonding.functions.setSlashing(0, max_finder + 1))
    chain.govern(chain.bonding.functions.setSlashing(max_slash, max_finder))
    # even a Verifier that turned hostile takes at most the bounds, and the finder at most its share
    chain.tx(chain.bonding.functions.slashTranscoder(o.address, finder.address), verifier.address)
    assert chain.stake(o.address) == 1000 * LPT - 1000 * LPT * max_slash // PPM
    assert chain.token.functions.balanceOf(finder.address).call() == 1000 * LPT * max_slash // PPM * max_finder // PPM


# ------------------------------------------------------------------------------------------------ 4. broker change


def test_replacing_the_ticket_broker_keeps_stake_fees_and_deposits_reachable(chain: Chain) -> None:
    o = chain.register(1000 * LPT, fee_share=500_000)
    d = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, o.address), d.address)
    chain.next_round()
    old = chain.broker
    sender = _funded_sender(chain, deposit=5 * ETH)
    _pay(chain, sender, o.address, ETH, nonce=1)
    fees_before = {x: chain.fees(x) for x in (o.address, d.address)}
    assert sum(fees_before.values()) > ETH - ETH // 10**6  # the unowned shares' part of the fee stays in the pool

    new = _replace_broker(chain)

    # nothing is locked: views, fee withdrawals, unbonding all work, with the old broker's fees intact
    assert {x: chain.fees(x) for x in fees_before} == fees_before
    chain.tx(chain.bonding.functions.withdrawFees(d.address, fees_before[d.address]), d.address)
    chain.tx(chain.bonding.functions.unbond(500 * LPT), o.address)
    assert chain.fees(o.address) == fees_before[o.address]
    chain.tx(chain.bonding.functions.withdrawFees(o.address, fees_before[o.address]), o.address)
    # the replaced broker takes no more tickets or money, and still pays its senders back
    ticket, sig, rand = chain.make_ticket(sender, o.address, ETH, nonce=2)
    with reverts("ticket broker was replaced"):
        chain.tx(old.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand), o.address)
    with reverts("ticket broker was replaced"):
        chain.tx(old.functions.fundDeposit(), sender.address, value=ETH)
    chain.tx(old.functions.unlock(), sender.address)
    chain.next_round()
    chain.next_round()
    chain.tx(old.functions.withdraw(), sender.address)
    assert chain.w3.eth.get_balance(old.address) == 0
    # the new broker pays the same orchestrator
    s2 = chain.new_account()
    chain.tx(new.functions.fundDeposit(), s2.address, value=ETH)
    t2, sig2, rand2 = chain.make_ticket(s2, o.address, 10**17, nonce=1)
    chain.tx(new.functions.redeemWinningTicket(t2.as_contract_args(), sig2, rand2), o.address)
    assert chain.fees(o.address) > 0 and chain.fees(d.address) > 0


def test_pulling_an_evicted_orchestrator_back_in_keeps_its_grace_payments(chain: Chain) -> None:
    # Found in the second review: rejoining reset the rounds it was active in, so anyone could bond a wei to
    # an evicted orchestrator to make the tickets it earned unpayable.
    chain.govern(chain.bonding.functions.setNumActiveTranscoders(2))
    v = chain.register(1000 * LPT)
    chain.register(2000 * LPT)
    chain.next_round()
    sender = _funded_sender(chain)
    ticket, sig, rand = chain.make_ticket(sender, v.address, ETH, nonce=1)  # earned while active
    newcomer = chain.register(1500 * LPT)  # evicts v from the next round
    chain.next_round()
    chain.tx(chain.bonding.functions.unbond(chain.stake(newcomer.address)), newcomer.address)  # frees the seat
    poke = chain.new_account(lpt=LPT)
    chain.delegate(poke, v.address, 1)  # v rejoins, active from the next round
    assert not chain.bonding.functions.isActiveTranscoder(v.address).call()
    chain.redeem(ticket, sig, rand)  # still paid: it left the set within the validity period
    assert chain.fees(v.address) == ETH


def test_a_shorter_ticket_validity_period_shortens_the_grace_already_cached(chain: Chain) -> None:
    # Found in the second review: the broker cached "payable until" with the validity period of the time.
    chain.govern(chain.broker.functions.setTicketValidityPeriod(10))
    chain.govern(chain.bonding.functions.setNumActiveTranscoders(1))
    a = chain.active_orchestrator(1000 * LPT)
    sender = _funded_sender(chain)
    chain.register(2000 * LPT)  # evicts a from the next round
    chain.next_round()
    _pay(chain, sender, a.address, ETH, nonce=1)  # within its grace: paid, and cached
    chain.govern(chain.broker.functions.setTicketValidityPeriod(1))
    for _ in range(3):
        chain.next_round()
    ticket, sig, rand = chain.make_ticket(sender, a.address, ETH, nonce=2)
    with reverts("ticket recipient is not an active orchestrator"):
        chain.redeem(ticket, sig, rand)


def test_a_predecessor_that_cannot_answer_fails_old_tickets_with_a_reason(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    new = _replace_broker(chain, previous=chain.minter.address)  # a contract that is no broker
    sender = chain.new_account()
    chain.tx(new.functions.fundDeposit(), sender.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(sender, o.address, 10**15)
    with reverts("predecessor broker does not answer"):  # Governance named a wrong predecessor: visible at once
        chain.tx(new.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand), o.address)


def test_a_ticket_redeemed_before_a_broker_change_is_not_paid_again_by_the_new_broker(chain: Chain) -> None:
    # Found in review: used tickets are per broker, and the ticket hash does not name the broker.
    o = chain.active_orchestrator(1000 * LPT)
    sender = _funded_sender(chain, deposit=5 * ETH)
    ticket, sig, rand = chain.make_ticket(sender, o.address, ETH, nonce=1)
    chain.redeem(ticket, sig, rand)
    new = _replace_broker(chain)
    chain.tx(new.functions.fundDeposit(), sender.address, value=5 * ETH)
    with reverts("ticket is used"):
        chain.tx(new.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand), o.address)
    fresh, fresh_sig, fresh_rand = chain.make_ticket(sender, o.address, ETH, nonce=2)
    chain.tx(new.functions.redeemWinningTicket(fresh.as_contract_args(), fresh_sig, fresh_rand), o.address)
    assert chain.fees(o.address) == 2 * ETH  # the two distinct tickets, once each


# ------------------------------------------------------------------------------------------------ 5. self-paying sender


def test_a_sender_cannot_pay_itself_to_skip_the_unlock_period(chain: Chain) -> None:
    chain.govern(chain.bonding.functions.setNumActiveTranscoders(2))
    honest = chain.register(1000 * LPT)
    chain.register(1000 * LPT)  # the active set is full
    sender = _funded_sender(chain, deposit=5 * ETH)
    own = chain.new_account(lpt=LPT)  # an address of the sender's
    # a fresh address is refused ...
    ticket, sig, rand = chain.make_ticket(sender, own.address, 5 * ETH)
    with reverts("ticket recipient is not an active orchestrator") as refused:
        chain.redeem(ticket, sig, rand)
    assert revert_code(str(refused.value)) == "ticket_recipient_not_active"  # what the services report
    # ... and so is one registered with a token's worth of stake: it is not in the (full) active set
    chain.tx(chain.bonding.functions.bond(LPT, own.address), own.address)
    chain.next_round()
    assert chain.bonding.functions.isRegisteredTranscoder(own.address).call()
    ticket, sig, rand = chain.make_ticket(sender, own.address, 5 * ETH, nonce=2)
    with reverts("ticket recipient is not an active orchestrator"):
        chain.redeem(ticket, sig, rand)
    assert chain.broker.functions.getSenderInfo(sender.address).call()[0] == 5 * ETH
    # the deposit still backs the honest orchestrator's ticket
    _pay(chain, sender, honest.address, ETH, nonce=7)
    assert chain.fees(honest.address) == ETH


def test_an_orchestrator_that_resigned_can_no_longer_be_paid(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    sender = _funded_sender(chain)
    _pay(chain, sender, o.address, 10**17, nonce=1)
    chain.tx(chain.bonding.functions.unbond(chain.stake(o.address)), o.address)
    ticket, sig, rand = chain.make_ticket(sender, o.address, 10**17, nonce=2)
    with reverts("ticket recipient is not an active orchestrator"):
        chain.redeem(ticket, sig, rand)
    assert chain.fees(o.address) == 10**17  # what it earned while registered stays withdrawable


# ------------------------------------------------------------------------------------------------ 6. smaller ones


def test_funding_cancels_an_unlock_in_progress(chain: Chain) -> None:
    sender = _funded_sender(chain, deposit=ETH)
    chain.tx(chain.broker.functions.unlock(), sender.address)
    receipt = chain.tx(chain.broker.functions.fundReserve(), sender.address, value=ETH)
    assert chain.broker.events.UnlockCancelled().process_receipt(receipt, errors=DISCARD)
    assert chain.broker.functions.getSenderInfo(sender.address).call()[1] == 0
    chain.next_round()
    chain.next_round()
    with reverts("no unlock request in progress"):
        chain.tx(chain.broker.functions.withdraw(), sender.address)


def test_a_withdrawn_reserve_refunded_in_the_same_round_starts_from_a_clean_base(chain: Chain) -> None:
    a, b = chain.register(1000 * LPT), chain.register(1000 * LPT)
    chain.govern(chain.broker.functions.setUnlockPeriod(0))  # so a sender can claim, leave and come back in a round
    sender = _funded_sender(chain, deposit=0, reserve=4 * ETH)
    chain.next_round()  # a and b are active: 2 ETH of the reserve each this round
    _pay(chain, sender, a.address, ETH, nonce=1)
    chain.tx(chain.broker.functions.unlock(), sender.address)
    chain.tx(chain.broker.functions.withdraw(), sender.address)
    chain.tx(chain.broker.functions.fundReserve(), sender.address, value=2 * ETH)
    # b may claim half of the new 2 ETH, not half of 2 ETH plus the claims on the reserve it withdrew
    assert chain.broker.functions.claimableReserve(sender.address, b.address).call() == ETH
    assert chain.broker.functions.claimableReserve(sender.address, a.address).call() == 0


def test_no_ticket_is_paid_once_the_senders_unlock_period_is_over(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    sender = _funded_sender(chain, deposit=ETH)
    chain.tx(chain.broker.functions.unlock(), sender.address)
    _pay(chain, sender, o.address, 10**17, nonce=1)  # still locked: paid
    chain.next_round()
    chain.next_round()
    ticket, sig, rand = chain.make_ticket(sender, o.address, 10**17, nonce=2)
    with reverts("sender is unlocked"):
        chain.redeem(ticket, sig, rand)
    chain.tx(chain.broker.functions.withdraw(), sender.address)


def test_a_slash_mid_round_does_not_raise_the_others_reserve_allocation(chain: Chain) -> None:
    a, b, c = chain.register(1000 * LPT), chain.register(1000 * LPT), chain.register(1000 * LPT)
    verifier = chain.new_account()
    chain.set_verifier(verifier.address)
    sender = _funded_sender(chain, deposit=0, reserve=3 * ETH)
    chain.next_round()
    assert chain.broker.functions.claimableReserve(sender.address, a.address).call() == ETH
    chain.tx(chain.bonding.functions.slashTranscoder(c.address, ZERO), verifier.address)
    assert chain.broker.functions.claimableReserve(sender.address, a.address).call() == ETH
    assert chain.broker.functions.claimableReserve(sender.address, c.address).call() == 0
    _pay(chain, sender, a.address, ETH, nonce=1)
    _pay(chain, sender, b.address, ETH, nonce=2)
    ticket, sig, rand = chain.make_ticket(sender, a.address, 1, nonce=3)
    with reverts("faceValue exceeds deposit and reserve allocation"):
        chain.redeem(ticket, sig, rand)


@pytest.mark.parametrize(
    ("contract", "setter", "value", "reason"),
    [
        ("broker", "setUnlockPeriod", 10**30, "unlockPeriod is over MAX_UNLOCK_PERIOD"),
        ("broker", "setTicketValidityPeriod", 2**128 + 2, "ticketValidityPeriod is over MAX_TICKET_VALIDITY_PERIOD"),
        ("bonding", "setUnbondingPeriod", 2**64, "unbondingPeriod is over MAX_UNBONDING_PERIOD"),
        ("bonding", "setNumActiveTranscoders", 10**6, "numActiveTranscoders is over MAX_ACTIVE_TRANSCODERS"),
        ("rounds", "setRoundLength", 2**63, "round length is over MAX_ROUND_LENGTH"),
    ],
)
def test_owner_setters_refuse_values_past_their_bounds(
    chain: Chain, contract: str, setter: str, value: int, reason: str
) -> None:
    target = getattr(chain, contract)
    with reverts(reason):
        chain.govern(getattr(target.functions, setter)(value))


def test_a_batch_cannot_be_made_to_skip_tickets_by_starving_it_of_gas(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    sender = _funded_sender(chain)
    tickets = [chain.make_ticket(sender, o.address, 10**15, nonce=n) for n in range(6)]
    fn = chain.broker.functions.batchRedeemWinningTickets(
        [t.as_contract_args() for t, _, _ in tickets], [s for _, s, _ in tickets], [r for _, _, r in tickets]
    )
    full = fn.estimate_gas({"from": o.address})
    outcomes = set()
    for gas in range(full * 55 // 100, full, full // 40):  # squeeze the later tickets' calls out of gas
        snapshot = chain.rpc("evm_snapshot", [])
        tx = fn.transact({"from": o.address, "gas": gas})
        receipt = chain.w3.eth.wait_for_transaction_receipt(tx)
        redeemed = sum(chain.broker.functions.usedTickets(t.hash()).call() for t, _, _ in tickets)
        outcomes.add((receipt["status"], redeemed))
        chain.rpc("evm_revert", [snapshot])
    # every attempt either redeemed all six or reverted whole (and so left all six redeemable)
    assert outcomes <= {(1, 6), (0, 0)}
    assert (0, 0) in outcomes
    chain.tx(fn, o.address)
    assert chain.fees(o.address) == 6 * 10**15


def test_moving_stake_to_a_pool_that_earned_less_in_fees_keeps_the_fees_earned(chain: Chain) -> None:
    # found by the state machine: a delegator moving from a pool with a high fee factor to one with a lower
    # one must keep what it earned and start afresh in the new pool (not fail, not earn the difference)
    a, b = chain.register(1000 * LPT, fee_share=PPM), chain.register(1000 * LPT, fee_share=PPM)
    d = chain.new_account(lpt=1000 * LPT)
    chain.tx(chain.bonding.functions.bond(1000 * LPT, a.address), d.address)
    chain.next_round()
    _pay(chain, _funded_sender(chain), a.address, ETH, nonce=1)
    earned = chain.fees(d.address)
    assert earned > 0
    chain.tx(chain.bonding.functions.bond(0, b.address), d.address)
    assert chain.fees(d.address) == earned
    chain.next_round()
    assert chain.fees(d.address) == earned
    chain.tx(chain.bonding.functions.withdrawFees(d.address, earned), d.address)
