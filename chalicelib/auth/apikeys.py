"""API keys: made at random, stored only as their SHA-256, read from an ``Authorization: Bearer`` header."""

from __future__ import annotations

import hashlib
import secrets

from chalicelib.core.errors import Unauthorized


def hash_api_key(key: str) -> str:
    """Return the hex SHA-256 under which an API key is stored (the key itself never is)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """Return a fresh random API key."""
    return secrets.token_urlsafe(32)


def bearer_token(authorization: str | None) -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header or raise ``Unauthorized``."""
    if not authorization:
        raise Unauthorized("missing_api_key", "send 'Authorization: Bearer <api key>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("malformed_authorization", "expected 'Authorization: Bearer <api key>'")
    return token.strip()
