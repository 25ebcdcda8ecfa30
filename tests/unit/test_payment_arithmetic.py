"""The arithmetic both sides of a payment must agree on, and the short cache the hot path reads the chain through."""

from __future__ import annotations

import threading
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.chain.tickets import UINT256_MAX, expected_value, win_prob_for
from chalicelib.payments.chainview import CachedChainView, RoundView, SenderFunds
from chalicelib.payments.models import ExpirationParams, Price, Quote, TicketParams
from chalicelib.payments.pricing import credit_for, tickets_needed
from chalicelib.payments.sender import QuoteBook

wei = st.integers(min_value=1, max_value=10**24)


@given(fee=wei, face_value=wei, ev=wei)
def test_the_tickets_the_gateway_sends_always_cover_the_fee_the_intake_charges(
    fee: int, face_value: int, ev: int
) -> None:
    value = expected_value(face_value, win_prob_for(min(ev, face_value), face_value))
    if value == 0:
        return
    count = tickets_needed(fee, value)
    assert credit_for(count, value) >= fee  # what the intake credits pays what it charges
    assert count == 1 or credit_for(count - 1, value) < fee  # and no more tickets than that


@given(pixels=st.integers(min_value=0, max_value=10**12), price=st.integers(0, 10**6), per=st.integers(1, 10**6))
def test_a_fee_is_the_price_of_the_pixels_rounded_up(pixels: int, price: int, per: int) -> None:
    fee = Price(price_per_unit=price, pixels_per_unit=per).fee(pixels)
    assert fee >= Fraction(pixels * price, per) > fee - 1


def test_win_prob_never_exceeds_certainty() -> None:
    assert win_prob_for(10, 5) == UINT256_MAX
    assert win_prob_for(1, 5) == UINT256_MAX // 5


class _Counting:
    def __init__(self) -> None:
        self.reads = 0

    def current_round(self) -> RoundView:
        self.reads += 1
        return RoundView(self.reads, self.reads, b"\0" * 32)

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        self.reads += 1
        return SenderFunds(self.reads, 0, 0, True)

    def ticket_validity_period(self) -> int:
        self.reads += 1
        return 2


def test_the_cached_view_serves_from_memory_and_refreshes_behind_the_request() -> None:
    now = [0.0]
    inner = _Counting()
    view = CachedChainView(inner, fresh_s=1.0, stale_s=30.0, clock=lambda: now[0], background=False)
    assert view.current_round().number == view.current_round().number == 1
    assert view.sender_funds("0xA", "0xB") == view.sender_funds("0xa", "0xb")  # addresses in any case
    assert view.sender_funds("0xA", "0xC") != view.sender_funds("0xA", "0xB")  # per recipient
    assert inner.reads == 3
    now[0] = 1.0
    assert view.current_round().number == 1  # stale: served, and read again behind the request
    assert view.current_round().number == 4  # the refreshed answer
    now[0] = 40.0
    assert view.current_round().number == 5  # too old to serve: read on the request


def _quote(seed: int, created: int = 5, validity: int = 2) -> Quote:
    params = TicketParams(
        recipient="0x" + "11" * 20,
        face_value=10**9,
        win_prob=win_prob_for(10**6, 10**9),
        recipient_rand_hash=bytes([seed]) * 32,
        seed=bytes([seed]) * 32,
        expiration_params=ExpirationParams(creation_round=created, creation_round_block_hash=b"\1" * 32),
    )
    return Quote(
        ticket_params=params,
        price=Price(price_per_unit=1, pixels_per_unit=1),
        valid_through_round=created + validity - 1,
    )


def test_each_thread_holds_its_own_quote_and_counts_its_nonces_up_from_one() -> None:
    # The orchestrator takes a quote's tickets in nonce order only: one quote per thread keeps them in order.
    book, orchestrator = QuoteBook(), "0x" + "aa" * 20
    mine = _quote(1)
    book.put(orchestrator, mine)
    assert [book.take_nonces(orchestrator, mine, 3), book.take_nonces(orchestrator, mine, 2)] == [1, 4]
    seen: list[Quote | None] = []
    other = threading.Thread(target=lambda: seen.append(book.get(orchestrator, 5)))
    other.start()
    other.join()
    assert seen == [None]  # another thread asks for its own
    renewed = _quote(2)
    book.put(orchestrator, renewed)
    assert book.take_nonces(orchestrator, renewed, 1) == 1  # a new quote's nonces start again at 1


def test_a_quote_is_kept_while_its_tickets_can_be_redeemed() -> None:
    book, orchestrator = QuoteBook(), "0x" + "aa" * 20
    book.put(orchestrator, _quote(1, created=5, validity=2))
    assert book.get(orchestrator, 5) is not None and book.get(orchestrator, 6) is not None  # the round after too
    assert book.get(orchestrator, 7) is None  # past its validity: ask again
