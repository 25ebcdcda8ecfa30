"""The orchestrator's side of payments: quote ticket parameters, then check each job's tickets.

recipientRand is an HMAC of a random seed and the quoted parameters under a secret derived from the
orchestrator's key, so a ticket proves by itself that this orchestrator quoted its parameters, and nothing
is stored per quote. Checks run cheapest first and each refusal has its own code (``errors.REFUSAL_CODES``);
only a payment that passes all of them reaches the ledger, which refuses replays and insufficient credit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from fractions import Fraction

from eth_utils.address import to_checksum_address

from chalicelib.chain.tickets import (
    Ticket,
    is_valid_ticket_signature,
    is_winning_ticket,
    recipient_rand,
    recipient_rand_hash,
    win_prob_for,
)
from chalicelib.core.errors import Unavailable
from chalicelib.payments.chainview import ChainView, SenderFunds
from chalicelib.payments.errors import refused
from chalicelib.payments.models import ExpirationParams, Payment, Price, Quote, TicketParams
from chalicelib.payments.pricing import credit_for

#: The least face value quoted, in tickets' expected values: winProb stays at or under 1/2.
MIN_FACE_VALUE_TO_EV = 2


def recipient_secret(private_key: bytes) -> bytes:
    """The HMAC key for recipientRand: derived from the orchestrator's Ethereum key, never the key itself."""
    return hmac.new(private_key, b"lp/recipient-rand/v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class RecipientTerms:
    """What this orchestrator asks: its address, HMAC secret, price and the tickets it quotes."""

    address: str
    secret: bytes
    price: Price
    face_value: int
    ticket_ev: int
    #: The least face value quoted, in tickets' expected values (2: winProb at most 1/2).
    min_face_to_ev: int = MIN_FACE_VALUE_TO_EV


@dataclass(frozen=True)
class PaidTicket:
    """A ticket that passed every check, with what the ledger and the redeemer need."""

    ticket: Ticket
    sig: bytes
    won: bool

    @property
    def key(self) -> str:
        """``<recipientRandHash>:<senderNonce>``: what a replay repeats."""
        return f"0x{self.ticket.recipient_rand_hash.hex()}:{self.ticket.sender_nonce}"


@dataclass(frozen=True)
class CheckedPayment:
    """A payment whose tickets are all good: the sender, the tickets, their credit (wei) and the seed."""

    sender: str
    tickets: list[PaidTicket]
    credit: int
    seed: bytes
    recipient_rand_hash: bytes
    #: The sender's deposit and reserve allocation as the checks saw them: all its unredeemed winners together
    #: must stay within it (the ledger's ``pendingWinnings``).
    funds: int = 0

    @property
    def winners(self) -> list[PaidTicket]:
        """The tickets that won."""
        return [t for t in self.tickets if t.won]


def _rand_for(terms: RecipientTerms, sender: str, params: TicketParams) -> int:
    # The fields every ticket of these parameters shares; the nonce is not part of the HMAC.
    return rand_for_ticket(terms, params.ticket(sender, 0), params.seed)


def quote(terms: RecipientTerms, view: ChainView, sender: str, seed: bytes | None = None) -> Quote:
    """Ticket parameters for ``sender`` in the current round, at this orchestrator's price.

    The face value is the configured one, lowered to what the sender's deposit and reserve allocation can
    pay (a winning ticket the broker cannot pay in full is worth nothing); winProb follows from the
    expected value per ticket. A sender that is unlocking or has no money gets no quote.
    """
    sender = to_checksum_address(sender)
    now = view.current_round()
    if now.last_initialized == 0 or not any(now.last_initialized_block_hash):
        raise Unavailable("round_not_initialized", "no round is initialized yet; ask again shortly")
    funds = view.sender_funds(sender, terms.address)
    _require_active(terms, funds)
    if funds.unlocking:
        raise refused("sender_unlocking", f"{sender} has started to unlock its deposit")
    face_value = min(terms.face_value, funds.deposit + funds.reserve_allocation)
    # A face value lowered to near a ticket's expected value makes (nearly) every ticket a winner: credit the
    # sender's money could not back. Livepeer, too, refuses a sender whose money is below a sensible ticket.
    if face_value < terms.min_face_to_ev * terms.ticket_ev:
        raise refused(
            "sender_underfunded",
            f"{sender}'s deposit and reserve allocation ({face_value} wei) are under {terms.min_face_to_ev} "
            f"tickets' worth ({terms.ticket_ev} wei each): fund more",
        )
    created = now.last_initialized
    params = TicketParams(
        recipient=to_checksum_address(terms.address),
        face_value=face_value,
        win_prob=win_prob_for(terms.ticket_ev, face_value),
        recipient_rand_hash=b"\0" * 32,
        seed=seed if seed is not None else os.urandom(32),
        expiration_params=ExpirationParams(
            creation_round=created, creation_round_block_hash=now.last_initialized_block_hash
        ),
    )
    rand = _rand_for(terms, sender, params)
    params = params.model_copy(update={"recipient_rand_hash": recipient_rand_hash(rand)})
    validity = view.ticket_validity_period()
    return Quote(ticket_params=params, price=terms.price, valid_through_round=created + validity - 1)


def check_payment(terms: RecipientTerms, view: ChainView, payment: Payment | None, signer: str) -> CheckedPayment:
    """Check every ticket of a job's payment against this orchestrator's terms and the chain, or raise 402."""
    if payment is None or not payment.tickets:
        raise refused("payment_missing", "on-chain mode: every job carries a payment with at least one ticket")
    sender = payment.sender
    if sender.lower() != signer.lower():
        raise refused("payment_not_from_signer", f"the job is signed by {signer}, the tickets are from {sender}")
    params = payment.ticket_params
    if params.recipient.lower() != terms.address.lower():
        raise refused("ticket_wrong_recipient", f"the tickets pay {params.recipient}, this is {terms.address}")
    rand = _rand_for(terms, sender, params)
    if recipient_rand_hash(rand) != params.recipient_rand_hash:
        raise refused("ticket_params_unknown", "these ticket parameters were not quoted by this orchestrator")
    now = view.current_round()
    created = params.expiration_params.creation_round
    # Still redeemable (the broker's rule); one round ahead is a view of the round a moment older than the
    # one that quoted (these parameters are this orchestrator's own, the HMAC says so).
    if not -1 <= now.number - created < view.ticket_validity_period():
        raise refused("ticket_expired", f"tickets of round {created} are not taken in round {now.number}: ask again")
    if payment.expected_price.per_pixel < terms.price.per_pixel:
        raise refused("price_mismatch", f"this orchestrator asks {terms.price.per_pixel} wei per pixel, not less")
    tickets: list[PaidTicket] = []
    nonces: set[int] = set()
    for ticket, sig in payment.signed_tickets():
        if ticket.sender_nonce in nonces:
            raise refused("ticket_replayed", f"sender nonce {ticket.sender_nonce} is used twice in one payment")
        nonces.add(ticket.sender_nonce)
        if not is_valid_ticket_signature(ticket, sig):
            raise refused("ticket_bad_signature", f"ticket {ticket.sender_nonce} is not signed by {sender}")
        tickets.append(PaidTicket(ticket, sig, is_winning_ticket(sig, rand, ticket.win_prob)))
    funds = view.sender_funds(sender, terms.address)
    _require_active(terms, funds)
    if funds.unlocking:
        raise refused("sender_unlocking", f"{sender} has started to unlock its deposit: its tickets may go unpaid")
    # Every winner of this payment must be payable (the quote is retired after it, so no more can follow).
    if not funds.covers(params.face_value * max(1, sum(t.won for t in tickets))):
        raise refused(
            "sender_underfunded",
            f"{sender}'s deposit and reserve allocation ({funds.deposit + funds.reserve_allocation} wei) "
            f"cannot pay a winning ticket of {params.face_value} wei",
        )
    credit = credit_for(len(tickets), Fraction(params.expected_value))
    total = funds.deposit + funds.reserve_allocation
    return CheckedPayment(sender, tickets, credit, params.seed, params.recipient_rand_hash, total)


def _require_active(terms: RecipientTerms, funds: SenderFunds) -> None:
    """Take no tickets while this orchestrator is outside the active set: the broker would not pay them."""
    if not funds.recipient_active:
        raise Unavailable(
            "orchestrator_not_active",
            f"{terms.address} is not in the active set this round: its tickets could not be redeemed",
        )


def rand_for_ticket(terms: RecipientTerms, ticket: Ticket, seed: bytes) -> int:
    """The recipientRand of a ticket made from parameters this orchestrator quoted with ``seed``."""
    return recipient_rand(
        terms.secret,
        seed,
        recipient=ticket.recipient,
        sender=ticket.sender,
        face_value=ticket.face_value,
        win_prob=ticket.win_prob,
        creation_round=ticket.creation_round,
        creation_round_block_hash=ticket.creation_round_block_hash,
    )
