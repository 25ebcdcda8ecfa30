"""Why a payment is refused. Every refusal is a 402 with its own stable code, raised before anything is queued."""

from __future__ import annotations

from chalicelib.core.errors import PaymentRequired


def refused(code: str, message: str) -> PaymentRequired:
    """A 402 refusal with ``code`` (one of ``REFUSAL_CODES``)."""
    assert code in REFUSAL_CODES, code
    return PaymentRequired(code, message)


#: Every code a payment can be refused with, and what it means (the README's table is made from this).
REFUSAL_CODES: dict[str, str] = {
    "payment_missing": "the job carries no payment, or a payment without tickets",
    "payment_not_from_signer": "the payment's sender is not the key that signed the job",
    "ticket_wrong_recipient": "the tickets are made out to another orchestrator",
    "ticket_params_unknown": "the ticket parameters were not quoted by this orchestrator (or were altered)",
    "ticket_expired": "the tickets' creation round is too old to redeem them, or not yet begun",
    "price_mismatch": "the payment expects a lower price than this orchestrator asks",
    "ticket_bad_signature": "a ticket's signature is not the sender's",
    "ticket_replayed": "a ticket (recipientRand, senderNonce) was already received",
    "ticket_params_spent": "a ticket from these parameters already won: the sender must ask for new ones",
    "sender_unlocking": "the sender started to unlock its deposit and reserve",
    "sender_underfunded": "the sender's deposit and reserve allocation cannot cover a ticket's face value",
    "insufficient_balance": "the tickets received so far are worth less than the job's fee",
}
