"""The vocabulary of the operations table: an operation, what it answers, and the parameters it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.core.resources import Role

JsonSchema = Mapping[str, Any]
TEXT: JsonSchema = MappingProxyType({"type": "string"})
#: Bytes of a media type: OpenAPI 3.1 describes them by the media type alone (``contentMediaType``).
BYTES: JsonSchema = MappingProxyType({"type": "string", "contentMediaType": "application/octet-stream"})


@dataclass(frozen=True)
class Json:
    """A JSON answer (or request body) of one pydantic model, or a JSON array of them (``many``)."""

    model: type[BaseModel]
    status: int = 200
    many: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Media:
    """A non-JSON body: each media type it may have, with the schema of its text or bytes."""

    types: Mapping[str, JsonSchema]
    description: str
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Empty:
    """An answer without a body (204, or a redirect with the headers it carries)."""

    description: str
    status: int = 204
    headers: Mapping[str, str] = field(default_factory=dict)


Reply = Json | Media | Empty


@dataclass(frozen=True)
class Param:
    """A query, header or path parameter (path parameters default to ``PATH_PARAMETERS``' descriptions)."""

    name: str
    where: Literal["query", "header", "path"]
    description: str
    schema: JsonSchema = field(default_factory=lambda: TEXT)
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One route of ``app.py``: its answers, body, error codes, parameters and who may call it.

    ``errors`` names the stable codes the operation may answer; their statuses come from ``codes.ERROR_STATUS``.
    ``auth`` operations also answer the API key's codes, operations with a JSON ``body`` the body's. ``role``
    is the role a stage must play to serve it (None: every stage). ``name`` replaces the handler's name as the
    ``operationId`` where one handler serves two methods.
    """

    method: str
    path: str
    tag: str
    replies: tuple[Reply, ...]
    body: Json | Media | None = None
    errors: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    role: Role | None = "gateway"
    auth: bool = True
    name: str | None = None
