"""The ``apikeys`` table: one item per key hash, naming the owner the key acts for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.auth.apikeys import bearer_token, hash_api_key
from chalicelib.core.clock import now_ms
from chalicelib.core.errors import Unauthorized

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class ApiKeyStore:
    """API keys in the ``apikeys`` table (hash key ``keyHash``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def register(self, key: str, owner: str) -> None:
        """Register ``key`` as acting for ``owner`` (idempotent)."""
        self._table.put_item(Item={"keyHash": hash_api_key(key), "name": owner, "createdAt": now_ms()})

    def owner_of(self, authorization: str | None) -> str:
        """Return the owner the presented ``Authorization`` header's key acts for, or raise ``Unauthorized``."""
        token = bearer_token(authorization)
        item = self._table.get_item(Key={"keyHash": hash_api_key(token)}).get("Item")
        if item is None:
            raise Unauthorized("invalid_api_key", "the API key is not known")
        return str(item["name"])
