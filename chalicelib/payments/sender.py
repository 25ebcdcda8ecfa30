"""The gateway's side of payments: get an orchestrator's quote, check it, and pay each job with tickets.

A quote is asked for once and kept in memory while its tickets can be redeemed; the orchestrator sends a
fresh one with its answer to a job whenever the one paid from is spent (a ticket won) or from an older round
than its last initialized one, so after the first the gateway seldom waits for a quote. Tickets made from a
quote differ only by their sender nonce, counted up from 1 in the thread that holds the quote. A quote is
refused, and the orchestrator skipped, when its round is over, its price is above the gateway's maximum, or
its face value is more than the gateway's own deposit and reserve allocation could pay.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import requests
from eth_utils.address import to_checksum_address
from pydantic import ValidationError

from chalicelib.chain.tickets import sign_ticket
from chalicelib.core.logs import logger
from chalicelib.jobs.models import TranscodeJob
from chalicelib.payments.chainview import ChainView
from chalicelib.payments.models import MAX_TICKETS_PER_JOB, PaidJob, Payment, Quote, TicketSenderParams
from chalicelib.payments.pricing import job_pixels, tickets_needed

QUOTE_PATH = "/orchestrator/ticket-params"


class QuoteRefused(Exception):
    """An orchestrator's quote the gateway will not pay from, with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SenderTerms:
    """The gateway as a sender: its address, key, and the most it pays per pixel."""

    address: str
    private_key: str
    max_price_per_pixel: Decimal
    #: The most one ticket may be worth (wei): a quote of one ticket worth the whole deposit is refused.
    max_ticket_ev: int


def fetch_quote(http: requests.Session, base_url: str, sender: str, timeout_s: float) -> Quote:
    """Ask an orchestrator's intake for ticket parameters; ``QuoteRefused`` if it says no or answers nonsense."""
    try:
        response = http.get(base_url.rstrip("/") + QUOTE_PATH, params={"sender": sender}, timeout=timeout_s)
    except requests.RequestException as error:
        raise QuoteRefused("quote_unreachable", f"{type(error).__name__}: {error}") from None
    if response.status_code != 200:
        try:
            code = str(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = f"http_{response.status_code}"
        raise QuoteRefused(f"quote_refused:{code}", response.text[:300])
    try:
        return Quote.model_validate_json(response.content)
    except ValidationError as error:
        raise QuoteRefused("quote_invalid", str(error)[:300]) from None


def check_quote(quote: Quote, terms: SenderTerms, orchestrator: str, view: ChainView) -> None:
    """Refuse a quote that is for someone else, out of date, too dear, or backed by more than we hold."""
    params = quote.ticket_params
    if params.recipient.lower() != orchestrator.lower():
        raise QuoteRefused("quote_wrong_recipient", f"{orchestrator} quoted tickets to {params.recipient}")
    now = view.current_round().number
    created = params.expiration_params.creation_round
    # As the intake judges it (its view of the round may lag or lead ours by one at a round's turn).
    if not -1 <= now - created < view.ticket_validity_period():
        raise QuoteRefused("quote_expired", f"the quote is for round {created}, this is round {now}")
    if quote.price.per_pixel > Fraction(terms.max_price_per_pixel):
        raise QuoteRefused(
            "price_too_high",
            f"{orchestrator} asks {float(quote.price.per_pixel):g} wei per pixel, "
            f"more than the {terms.max_price_per_pixel} this gateway pays",
        )
    if params.expected_value > terms.max_ticket_ev:
        raise QuoteRefused(
            "ticket_ev_too_high",
            f"{orchestrator}'s tickets are worth {float(params.expected_value):g} wei each; this gateway pays at most "
            f"{terms.max_ticket_ev} wei per ticket",
        )
    funds = view.sender_funds(terms.address, orchestrator)
    if not funds.covers(params.face_value):
        raise QuoteRefused(
            "face_value_too_high",
            f"a ticket of {params.face_value} wei is more than this gateway's deposit and reserve allocation",
        )


def make_payment(quote: Quote, terms: SenderTerms, first_nonce: int, count: int) -> Payment:
    """Tickets ``first_nonce`` .. ``first_nonce + count - 1`` from ``quote``, signed by the gateway."""
    params = quote.ticket_params
    tickets = [
        TicketSenderParams(sender_nonce=n, sig=sign_ticket(params.ticket(terms.address, n), terms.private_key))
        for n in range(first_nonce, first_nonce + count)
    ]
    return Payment(
        sender=to_checksum_address(terms.address), ticket_params=params, tickets=tickets, expected_price=quote.price
    )


def tickets_for(quote: Quote, fee_wei: int) -> int:
    """How many of ``quote``'s tickets pay ``fee_wei``; ``QuoteRefused`` if more than a job may carry."""
    count = tickets_needed(fee_wei, quote.ticket_params.expected_value)
    if count > MAX_TICKETS_PER_JOB:
        raise QuoteRefused(
            "ticket_value_too_small",
            f"the fee needs {count} tickets of this quote; a job carries at most {MAX_TICKETS_PER_JOB}",
        )
    return count


@dataclass
class _Held:
    quote: Quote
    #: The next sender nonce of this quote's tickets (nonces start at 1).
    next_nonce: int = 1


class QuoteBook:
    """The quotes this process holds, one per orchestrator and thread, each with its next sender nonce.

    The orchestrator takes a quote's tickets only in increasing nonce order (``ledger``), so a quote is used by
    one thread, whose jobs go out one after another (a Lambda function serves one request at a time, the local
    front several at once, one per thread), and its nonces are counted here. No other process can hold the
    same quote: each asks for its own, and every quote has a fresh random seed (so its own recipientRandHash).
    """

    def __init__(self) -> None:
        self._quotes: dict[tuple[str, int], _Held] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(orchestrator: str) -> tuple[str, int]:
        return orchestrator.lower(), threading.get_ident()

    def get(self, orchestrator: str, current_round: int) -> Quote | None:
        """This thread's quote of ``orchestrator`` if its tickets can still be redeemed in ``current_round``."""
        with self._lock:
            held = self._quotes.get(self._key(orchestrator))
        if held is None or current_round > held.quote.valid_through_round:
            return None
        return held.quote

    def put(self, orchestrator: str, quote: Quote) -> None:
        """Hold ``quote`` for this thread (its nonces start at 1)."""
        with self._lock:
            self._quotes[self._key(orchestrator)] = _Held(quote)

    def drop(self, orchestrator: str) -> None:
        with self._lock:
            self._quotes.pop(self._key(orchestrator), None)

    def take_nonces(self, orchestrator: str, quote: Quote, count: int) -> int:
        """Reserve ``count`` nonces of this thread's ``quote``; return the first (first .. first+count-1)."""
        with self._lock:
            held = self._quotes.get(self._key(orchestrator))
            if held is None or held.quote is not quote:
                raise ValueError("nonces are taken from the quote this thread holds")
            first = held.next_nonce
            held.next_nonce += count
            return first


@dataclass
class Payer:
    """Pays each job the gateway sends: a held (or fresh) quote, the job's fee in tickets, the quote's next nonces."""

    terms: SenderTerms
    view: ChainView
    book: QuoteBook
    http: requests.Session
    timeout_s: float
    _paid: dict[str, int] = field(default_factory=dict)

    def quote(self, orchestrator: str, url: str) -> Quote:
        """A checked quote of ``orchestrator`` still good this round: the one held, or one asked for now."""
        held = self.book.get(orchestrator, self.view.current_round().number)
        if held is not None:
            return held
        quote = fetch_quote(self.http, url, self.terms.address, self.timeout_s)
        check_quote(quote, self.terms, orchestrator, self.view)
        self.book.put(orchestrator, quote)
        return quote

    def pay(self, orchestrator: str, url: str, job: TranscodeJob) -> PaidJob:
        """``job`` with a payment covering its fee at ``orchestrator``'s quoted price; ``QuoteRefused`` if the
        orchestrator's terms are not acceptable."""
        quote = self.quote(orchestrator, url)
        fee = quote.price.fee(job_pixels(job))
        count = tickets_for(quote, fee)
        first = self.book.take_nonces(orchestrator, quote, count)
        self._paid[job.job_id] = count
        return PaidJob(**dict(job), payment=make_payment(quote, self.terms, first, count))

    def tickets_paid(self, job_id: str) -> int | None:
        """How many tickets the last payment for ``job_id`` carried (forgotten once asked)."""
        return self._paid.pop(job_id, None)

    def forget(self, orchestrator: str) -> None:
        """Drop the held quote (the orchestrator refused a payment made from it, or one of its tickets won)."""
        self.book.drop(orchestrator)

    def renew(self, orchestrator: str, quote: Quote) -> None:
        """Hold ``quote``, sent by ``orchestrator`` with its answer to a job, once checked as any quote is; a
        quote this gateway would refuse is dropped with the held one, and the next job asks again."""
        try:
            check_quote(quote, self.terms, orchestrator, self.view)
        except QuoteRefused as refused:
            logger.warning("renewed quote refused", orchestrator=orchestrator, reason=refused.code)
            self.book.drop(orchestrator)
            return
        self.book.put(orchestrator, quote)
