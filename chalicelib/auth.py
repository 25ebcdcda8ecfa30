"""API keys: stored as SHA-256 hashes in the ``apikeys`` table, presented as ``Authorization: Bearer``."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from chalicelib.errors import Unauthorized


def hash_api_key(key: str) -> str:
    """Return the hex SHA-256 under which an API key is stored (the key itself never is)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """Return a fresh random API key."""
    return secrets.token_urlsafe(32)


def store_api_key(table: Any, key: str, name: str) -> None:
    """Register ``key`` in the ``apikeys`` table (idempotent)."""
    table.put_item(Item={"keyHash": hash_api_key(key), "name": name, "createdAt": int(time.time() * 1000)})


def bearer_token(authorization: str | None) -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header or raise ``Unauthorized``."""
    if not authorization:
        raise Unauthorized("missing_api_key", "send 'Authorization: Bearer <api key>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("malformed_authorization", "expected 'Authorization: Bearer <api key>'")
    return token.strip()


def check_api_key(table: Any, authorization: str | None) -> str:
    """Return the name the presented API key was registered under, or raise ``Unauthorized``."""
    token = bearer_token(authorization)
    item = table.get_item(Key={"keyHash": hash_api_key(token)}).get("Item")
    if item is None:
        raise Unauthorized("invalid_api_key", "the API key is not known")
    return str(item["name"])
