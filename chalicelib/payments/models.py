"""Payment messages on the wire: an orchestrator's quote (ticket parameters and price) and a job's payment.

Livepeer's shapes (``TicketParams``, ``Payment`` with ``ticket_sender_params`` and ``expected_price``), in
camelCase JSON. Every uint256 travels as a decimal string, since JSON numbers above 2^53 lose digits in
most clients; byte strings travel as 0x-hex.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, cast

from eth_typing import ChecksumAddress
from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from chalicelib.chain.tickets import UINT256_MAX, Address, Bytes32, Ticket, expected_value
from chalicelib.core.models import ApiModel
from chalicelib.jobs.models import JobCharge, TranscodeJob

#: The most tickets one job may carry: enough for any sane quote, few enough to check in a few ms.
MAX_TICKETS_PER_JOB = 64


def _uint(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an unsigned integer")
    if isinstance(value, str):
        if not value.isdigit():
            raise ValueError("expected a decimal string of digits")
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise ValueError("expected an unsigned 256-bit integer")
    return value


def _signature(value: Any) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 65:
        raise ValueError(f"a ticket signature is 65 bytes, got {len(raw)}")
    return raw


def _uint_schemas(digits: str) -> tuple[WithJsonSchema, WithJsonSchema]:
    """Taken as a JSON integer or a string of decimal digits; written as the string."""
    text = {"type": "string", "pattern": f"^{digits}$"}
    return WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, text]}, mode="validation"), WithJsonSchema(
        text, mode="serialization"
    )


#: A uint256 as a decimal string on the wire.
WireUint = Annotated[
    int, BeforeValidator(_uint), PlainSerializer(str, return_type=str, when_used="json"), *_uint_schemas("[0-9]+")
]
#: One that must be more than 0.
PositiveWireUint = Annotated[WireUint, Field(gt=0), *_uint_schemas("0*[1-9][0-9]*")]
Signature = Annotated[
    bytes,
    BeforeValidator(_signature),
    PlainSerializer(lambda b: "0x" + b.hex(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{130}$"}, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-f]{130}$"}, mode="serialization"),
]


class Price(ApiModel):
    """``price_per_unit`` wei for every ``pixels_per_unit`` output pixels."""

    price_per_unit: WireUint = Field(description="Wei for every `pixelsPerUnit` output pixels (a decimal string).")
    pixels_per_unit: PositiveWireUint = Field(description="The pixels the price is for (a decimal string).")

    @property
    def per_pixel(self) -> Fraction:
        """Wei per pixel, exactly."""
        return Fraction(self.price_per_unit, self.pixels_per_unit)

    def fee(self, pixels: int) -> int:
        """The fee in wei for ``pixels`` output pixels, rounded up."""
        return -(-pixels * self.price_per_unit // self.pixels_per_unit)


class ExpirationParams(ApiModel):
    """The round a ticket is made in and that round's block hash (the ticket's auxData)."""

    creation_round: WireUint = Field(description="The round the tickets are made in.")
    creation_round_block_hash: Bytes32 = Field(description="That round's block hash.")


class TicketParams(ApiModel):
    """What an orchestrator quotes a sender: every ticket made from it carries these fields.

    ``recipient_rand_hash`` commits to HMAC(orchestrator secret, ``seed`` ‖ the other fields), so the
    orchestrator can check later, without state, that it issued exactly these parameters.
    """

    recipient: Address = Field(description="The orchestrator's address: the tickets pay it.")
    face_value: PositiveWireUint = Field(description="What a winning ticket pays, in wei.")
    win_prob: PositiveWireUint = Field(description="The chance a ticket wins, out of 2^256 - 1.")
    recipient_rand_hash: Bytes32 = Field(description="keccak256 of the orchestrator's recipientRand.")
    seed: Bytes32 = Field(description="What the orchestrator derives recipientRand from, with its secret.")
    expiration_params: ExpirationParams = Field(description="The round the tickets belong to.")

    @property
    def expected_value(self) -> Fraction:
        """One ticket's worth in wei."""
        return expected_value(self.face_value, self.win_prob)

    def ticket(self, sender: str, sender_nonce: int) -> Ticket:
        """The ticket ``sender`` makes from these parameters with ``sender_nonce``.

        Built without validation: every field comes from this validated model, the nonce from the caller.
        """
        if not 0 <= sender_nonce <= UINT256_MAX:
            raise ValueError("a sender nonce is a uint256")
        return Ticket.model_construct(
            recipient=self.recipient,
            sender=cast(ChecksumAddress, sender),  # checksummed where it was validated (Payment, settings)
            face_value=self.face_value,
            win_prob=self.win_prob,
            sender_nonce=sender_nonce,
            recipient_rand_hash=self.recipient_rand_hash,
            creation_round=self.expiration_params.creation_round,
            creation_round_block_hash=self.expiration_params.creation_round_block_hash,
        )


class Quote(ApiModel):
    """An orchestrator's answer to ``GET /orchestrator/ticket-params?sender=``: its parameters and its price."""

    ticket_params: TicketParams = Field(description="What every ticket made from this quote carries.")
    price: Price = Field(description="The orchestrator's price.")
    valid_through_round: int = Field(
        description="The last round in which tickets made from these parameters can still be redeemed."
    )


class TicketSenderParams(ApiModel):
    """What differs between the tickets of one payment: the nonce and the sender's signature."""

    sender_nonce: Annotated[int, Field(ge=1, le=UINT256_MAX, description="Unique per ticket of one quote.")]
    sig: Signature = Field(description="The sender's 65-byte eth_sign signature of the ticket's hash, as hex.")


class Payment(ApiModel):
    """The tickets paying for one job, made from one quote, with the price the sender expects."""

    sender: Address = Field(description="The address whose deposit and reserve back the tickets.")
    ticket_params: TicketParams = Field(description="The quote's ticket parameters the tickets are made from.")
    tickets: Annotated[
        list[TicketSenderParams], Field(max_length=MAX_TICKETS_PER_JOB, description="The tickets: nonce and signature.")
    ]
    expected_price: Price = Field(description="The price the sender pays at; a higher asking price is refused.")

    def signed_tickets(self) -> list[tuple[Ticket, bytes]]:
        """Each ticket with its signature."""
        return [(self.ticket_params.ticket(self.sender, t.sender_nonce), t.sig) for t in self.tickets]

    @property
    def expected_value(self) -> Fraction:
        """What the tickets are worth together, in wei."""
        return self.ticket_params.expected_value * len(self.tickets)


class PaidJob(TranscodeJob):
    """A transcode job as a gateway sends it in on-chain mode: the job, and the tickets paying for it.

    The payment stays with the intake: what is queued for the workers is the plain job (``unpaid``).
    """

    payment: Payment | None = Field(default=None, description="On-chain mode: the tickets paying for the job.")

    def unpaid(self, charge: JobCharge | None = None) -> TranscodeJob:
        """The job without its payment, as the workers take it: ``payer`` names whom to settle with and
        ``charge`` what was charged ahead (whatever the sender wrote in those fields is not kept)."""
        payer = self.payment.sender if self.payment is not None and charge is not None else None
        job = self.model_dump(exclude={"payment", "payer", "charge"})
        return TranscodeJob.model_validate({**job, "payer": payer, "charge": charge})
