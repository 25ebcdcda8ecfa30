"""The gateway's side of payments: get an orchestrator's quote, check it, and pay each job with tickets.

A quote is asked for once per orchestrator and round and kept in memory; tickets made from it differ only by
their sender nonce, which a DynamoDB counter per quote hands out in strictly increasing blocks (concurrent
gateways' functions never reuse one). A quote is refused, and the orchestrator skipped, when its round is
over, its price is above the gateway's maximum, or its face value is more than the gateway's own deposit and
reserve allocation could pay.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import requests
from eth_utils.address import to_checksum_address
from pydantic import ValidationError

from chalicelib.chain.tickets import sign_ticket
from chalicelib.jobs.models import TranscodeJob
from chalicelib.payments.chainview import ChainView
from chalicelib.payments.models import MAX_TICKETS_PER_JOB, PaidJob, Payment, Quote, TicketSenderParams
from chalicelib.payments.pricing import job_pixels, tickets_needed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

QUOTE_PATH = "/orchestrator/ticket-params"
#: A quote's nonce counter is kept this long after its last use (a quote lasts a round or two).
NONCE_TTL_S = 86_400


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


class NonceCounter:
    """Sender nonces per quote (keyed by its recipientRandHash), handed out from blocks this process reserves.

    The table's counter moves by ``BLOCK`` at a time (one write per block, not per segment); each process
    hands out its block's numbers in increasing order. Blocks never overlap, so no nonce is used twice by
    any two of the gateway's functions, and each function's tickets carry strictly increasing nonces.
    """

    BLOCK = 64

    def __init__(self, table: Table) -> None:
        self._table = table
        self._blocks: dict[str, tuple[int, int]] = {}  # quote key -> (next, end exclusive)
        self._lock = threading.Lock()

    def take(self, quote: Quote, count: int, ttl_s: int) -> int:
        """Reserve ``count`` nonces for ``quote``; return the first (the block is first .. first+count-1)."""
        key = "0x" + quote.ticket_params.recipient_rand_hash.hex()
        with self._lock:
            following, end = self._blocks.get(key, (0, 0))
            if end - following < count:
                size = max(count, self.BLOCK)
                answer = self._table.update_item(
                    Key={"id": key},
                    UpdateExpression="ADD nonce :n SET #ttl = :t, recipient = :r",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={":n": size, ":t": ttl_s, ":r": quote.ticket_params.recipient},
                    ReturnValues="UPDATED_NEW",
                )
                end = int(answer["Attributes"]["nonce"]) + 1  # type: ignore[arg-type]
                following = end - size
            self._blocks[key] = (following + count, end)
            return following


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


class QuoteBook:
    """The quotes this process holds, per orchestrator (thread-safe: the local front serves threads)."""

    def __init__(self) -> None:
        self._quotes: dict[str, Quote] = {}
        self._lock = threading.Lock()

    def get(self, orchestrator: str, last_initialized: int) -> Quote | None:
        """A held quote made in the last initialized round (a newer initialized round calls for a new one)."""
        with self._lock:
            quote = self._quotes.get(orchestrator.lower())
        if quote is None or quote.ticket_params.expiration_params.creation_round < last_initialized:
            return None
        return quote

    def put(self, orchestrator: str, quote: Quote) -> None:
        with self._lock:
            self._quotes[orchestrator.lower()] = quote

    def drop(self, orchestrator: str) -> None:
        with self._lock:
            self._quotes.pop(orchestrator.lower(), None)


@dataclass
class Payer:
    """Pays each job the gateway sends: a held (or fresh) quote, the job's fee in tickets, nonces from the counter."""

    terms: SenderTerms
    view: ChainView
    nonces: NonceCounter
    book: QuoteBook
    http: requests.Session
    timeout_s: float
    _paid: dict[str, int] = field(default_factory=dict)

    def quote(self, orchestrator: str, url: str) -> Quote:
        """A checked quote of ``orchestrator`` for the current round (asked for at most once per round)."""
        held = self.book.get(orchestrator, self.view.current_round().last_initialized)
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
        first = self.nonces.take(quote, count, ttl_s=job.created_at // 1000 + NONCE_TTL_S)
        self._paid[job.job_id] = count
        return PaidJob(**dict(job), payment=make_payment(quote, self.terms, first, count))

    def tickets_paid(self, job_id: str) -> int | None:
        """How many tickets the last payment for ``job_id`` carried (forgotten once asked)."""
        return self._paid.pop(job_id, None)

    def forget(self, orchestrator: str) -> None:
        """Drop the held quote (the orchestrator refused a payment made from it)."""
        self.book.drop(orchestrator)
