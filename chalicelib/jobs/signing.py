"""A gateway's signature on the job it sends: how an orchestrator in off-chain mode knows who sent it.

The gateway signs the exact body it POSTs (EIP-191 ``personal_sign`` with its stage key) and sends the
signature in the ``Lp-Job-Signature`` header; the orchestrator recovers the signer from the body it
received and takes the job only from gateways it allows (``LP_ALLOWED_GATEWAYS``). The job names the
orchestrator it is for and when it was made, so a captured job cannot be sent elsewhere or much later.
``eth_account`` is imported only when a job is signed or checked, so that other handlers start faster.
"""

from __future__ import annotations

from pydantic import SecretStr

SIGNATURE_HEADER = "Lp-Job-Signature"


def sign_body(body: bytes, private_key: SecretStr) -> str:
    """The 0x-hex EIP-191 signature of ``body`` by ``private_key``."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    signed = Account.sign_message(encode_defunct(primitive=body), private_key.get_secret_value())
    return "0x" + bytes(signed.signature).hex()


def signer_of(body: bytes, signature: str) -> str:
    """The checksummed address that signed ``body``; ``ValueError`` if the signature is malformed."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise ValueError("the signature is not hex") from None
    if len(raw) != 65:
        raise ValueError("the signature is not 65 bytes")
    try:
        address: str = Account.recover_message(encode_defunct(primitive=body), signature=raw)
    except Exception as error:  # eth_keys raises several kinds for a signature that is no point on the curve
        raise ValueError(f"the signature does not recover: {error}") from None
    return address
