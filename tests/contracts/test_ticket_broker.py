"""TicketBroker: funding, unlocking, and redeeming winning tickets, all or nothing."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from chalicelib.chain.tickets import Ticket, recipient_rand_hash, sign_ticket

from .conftest import ETH, LPT, Chain, reverts

FACE = 10**16


def _fees_counted(chain: Chain, orchestrator: str) -> int:
    """Fees the TicketBroker credited to an orchestrator (the face value of its winning tickets)."""
    return int(chain.broker.functions.recipientCredit(orchestrator).call()[0])


def _sender_info(chain: Chain, addr: str) -> tuple[int, int, int, int]:
    return tuple(chain.broker.functions.getSenderInfo(addr).call())  # type: ignore[return-value]


def test_fund_deposit_credits_the_sender_and_the_broker_holds_the_eth(chain: Chain) -> None:
    s = chain.new_account()
    receipt = chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    assert _sender_info(chain, s.address)[0] == ETH
    assert chain.w3.eth.get_balance(chain.broker.address) == ETH
    assert chain.w3.eth.get_balance(chain.minter.address) == 0
    (event,) = chain.broker.events.DepositFunded().process_receipt(receipt)
    assert event.args.sender == s.address and event.args.amount == ETH


def test_fund_reserve_and_both(chain: Chain) -> None:
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundReserve(), s.address, value=2 * ETH)
    chain.tx(chain.broker.functions.fundDepositAndReserve(ETH, 3 * ETH), s.address, value=4 * ETH)
    deposit, withdraw_round, reserve, _ = _sender_info(chain, s.address)
    assert (deposit, withdraw_round, reserve) == (ETH, 0, 5 * ETH)
    assert chain.w3.eth.get_balance(chain.broker.address) == 6 * ETH


def test_reverts_when_fund_deposit_and_reserve_value_mismatch(chain: Chain) -> None:
    s = chain.new_account()
    with reverts("msg.value does not equal sum"):
        chain.tx(chain.broker.functions.fundDepositAndReserve(ETH, ETH), s.address, value=ETH)


def test_unlock_then_withdraw_after_unlock_period(chain: Chain) -> None:
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDepositAndReserve(ETH, ETH), s.address, value=2 * ETH)
    r = chain.current_round()
    receipt = chain.tx(chain.broker.functions.unlock(), s.address)
    (event,) = chain.broker.events.Unlock().process_receipt(receipt)
    assert (event.args.startRound, event.args.endRound) == (r, r + 2)
    with reverts("unlock already initiated"):
        chain.tx(chain.broker.functions.unlock(), s.address)
    with reverts("account is locked"):
        chain.tx(chain.broker.functions.withdraw(), s.address)
    chain.next_round()
    chain.next_round()
    before = chain.w3.eth.get_balance(s.address)
    receipt = chain.tx(chain.broker.functions.withdraw(), s.address)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.w3.eth.get_balance(s.address) == before + 2 * ETH - fee
    assert _sender_info(chain, s.address)[:3] == (0, 0, 0)
    with reverts("sender deposit and reserve are zero"):
        chain.tx(chain.broker.functions.withdraw(), s.address)


def test_cancel_unlock(chain: Chain) -> None:
    s = chain.new_account()
    with reverts("sender deposit and reserve are zero"):
        chain.tx(chain.broker.functions.unlock(), s.address)
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    with reverts("no unlock request in progress"):
        chain.tx(chain.broker.functions.cancelUnlock(), s.address)
    with reverts("no unlock request in progress"):
        chain.tx(chain.broker.functions.withdraw(), s.address)
    chain.tx(chain.broker.functions.unlock(), s.address)
    chain.tx(chain.broker.functions.cancelUnlock(), s.address)
    assert _sender_info(chain, s.address)[1] == 0


def test_winning_ticket_is_paid_from_deposit_and_credited_to_recipient(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    receipt = chain.redeem(ticket, sig, rand)
    assert _sender_info(chain, s.address)[0] == ETH - FACE
    assert _fees_counted(chain, o.address) == FACE
    assert chain.broker.functions.usedTickets(ticket.hash()).call() is True
    (event,) = chain.broker.events.WinningTicketRedeemed().process_receipt(receipt)
    assert event.args.ticketHash == ticket.hash() and event.args.faceValue == FACE and event.args.fromReserve == 0
    # the orchestrator's fee share is 0 ppm: everything is its own
    assert chain.bonding.functions.pendingFees(o.address).call() == FACE
    # the ETH stays with the broker until a sweep takes it to the Minter, which pays the withdrawal
    assert chain.w3.eth.get_balance(chain.broker.address) == ETH
    receipt = chain.tx(chain.bonding.functions.withdrawFees(o.address, FACE // 2), o.address)
    (released,) = chain.broker.events.FeesReleased().process_receipt(receipt, errors=DISCARD)
    assert released.args.amount == FACE
    assert chain.w3.eth.get_balance(chain.broker.address) == ETH - FACE
    assert chain.w3.eth.get_balance(chain.minter.address) == FACE - FACE // 2


def test_anyone_may_submit_a_winning_ticket_for_the_recipient(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    chain.redeem(ticket, sig, rand, sender=chain.owner)
    assert _fees_counted(chain, o.address) == FACE


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"recipient": "0x" + "00" * 20}, "ticket recipient is null address"),
        ({"sender": "0x" + "00" * 20}, "ticket sender is null address"),
        ({"creation_round": 999}, "ticket creationRound does not have a block hash"),
        ({"creation_round_block_hash": b"\x01" * 32}, "ticket creationRoundBlockHash invalid for creationRound"),
        ({"recipient_rand_hash": recipient_rand_hash(1)}, "recipientRand does not match recipientRandHash"),
        ({"win_prob": 0}, "ticket did not win"),
    ],
)
def test_reverts_when_ticket_is_invalid(chain: Chain, change: dict[str, object], reason: str) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, _, rand = chain.make_ticket(s, o.address, FACE)
    ticket = ticket.model_copy(update=change)
    sig = sign_ticket(ticket, s.key)
    with reverts(reason):
        chain.redeem(ticket, sig, rand, sender=chain.owner)
    assert chain.broker.functions.usedTickets(ticket.hash()).call() is False


def test_reverts_when_signature_is_not_the_senders(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s, mallory = chain.new_account(), chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, _, rand = chain.make_ticket(s, o.address, FACE)
    with reverts("invalid signature over ticket hash"):
        chain.redeem(ticket, sign_ticket(ticket, mallory.key), rand)
    with reverts("invalid signature over ticket hash"):
        chain.redeem(ticket, b"\x01" * 64, rand)


def test_reverts_when_aux_data_has_the_wrong_length(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    args = (*ticket.as_contract_args()[:6], ticket.aux_data[:63])
    with reverts("invalid length for ticket auxData"):
        chain.tx(chain.broker.functions.redeemWinningTicket(args, sig, rand), o.address)


def test_reverts_when_ticket_is_replayed(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    chain.redeem(ticket, sig, rand)
    with reverts("ticket is used"):
        chain.redeem(ticket, sig, rand)


def test_reverts_when_ticket_is_expired(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    chain.next_round()  # creationRound + 1: still valid (validity period 2)
    t2, sig2, rand2 = chain.make_ticket(s, o.address, FACE, nonce=2, creation_round=ticket.creation_round)
    chain.redeem(t2, sig2, rand2)
    chain.next_round()  # creationRound + 2: expired
    with reverts("ticket is expired"):
        chain.redeem(ticket, sig, rand)


def test_reverts_when_current_round_is_not_initialized(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    chain.next_round(initialize=False)
    with reverts("current round is not initialized"):
        chain.redeem(ticket, sig, rand)


def test_reverts_when_system_is_paused(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    chain.govern(chain.controller.functions.pause())
    with reverts("system is paused"):
        chain.redeem(ticket, sig, rand)
    with reverts("system is paused"):
        chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    chain.govern(chain.controller.functions.unpause())
    chain.redeem(ticket, sig, rand)


def test_an_evicted_orchestrator_is_paid_from_deposit_for_a_while_but_not_from_the_reserve(chain: Chain) -> None:
    chain.govern(chain.bonding.functions.setNumActiveTranscoders(1))
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(
        chain.broker.functions.fundDepositAndReserve(FACE // 2, 100 * FACE), s.address, value=FACE // 2 + 100 * FACE
    )
    chain.register(2000 * LPT)  # takes o's seat from the next round
    chain.next_round()
    assert not chain.bonding.functions.isActiveTranscoder(o.address).call()
    # the tickets of the rounds it worked in are still valid: paid from the deposit ...
    t1, sig1, rand1 = chain.make_ticket(s, o.address, FACE // 4, nonce=1)
    chain.redeem(t1, sig1, rand1)
    # ... but not from the reserve, which only this round's active orchestrators share
    t2, sig2, rand2 = chain.make_ticket(s, o.address, FACE, nonce=2)
    with reverts("faceValue exceeds deposit and recipient is not active"):
        chain.redeem(t2, sig2, rand2)
    assert _sender_info(chain, s.address)[0] == FACE // 2 - FACE // 4  # all or nothing: untouched
    chain.next_round()
    chain.next_round()  # past the ticket validity period since it left: no ticket pays it any more
    t3, sig3, rand3 = chain.make_ticket(s, o.address, 1, nonce=3)
    with reverts("ticket recipient is not an active orchestrator"):
        chain.redeem(t3, sig3, rand3)


def test_short_deposit_is_topped_up_from_the_recipients_reserve_allocation(chain: Chain) -> None:
    o1 = chain.register(1000 * LPT)
    chain.register(500 * LPT)
    chain.next_round()  # both active: each may claim reserve / 2 per round
    s = chain.new_account()
    reserve = 4 * FACE
    chain.tx(chain.broker.functions.fundDepositAndReserve(FACE // 4, reserve), s.address, value=FACE // 4 + reserve)
    assert chain.broker.functions.claimableReserve(s.address, o1.address).call() == 2 * FACE
    ticket, sig, rand = chain.make_ticket(s, o1.address, FACE)
    receipt = chain.redeem(ticket, sig, rand)
    (claim,) = chain.broker.events.ReserveClaimed().process_receipt(receipt, errors=DISCARD)
    assert claim.args.amount == FACE - FACE // 4
    deposit, _, left, claimed_round = _sender_info(chain, s.address)
    assert (deposit, left, claimed_round) == (0, reserve - (FACE - FACE // 4), FACE - FACE // 4)
    assert chain.broker.functions.claimableReserve(s.address, o1.address).call() == 2 * FACE - (FACE - FACE // 4)
    assert chain.broker.functions.claimedReserve(s.address, o1.address).call() == FACE - FACE // 4
    # a second ticket of 2 × FACE would take more than the allocation: refused, nothing moves
    t2, sig2, rand2 = chain.make_ticket(s, o1.address, 2 * FACE, nonce=2)
    with reverts("faceValue exceeds deposit and reserve allocation"):
        chain.redeem(t2, sig2, rand2)
    assert chain.broker.functions.usedTickets(t2.hash()).call() is False
    # within the allocation it pays
    t3, sig3, rand3 = chain.make_ticket(s, o1.address, FACE + FACE // 4, nonce=3)
    chain.redeem(t3, sig3, rand3)
    assert chain.broker.functions.claimableReserve(s.address, o1.address).call() == 0
    assert _fees_counted(chain, o1.address) == 2 * FACE + FACE // 4


def test_batch_redeems_the_good_tickets_and_skips_the_bad(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    good = [chain.make_ticket(s, o.address, FACE, nonce=n) for n in range(3)]
    bad_ticket, _, bad_rand = chain.make_ticket(s, o.address, FACE, nonce=99)
    bad = (bad_ticket, b"\x00" * 65, bad_rand)
    batch = [*good[:2], bad, good[2]]
    fn = chain.broker.functions.batchRedeemWinningTickets(
        [t.as_contract_args() for t, _, _ in batch], [sig for _, sig, _ in batch], [r for _, _, r in batch]
    )
    assert fn.call({"from": o.address}) == 3
    chain.tx(fn, o.address)
    assert _fees_counted(chain, o.address) == 3 * FACE
    with reverts("array lengths differ"):
        chain.tx(chain.broker.functions.batchRedeemWinningTickets([], [b""], []), o.address)


def test_reverts_when_parameter_setters_are_called_by_others(chain: Chain) -> None:
    s = chain.new_account()
    with reverts("caller must be Controller owner"):
        chain.tx(chain.broker.functions.setUnlockPeriod(5), s.address)
    with reverts("ticketValidityPeriod must be greater than 0"):
        chain.govern(chain.broker.functions.setTicketValidityPeriod(0))
    chain.govern(chain.broker.functions.setTicketValidityPeriod(3))
    chain.govern(chain.broker.functions.setUnlockPeriod(5))
    assert chain.broker.functions.ticketValidityPeriod().call() == 3
    assert chain.broker.functions.unlockPeriod().call() == 5


def test_ticket_models_round_trip_through_json() -> None:
    ticket = Ticket(
        recipient="0x" + "ab" * 20,
        sender="0x" + "cd" * 20,
        face_value=1,
        win_prob=2,
        sender_nonce=3,
        recipient_rand_hash="0x" + "11" * 32,
        creation_round=4,
        creation_round_block_hash=b"\x22" * 32,
    )
    assert Ticket.model_validate_json(ticket.model_dump_json()) == ticket


def test_reverts_when_a_deposit_would_overflow_its_packed_slot(chain: Chain) -> None:
    whale = chain.new_account(eth=2**130)
    with reverts("deposit overflow"):
        chain.tx(chain.broker.functions.fundDeposit(), whale.address, value=2**128)
    with reverts("reserve overflow"):
        chain.tx(chain.broker.functions.fundReserve(), whale.address, value=2**112)


def test_an_orchestrator_that_resigned_claims_no_reserve(chain: Chain) -> None:
    o = chain.active_orchestrator(1000 * LPT)
    chain.tx(chain.bonding.functions.unbond(chain.stake(o.address)), o.address)  # resigns: active till the round ends
    assert chain.bonding.functions.getTranscoderPoolSize().call() == 0
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundReserve(), s.address, value=ETH)
    assert chain.broker.functions.claimableReserve(s.address, o.address).call() == 0
    ticket, sig, rand = chain.make_ticket(s, o.address, FACE)
    with reverts("ticket recipient is not an active orchestrator"):
        chain.redeem(ticket, sig, rand)


def test_the_reserve_is_split_by_the_active_set_size_at_the_rounds_start(chain: Chain) -> None:
    a, b = chain.register(1000 * LPT), chain.register(1000 * LPT)
    chain.next_round()
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundReserve(), s.address, value=2 * ETH)
    chain.register(5000 * LPT)  # joins next round: not one of this round's claimants
    assert chain.bonding.functions.currentRoundActiveSetSize().call() == 2
    assert chain.broker.functions.claimableReserve(s.address, a.address).call() == ETH
    chain.next_round()
    assert chain.broker.functions.claimableReserve(s.address, b.address).call() == 2 * ETH // 3
