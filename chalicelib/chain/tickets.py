"""Probabilistic payment tickets, byte for byte as the TicketBroker (and Livepeer) reads them.

A ticket is ``(recipient, sender, faceValue, winProb, senderNonce, recipientRandHash, auxData)`` with
``auxData = creationRound (uint256) ‖ creationRoundBlockHash (bytes32)``. Its hash is keccak256 of the 232
packed bytes; the sender signs that hash with eth_sign (EIP-191 personal prefix; 65 bytes, v in {27, 28},
low s). It wins when ``uint256(keccak256(sig ‖ recipientRand)) < winProb``, where the orchestrator derives
``recipientRand`` statelessly with an HMAC over the seed and the ticket parameters it quoted.
"""

from __future__ import annotations

import hashlib
import hmac
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any

from coincurve import PrivateKey, PublicKey
from Crypto.Hash import keccak as _keccak256
from eth_typing import ChecksumAddress
from eth_utils.address import is_hex_address, to_checksum_address
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

UINT256_MAX = 2**256 - 1
#: Bytes hashed for a ticket: two addresses, four words, 64 bytes of auxData.
TICKET_PACKED_LENGTH = 20 + 20 + 32 * 4 + 64
SIGNATURE_LENGTH = 65
#: secp256k1 order / 2: signatures with a larger s are malleable and the contract refuses them.
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def _as_bytes32(value: Any) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def keccak(data: bytes) -> bytes:
    """keccak256 of ``data`` (pycryptodome's, called directly: a ticket takes several, so the wrapper counts)."""
    return bytes(_keccak256.new(digest_bits=256, data=data).digest())


def _address_bytes(value: str) -> bytes:
    """The 20 bytes of a 0x-hex address, any case (checksumming would cost two more hashes per ticket)."""
    if not is_hex_address(value):
        raise ValueError(f"not an address: {value!r}")
    return bytes.fromhex(value[2:])


def _as_address(value: Any) -> ChecksumAddress:
    return to_checksum_address(value)


Bytes32 = Annotated[
    bytes,
    BeforeValidator(_as_bytes32),
    PlainSerializer(lambda b: "0x" + b.hex(), return_type=str, when_used="json"),
    # On the wire: 32 bytes as hex, 0x-prefixed when this side writes them.
    WithJsonSchema({"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$"}, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-f]{64}$"}, mode="serialization"),
]
Address = Annotated[
    ChecksumAddress,
    BeforeValidator(_as_address),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}),
]
Uint256 = Annotated[int, Field(ge=0, le=UINT256_MAX)]


class Ticket(BaseModel):
    """One payment ticket, as the sender signs it and the TicketBroker redeems it."""

    model_config = ConfigDict(frozen=True)

    recipient: Address
    sender: Address
    face_value: Uint256
    win_prob: Uint256
    sender_nonce: Uint256
    recipient_rand_hash: Bytes32
    creation_round: Uint256
    creation_round_block_hash: Bytes32

    @property
    def aux_data(self) -> bytes:
        """``creationRound ‖ creationRoundBlockHash``, 64 bytes."""
        return aux_data(self.creation_round, self.creation_round_block_hash)

    def packed(self) -> bytes:
        """The 232 bytes of ``abi.encodePacked`` the hash is taken over."""
        return (
            bytes.fromhex(self.recipient[2:])
            + bytes.fromhex(self.sender[2:])
            + self.face_value.to_bytes(32, "big")
            + self.win_prob.to_bytes(32, "big")
            + self.sender_nonce.to_bytes(32, "big")
            + self.recipient_rand_hash
            + self.aux_data
        )

    def hash(self) -> bytes:
        """keccak256 of the packed ticket: what the sender signs and the contract marks used."""
        return keccak(self.packed())

    def as_contract_args(self) -> tuple[str, str, int, int, int, bytes, bytes]:
        """The ``Ticket`` struct tuple for a contract call."""
        return (
            self.recipient,
            self.sender,
            self.face_value,
            self.win_prob,
            self.sender_nonce,
            self.recipient_rand_hash,
            self.aux_data,
        )


def aux_data(creation_round: int, creation_round_block_hash: bytes) -> bytes:
    """Encode a ticket's auxData: the round it was made in and that round's recorded block hash."""
    return creation_round.to_bytes(32, "big") + _as_bytes32(creation_round_block_hash)


def parse_aux_data(data: bytes) -> tuple[int, bytes]:
    """Split a ticket's auxData into (creationRound, creationRoundBlockHash); it must be 64 bytes."""
    if len(data) != 64:
        raise ValueError(f"auxData must be 64 bytes, got {len(data)}")
    return int.from_bytes(data[:32], "big"), bytes(data[32:])


def ticket_hash(ticket: Ticket) -> bytes:
    """keccak256 over the 232 packed bytes of ``ticket``."""
    return ticket.hash()


#: What eth_sign puts before a 32-byte message (EIP-191 version 0x45).
_PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n32"


def _signed_digest(ticket: Ticket) -> bytes:
    return keccak(_PERSONAL_PREFIX + ticket.hash())


@lru_cache(maxsize=16)
def _private_key(private_key: bytes | str) -> PrivateKey:
    raw = bytes.fromhex(private_key.removeprefix("0x")) if isinstance(private_key, str) else bytes(private_key)
    return PrivateKey(raw)


def sign_ticket(ticket: Ticket, private_key: bytes | str) -> bytes:
    """The sender's eth_sign signature over the ticket hash: 65 bytes ``r ‖ s ‖ v`` with v in {27, 28}.

    libsecp256k1 (coincurve) signs deterministically (RFC 6979) and always with a low s, as the contract
    requires; it is what eth_keys itself uses when installed, called here without the per-call wrapping.
    """
    signature = _private_key(private_key).sign_recoverable(_signed_digest(ticket), hasher=None)
    return signature[:64] + bytes([signature[64] + 27])


def _signer_bytes(ticket: Ticket, signature: bytes) -> bytes | None:
    if len(signature) != SIGNATURE_LENGTH or signature[64] not in (27, 28):
        return None
    if int.from_bytes(signature[32:64], "big") > SECP256K1_HALF_N:
        return None
    try:
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), _signed_digest(ticket), hasher=None
        )
    except Exception:  # libsecp256k1 refuses r or s out of range, or no point to recover
        return None
    return keccak(public.format(compressed=False)[1:])[-20:]


def recover_ticket_signer(ticket: Ticket, signature: bytes) -> ChecksumAddress | None:
    """The address that signed ``ticket``, or None for a signature the contract would refuse."""
    signer = _signer_bytes(ticket, signature)
    return None if signer is None else to_checksum_address(signer)


def is_valid_ticket_signature(ticket: Ticket, signature: bytes) -> bool:
    """Whether ``signature`` is the ticket sender's valid, canonical signature over the ticket."""
    return _signer_bytes(ticket, signature) == bytes.fromhex(ticket.sender[2:])


def is_winning_ticket(signature: bytes, recipient_rand: int, win_prob: int) -> bool:
    """The contract's winning rule: ``uint256(keccak256(sig ‖ recipientRand)) < winProb``."""
    digest = keccak(signature + recipient_rand.to_bytes(32, "big"))
    return int.from_bytes(digest, "big") < win_prob


def recipient_rand_hash(recipient_rand: int) -> bytes:
    """keccak256 of recipientRand as a uint256: the commitment a ticket carries."""
    return keccak(recipient_rand.to_bytes(32, "big"))


def recipient_rand(
    secret: bytes,
    seed: bytes,
    *,
    recipient: str,
    sender: str,
    face_value: int,
    win_prob: int,
    creation_round: int,
    creation_round_block_hash: bytes,
) -> int:
    """The orchestrator's recipientRand: HMAC-SHA256(secret, seed ‖ ticket parameters) as a uint256.

    The parameters are packed like the ticket: ``seed (32) ‖ recipient (20) ‖ sender (20) ‖ faceValue (32)
    ‖ winProb (32) ‖ auxData (64)``. The seed travels in the quoted ticket parameters, so the orchestrator
    re-derives the number from what the ticket says and keeps no state.
    """
    message = (
        _as_bytes32(seed)
        + _address_bytes(recipient)
        + _address_bytes(sender)
        + face_value.to_bytes(32, "big")
        + win_prob.to_bytes(32, "big")
        + aux_data(creation_round, creation_round_block_hash)
    )
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest(), "big")


def expected_value(face_value: int, win_prob: int) -> Fraction:
    """A ticket's worth in wei: faceValue × winProb / (2^256 − 1)."""
    return Fraction(face_value * win_prob, UINT256_MAX)


def win_prob_for(expected_value_wei: int, face_value: int) -> int:
    """The winProb (rounded down) that makes a ticket of ``face_value`` worth ``expected_value_wei``."""
    if face_value <= 0:
        raise ValueError("face_value must be positive")
    return min(UINT256_MAX, expected_value_wei * UINT256_MAX // face_value)
