"""The orchestrator's intake: check a job sent by a gateway and put it on this orchestrator's queue.

Every gateway is a stranger until it proves otherwise, and nothing is queued before every check passed:
the job must be signed, in off-chain mode by a gateway this orchestrator allows, in on-chain mode by the
sender of the tickets that pay for it; it must be addressed to this orchestrator and recent; every URL in
it must pass the job URL policy (no loopback, private, link-local or metadata addresses unless the
operator allowed that origin); and in on-chain mode its tickets must pay for it (``chalicelib.payments``):
each bad payment is a 402 with its own code, and a job the sender's balance cannot cover is not queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from eth_utils.address import is_address
from pydantic import Field, ValidationError

from chalicelib.core import timing
from chalicelib.core.errors import (
    ApiError,
    Forbidden,
    NotFound,
    PaymentRequired,
    Unauthorized,
    Unprocessable,
    invalid,
)
from chalicelib.core.jsonbody import parse_json
from chalicelib.core.logs import log_context, logger
from chalicelib.core.models import ApiModel
from chalicelib.intake.queue import JobsQueue
from chalicelib.jobs.models import JobCharge, TranscodeJob
from chalicelib.jobs.signing import SIGNATURE_HEADER, signer_of
from chalicelib.jobs.urls import UrlPolicy, UrlRefused, check_job
from chalicelib.payments.chainview import ChainView
from chalicelib.payments.ledger import Ledger
from chalicelib.payments.models import PaidJob, Quote
from chalicelib.payments.pricing import job_pixels
from chalicelib.payments.recipient import CheckedPayment, RecipientTerms, check_payment, quote
from chalicelib.payments.redemption import RedemptionQueue
from chalicelib.payments.winners import WinningTicket


@dataclass(frozen=True)
class PaymentRules:
    """On-chain mode: this orchestrator's terms, its view of the chain, its ledger and redemption queue."""

    terms: RecipientTerms
    view: ChainView
    ledger: Ledger
    redemptions: RedemptionQueue


@dataclass(frozen=True)
class IntakeRules:
    """What this orchestrator takes: from whom, for whom, how old, and which URLs."""

    my_address: str | None
    allowed_gateways: Sequence[str]
    url_policy: UrlPolicy
    max_job_age_ms: int
    now_ms: int
    # None in off-chain mode: jobs are then taken from ``allowed_gateways`` unpaid.
    payments: PaymentRules | None = None


def parse_job(body: bytes) -> PaidJob:
    """Parse and validate a job body, or raise a 4xx error naming what is wrong."""
    data = parse_json(body)
    try:
        return PaidJob.model_validate(data)
    except ValidationError as error:
        raise invalid("invalid_job", "the job does not match the schema", error) from None


def job_signer(body: bytes, signature: str | None) -> str:
    """Return the address that signed ``body``, or raise 401 (unsigned, unusable signature)."""
    if not signature:
        raise Unauthorized("job_unsigned", f"a job must carry its gateway's signature in {SIGNATURE_HEADER}")
    try:
        return signer_of(body, signature)
    except ValueError as error:
        raise Unauthorized("job_bad_signature", f"the job's signature is unusable: {error}") from None


def authenticate_gateway(body: bytes, signature: str | None, allowed: Sequence[str]) -> str:
    """Return the allowed gateway that signed ``body``, or raise 401 (unsigned, bad signature) / 403."""
    signer = job_signer(body, signature)
    if signer.lower() not in {a.lower() for a in allowed}:
        raise Forbidden("gateway_not_allowed", f"this orchestrator takes no jobs from {signer}")
    return signer


def check_job_terms(job: TranscodeJob, rules: IntakeRules) -> None:
    """Refuse a job that is not for this orchestrator, too old or from the future, or names a URL the
    policy refuses (422, each with its own code)."""
    if rules.my_address is not None and job.orchestrator.lower() != rules.my_address.lower():
        raise Unprocessable(
            "wrong_orchestrator", f"this orchestrator is {rules.my_address}, the job is for {job.orchestrator}"
        )
    age_ms = rules.now_ms - job.created_at
    if not -60_000 <= age_ms <= rules.max_job_age_ms:  # a minute of clock skew either way
        raise Unprocessable(
            "job_expired", f"the job was made {age_ms / 1000:.0f} s ago; at most {rules.max_job_age_ms / 1000:.0f} s"
        )
    try:
        check_job(job, rules.url_policy)
    except UrlRefused as refused:
        raise Unprocessable("job_url_not_allowed", refused.message, reason=refused.code) from None


class Taken(NamedTuple):
    """A job the intake took: the job, its queue message, whether its payment retired its quote, and the quote
    the gateway should pay its next jobs from when the one it used is spent or from an older round."""

    job: TranscodeJob
    # None for a paid job delivered again (the delivery that charged it queued it).
    message_id: str | None
    # A ticket won: the gateway must not pay from these ticket parameters again (``ticket_params_spent``).
    ticket_params_spent: bool = False
    renewed: Quote | None = None

    def answer(self) -> JobAccepted:
        """The 202 body telling the gateway what was taken."""
        return JobAccepted(
            job_id=self.job.job_id,
            message_id=self.message_id,
            ticket_params_spent=self.ticket_params_spent,
            quote=self.renewed,
        )


class JobAccepted(ApiModel):
    """`POST /orchestrator/jobs`'s 202 answer: the job is queued for this orchestrator's workers."""

    job_id: str = Field(description="The job's id (its stream and sequence number).")
    message_id: str | None = Field(
        description="The jobs queue's message id; null for a paid job delivered again (its first delivery queued it)."
    )
    ticket_params_spent: bool = Field(
        default=False,
        description="Present, and true, when a ticket won: pay no more tickets from these ticket parameters.",
    )
    quote: Quote | None = Field(
        default=None,
        description="A fresh quote, when the one paid from is spent or from an older round: pay the next jobs from it.",
    )

    def wire(self) -> dict[str, object]:
        """The JSON body: ``messageId`` always (null when none), the others only when they say something."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def take_job(body: bytes, signature: str | None, rules: IntakeRules, queue: JobsQueue) -> Taken:
    """Authenticate, parse and check a job (and its payment), then queue it; return what was taken."""
    if rules.payments is None:
        gateway = authenticate_gateway(body, signature, rules.allowed_gateways)
    else:
        gateway = job_signer(body, signature)  # a stranger is welcome, if it pays
    job = parse_job(body)
    with log_context(stream_id=job.stream_id, seq=job.seq, job_id=job.job_id):
        check_job_terms(job, rules)
        if rules.payments is not None:
            message_id, spent = _take_paid(job, gateway, rules.payments, queue, rules.now_ms // 1000)
            with timing.timed(timing.TICKET_CHECK):
                renewed = _renewal(job, rules.payments, spent)
            return Taken(job, message_id, spent, renewed)
        message_id = queue.send(job.unpaid())  # off-chain: nobody to settle with, whatever the body says
        logger.info("job queued", message_id=message_id, gateway=gateway)
        return Taken(job, message_id)


def _take_paid(job: PaidJob, signer: str, rules: PaymentRules, queue: JobsQueue, now_s: int) -> tuple[str | None, bool]:
    """Check, record and credit the job's tickets and charge its fee, then queue it once; return the message id
    (None for a job delivered again: the delivery that charged it queued it).

    Winning tickets go to the redemption queue once recorded (also when the job itself is then refused:
    they are paid for).
    """
    with timing.timed(timing.TICKET_CHECK):  # what payment adds to the job's way (the queueing is not)
        paid = check_payment(rules.terms, rules.view, job.payment, signer)
        pixels = job_pixels(job)
        price = rules.terms.price
        fee = price.fee(pixels)
        try:
            charge = rules.ledger.pay(paid, job.job_id, fee, now_s)
        except PaymentRequired as refusal:
            if refusal.code == "insufficient_balance":  # recorded and credited, though the job is refused
                _redeem_winners(paid, rules)
            raise
        _redeem_winners(paid, rules)
    if charge.outcome == "already_charged":  # delivered again: queued by the delivery that charged it
        logger.info("job already taken", sender=paid.sender)
        return None, bool(paid.winners)
    charged = JobCharge(
        pixels=pixels, fee=fee, price_per_unit=price.price_per_unit, pixels_per_unit=price.pixels_per_unit
    )
    try:
        with timing.timed(timing.INTAKE_QUEUE):
            message_id = queue.send(job.unpaid(charged))
    except Exception:
        rules.ledger.refund(paid, job.job_id, fee)  # the gateway gets a 5xx and has the job made elsewhere
        raise
    logger.info(
        "paid job queued",
        message_id=message_id,
        sender=paid.sender,
        tickets=len(paid.tickets),
        won=len(paid.winners),
        credit_wei=paid.credit,
        fee_wei=fee,
    )
    return message_id, bool(paid.winners)


def _renewal(job: PaidJob, rules: PaymentRules, spent: bool) -> Quote | None:
    """A fresh quote for the job's sender when the one it paid from is spent or older than the last initialized
    round, sent back with the 202 so that the gateway need not stop a later segment to ask (as Livepeer's
    orchestrators return ticket parameters with every segment's answer). None when none is needed, or when
    this sender would get none now (the gateway then hears why when it asks)."""
    assert job.payment is not None
    created = job.payment.ticket_params.expiration_params.creation_round
    if not spent and created >= rules.view.current_round().last_initialized:
        return None
    try:
        return quote(rules.terms, rules.view, job.payment.sender)
    except ApiError as refusal:
        logger.info("no quote renewed", sender=job.payment.sender, reason=refusal.code)
        return None


def _redeem_winners(paid: CheckedPayment, rules: PaymentRules) -> None:
    for winner in paid.winners:
        try:
            rules.redemptions.send(WinningTicket.of(winner.key, winner.ticket, winner.sig, paid.seed))
        except Exception as error:  # recorded as pending: the winners' sweep sends it again; the job goes on
            logger.warning("winning ticket not queued; the sweep will", ticket=winner.key, error=str(error))


def quote_for(rules: PaymentRules | None, sender: str | None) -> Quote:
    """``GET /orchestrator/ticket-params?sender=``: this orchestrator's ticket parameters and price for ``sender``."""
    if rules is None:
        raise NotFound("not_on_chain", "this orchestrator runs in off-chain mode: it takes no tickets")
    if not sender or not is_address(sender):
        raise Unprocessable("invalid_sender", "?sender= must be the sender's Ethereum address")
    return quote(rules.terms, rules.view, sender)
