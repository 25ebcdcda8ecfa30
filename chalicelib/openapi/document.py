"""Build the OpenAPI 3.1 document: the operations table for paths, the payload models' JSON schemas for bodies.

Summaries and descriptions are the handlers' docstrings (``app.routes`` passed in), so that a route is described
where it is written. A stage's document holds the operations its roles serve.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Literal, Protocol

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from chalicelib.core.errors import ErrorBody
from chalicelib.core.resources import Role
from chalicelib.openapi.codes import ERROR_STATUS, by_status
from chalicelib.openapi.describe import TEXT, Json, Media, Operation, Param, Reply
from chalicelib.openapi.operations import OPERATIONS, PATH_PARAMETERS, TAGS

OPENAPI_VERSION = "3.1.0"
#: The version of the API this document describes (bumped when a payload or an operation changes).
API_VERSION = "0.1.0"
TITLE = "lp-network"
SECURITY_SCHEME = "apiKey"
#: The codes every operation behind the API key may answer.
API_KEY_CODES = ("missing_api_key", "malformed_authorization", "invalid_api_key")
_PATH_PARAMETER = re.compile(r"{([^}]+)}")
_SchemaMode = Literal["validation", "serialization"]
# What pydantic asks about a field's title (its own alias of this is private).
_SchemaOrField = (
    core_schema.CoreSchema
    | core_schema.ModelField
    | core_schema.DataclassField
    | core_schema.TypedDictField
    | core_schema.ComputedField
)


class Route(Protocol):
    """What the document reads of a Chalice route (``app.routes[path][method]``): its handler."""

    @property
    def view_function(self) -> Callable[..., Any]: ...


Routes = Mapping[str, Mapping[str, Route]]


class _Schemas(GenerateJsonSchema):
    """Pydantic's JSON schemas without the titles it makes of field names (`Streamkey`): descriptions say more."""

    def field_title_should_be_set(self, schema: _SchemaOrField) -> bool:
        return False


def build_document(
    roles: Iterable[Role] | None,
    public_url: str | None,
    routes: Routes,
    operations: Sequence[Operation] = OPERATIONS,
) -> dict[str, Any]:
    """Return the OpenAPI document of a stage playing ``roles`` (None: every operation), reached at ``public_url``."""
    served = set(roles) if roles is not None else None
    chosen = [op for op in operations if op.role is None or served is None or op.role in served]
    refs, schemas = _component_schemas(chosen)
    paths: dict[str, dict[str, Any]] = {}
    for op in chosen:
        route = routes.get(op.path, {}).get(op.method)
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, route, refs)
    used_codes = {code for op in chosen for code in _codes(op)}
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": API_VERSION, "description": _introduction(used_codes)},
        "servers": [{"url": public_url.rstrip("/") if public_url else "/"}],
        "tags": [{"name": tag, "description": text} for tag, text in TAGS.items() if tag in {op.tag for op in chosen}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "API key",
                    "description": "An API key, sent as `Authorization: Bearer <api key>`.",
                }
            },
        },
    }
    markdown: dict[str, Any] = _as_markdown(document)
    return markdown


_cache: dict[tuple[tuple[str, ...], str | None], dict[str, Any]] = {}
_cache_lock = threading.Lock()


def served_document(roles: Sequence[Role], public_url: str | None, routes: Routes) -> dict[str, Any]:
    """``build_document`` once per process and stage settings (a process's routes never change once imported)."""
    key = (tuple(roles), public_url)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = build_document(roles, public_url, routes)
        return _cache[key]


def _codes(op: Operation) -> list[str]:
    return [*(API_KEY_CODES if op.auth else ()), *op.errors]


def _component_schemas(
    operations: Sequence[Operation],
) -> tuple[dict[tuple[type[BaseModel], _SchemaMode], dict[str, Any]], dict[str, Any]]:
    """Every model's JSON schema under ``#/components/schemas``, and a reference to each (model, mode)."""
    wanted: list[tuple[type[BaseModel], _SchemaMode]] = [(ErrorBody, "serialization")]
    for op in operations:
        if isinstance(op.body, Json):
            wanted.append((op.body.model, "validation"))
        wanted.extend((reply.model, "serialization") for reply in op.replies if isinstance(reply, Json))
    unique = list(dict.fromkeys(wanted))
    refs, definitions = models_json_schema(
        unique, by_alias=True, ref_template="#/components/schemas/{model}", schema_generator=_Schemas
    )
    return {key: dict(refs[key]) for key in unique}, dict(definitions.get("$defs", {}))


def _json_content(
    json: Json, mode: _SchemaMode, refs: Mapping[tuple[type[BaseModel], _SchemaMode], dict[str, Any]]
) -> dict[str, Any]:
    ref = refs[(json.model, mode)]
    return {"application/json": {"schema": {"type": "array", "items": ref} if json.many else ref}}


def _operation(
    op: Operation, route: Route | None, refs: Mapping[tuple[type[BaseModel], _SchemaMode], dict[str, Any]]
) -> dict[str, Any]:
    handler = route.view_function if route is not None else None
    doc = (handler.__doc__ or "").strip() if handler is not None else ""
    summary, _, rest = doc.partition("\n")
    name = op.name or (handler.__name__ if handler is not None else f"{op.method} {op.path}")
    operation: dict[str, Any] = {
        "operationId": to_camel(name) if "_" in name else name,
        "summary": summary.strip() or f"{op.method} {op.path}",
        "tags": [op.tag],
    }
    if rest.strip():
        operation["description"] = _unindent(rest)
    parameters = _parameters(op)
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        content = _json_content(op.body, "validation", refs) if isinstance(op.body, Json) else _media(op.body)
        operation["requestBody"] = {"required": True, "content": content}
    operation["responses"] = _responses(op, refs)
    operation["security"] = [{SECURITY_SCHEME: []}] if op.auth else []
    return operation


def _parameters(op: Operation) -> list[dict[str, Any]]:
    given = {(p.where, p.name): p for p in op.params}
    path = [
        given.get(("path", name)) or Param(name, "path", PATH_PARAMETERS.get(name, name), TEXT, True)
        for name in _PATH_PARAMETER.findall(op.path)
    ]
    others = [p for p in op.params if p.where != "path"]
    return [
        {
            "name": p.name,
            "in": p.where,
            "required": p.where == "path" or p.required,
            "description": p.description,
            "schema": dict(p.schema),
        }
        for p in (*path, *others)
    ]


def _media(media: Media) -> dict[str, Any]:
    return {content_type: {"schema": dict(schema)} for content_type, schema in media.types.items()}


def _headers(headers: Mapping[str, str]) -> dict[str, Any]:
    return {name: {"description": text, "schema": dict(TEXT)} for name, text in headers.items()}


def _reply(reply: Reply, refs: Mapping[tuple[type[BaseModel], _SchemaMode], dict[str, Any]]) -> dict[str, Any]:
    answer: dict[str, Any]
    if isinstance(reply, Json):
        summary = reply.description or (reply.model.__doc__ or reply.model.__name__).strip().partition("\n")[0]
        answer = {"description": summary, "content": _json_content(reply, "serialization", refs)}
    elif isinstance(reply, Media):
        answer = {"description": reply.description, "content": _media(reply)}
    else:
        answer = {"description": reply.description}
    if not isinstance(reply, Json) and reply.headers:
        answer["headers"] = _headers(reply.headers)
    return answer


def _responses(op: Operation, refs: Mapping[tuple[type[BaseModel], _SchemaMode], dict[str, Any]]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for reply in op.replies:
        answer = _reply(reply, refs)
        merged = responses.setdefault(str(reply.status), answer)
        if merged is not answer:  # two replies with one status: one answer of either content
            merged["description"] += " Or: " + answer["description"]
            merged.setdefault("content", {}).update(answer.get("content", {}))
            merged.setdefault("headers", {}).update(answer.get("headers", {}))
    error_ref = refs[(ErrorBody, "serialization")]
    for status, codes in sorted(by_status(_codes(op)).items()):
        listed = ", ".join(f"`{code}`" for code in codes)
        which = f"is {listed}" if len(codes) == 1 else f"is one of {listed}"
        responses[str(status)] = {
            "description": f"{HTTPStatus(status).phrase}: `error.code` {which}.",
            "content": {"application/json": {"schema": error_ref}},
        }
    return responses


def _introduction(codes: Iterable[str]) -> str:
    lines = [
        "Livepeer Studio's stream, webhook and playback API, served by this network's gateway; and the "
        "orchestrator's intake, served by orchestrators. Each stage describes the operations its roles serve.",
        "",
        "Errors are JSON: Studio's `errors` (a list of strings) beside our `error` object, whose `code` is stable. "
        "The codes, by status:",
        "",
    ]
    for status, listed in sorted(by_status(sorted(codes, key=lambda c: (ERROR_STATUS[c], c))).items()):
        lines.append(f"- {status} {HTTPStatus(status).phrase}: " + ", ".join(f"`{c}`" for c in listed))
    return "\n".join(lines)


def _unindent(text: str) -> str:
    lines = text.strip("\n").splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines).strip()


def _as_markdown(node: Any) -> Any:
    """Docstrings are reStructuredText (``code``); OpenAPI descriptions are CommonMark (`code`)."""
    if isinstance(node, dict):
        return {
            key: value.replace("``", "`") if key in ("description", "summary") and isinstance(value, str)
            else _as_markdown(value)
            for key, value in node.items()
        }  # fmt: skip
    if isinstance(node, list):
        return [_as_markdown(item) for item in node]
    return node
