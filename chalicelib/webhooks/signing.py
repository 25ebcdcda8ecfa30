"""The ``Livepeer-Signature`` header (DESIGN.md): ``t=<ms>,v1=<hex HMAC-SHA256(secret, raw body)>``.

A receiver recomputes the HMAC over the exact bytes it received with the shared secret and compares in
constant time; ``t`` (also the body's ``timestamp``) lets it refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "Livepeer-Signature"
SCHEME: Final = "v1"


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` keyed by ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp_ms: int) -> str:
    """The ``Livepeer-Signature`` value for ``body`` sent at ``timestamp_ms``."""
    return f"t={timestamp_ms},{SCHEME}={signature(secret, body)}"
