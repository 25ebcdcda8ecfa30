"""Shared secrets at rest: sealed with the stage's KMS key, bound to their webhook, opened only to sign.

The ``webhooks`` table keeps ``kms:<base64 ciphertext>``; the plaintext exists only in the request that
creates the webhook and in the delivery that signs with it. The encryption context names the webhook, so a
sealed secret copied onto another webhook's item does not open (KMS checks the context). A secret is never
logged and never returned after creation.
"""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.webhooks.errors import secrets_unavailable

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

_PREFIX: Final = "kms:"
#: 32 random bytes, URL-safe: as strong as the HMAC-SHA256 key it becomes.
GENERATED_SECRET_BYTES: Final = 32


def new_secret() -> str:
    """A fresh shared secret, shown once to the webhook's creator."""
    return secrets.token_urlsafe(GENERATED_SECRET_BYTES)


class Sealer(Protocol):
    """Seals and opens a webhook's shared secret."""

    def seal(self, secret: str, webhook_id: str) -> str:
        """Return ``secret`` sealed for storage with webhook ``webhook_id``."""
        ...

    def open(self, sealed: str, webhook_id: str) -> str:
        """Return the secret ``sealed`` holds; it opens only for the webhook it was sealed for."""
        ...


class KmsSealer:
    """Seals with a KMS key (by alias) and ``{"webhookId": ...}`` as the encryption context."""

    def __init__(self, kms: KMSClient, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    @staticmethod
    def _context(webhook_id: str) -> dict[str, str]:
        return {"purpose": "webhook-shared-secret", "webhookId": webhook_id}

    def seal(self, secret: str, webhook_id: str) -> str:
        """Encrypt ``secret`` under the key; refuse (503) when KMS cannot."""
        try:
            blob = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=self._context(webhook_id)
            )["CiphertextBlob"]
        except (ClientError, BotoCoreError) as error:
            raise secrets_unavailable(type(error).__name__) from None
        return _PREFIX + base64.b64encode(blob).decode("ascii")

    def open(self, sealed: str, webhook_id: str) -> str:
        """Decrypt a sealed secret (KMS finds the key from the ciphertext and checks the context)."""
        if not sealed.startswith(_PREFIX):
            raise ValueError("not a KMS-sealed secret")
        try:
            plain = self._kms.decrypt(
                CiphertextBlob=base64.b64decode(sealed.removeprefix(_PREFIX)),
                EncryptionContext=self._context(webhook_id),
            )["Plaintext"]
        except (ClientError, BotoCoreError) as error:
            raise secrets_unavailable(type(error).__name__) from None
        return plain.decode()
