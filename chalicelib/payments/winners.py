"""A winning ticket as the redeemer needs it: the ticket, the sender's signature, and the quote's seed (from which
the redeemer re-derives recipientRand; the number itself is written nowhere before it is revealed on chain)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from chalicelib.chain.tickets import Bytes32, Ticket


class WinningTicket(BaseModel):
    """One redemption-queue message."""

    model_config = ConfigDict(frozen=True)

    key: str
    ticket: Ticket
    sig: bytes
    seed: Bytes32

    @classmethod
    def of(cls, key: str, ticket: Ticket, sig: bytes, seed: bytes) -> WinningTicket:
        """The message for a winning ticket received with a quote's ``seed``."""
        return cls(key=key, ticket=ticket, sig=sig, seed=seed)

    def body(self) -> str:
        """The message body (JSON)."""
        return json.dumps(
            {
                "key": self.key,
                "ticket": self.ticket.model_dump(mode="json"),
                "sig": "0x" + bytes(self.sig).hex(),
                "seed": "0x" + self.seed.hex(),
            }
        )

    @classmethod
    def parse(cls, body: str) -> WinningTicket:
        """Read a message body."""
        data = json.loads(body)
        return cls(
            key=data["key"],
            ticket=Ticket.model_validate(data["ticket"]),
            sig=bytes.fromhex(data["sig"].removeprefix("0x")),
            seed=data["seed"],
        )
