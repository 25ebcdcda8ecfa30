"""Errors with a stable machine-readable code; the HTTP layer maps them to status codes in one place."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from chalicelib.core.models import ApiModel


class ApiError(Exception):
    """An error a client can act on: a stable ``code``, an HTTP ``status`` and a human message."""

    status = 400

    def __init__(self, code: str, message: str, *, messages: list[str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Studio's ``errors``: human-readable lines, the message unless more precise ones are given.
        self.messages = messages or [message]
        self.details = details

    def body(self) -> dict[str, Any]:
        """Return the JSON error body: Studio's ``errors`` beside ours, ``{"code", "message", ...details}``.

        Clients written for Livepeer Studio read ``errors`` (a list of strings); ours read the stable
        ``error.code``.
        """
        return {"errors": list(self.messages), "error": {"code": self.code, "message": self.message, **self.details}}


class BadRequest(ApiError):
    """The request is malformed (400)."""

    status = 400


class Unauthorized(ApiError):
    """No or an unknown credential (401)."""

    status = 401


class PaymentRequired(ApiError):
    """The work is not paid for: no, bad or too few payment tickets (402)."""

    status = 402


class Forbidden(ApiError):
    """A known caller that may not do this (403)."""

    status = 403


class NotFound(ApiError):
    """The addressed thing does not exist (404)."""

    status = 404


class Conflict(ApiError):
    """The request conflicts with the current state (409)."""

    status = 409


class Gone(ApiError):
    """The addressed thing existed and was deleted (410)."""

    status = 410


class PayloadTooLarge(ApiError):
    """The body is over a stated limit (413)."""

    status = 413


class UnsupportedMedia(ApiError):
    """The body is not of a media type this endpoint takes (415)."""

    status = 415


class Unprocessable(ApiError):
    """The body is well-formed but its content is unusable (422)."""

    status = 422


class Unavailable(ApiError):
    """A dependency needed to take the request is down; retrying later may work (503)."""

    status = 503


def invalid(code: str, message: str, error: ValidationError) -> Unprocessable:
    """Return a 422 naming each failing field of a pydantic ``ValidationError`` (``loc`` and ``msg``)."""
    issues = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in error.errors()]
    lines = [f"{issue['loc']}: {issue['msg']}" if issue["loc"] else issue["msg"] for issue in issues]
    return Unprocessable(code, message, messages=lines, errors=issues)


class FieldIssue(ApiModel):
    """One failing field of a request body (``invalid_body`` and the like)."""

    loc: str = Field(description="The field's path, dot-separated (`profiles.0.width`); empty for the body itself.")
    msg: str = Field(description="Why the value was refused.")


class ErrorInfo(ApiModel):
    """Our error object: a stable code to act on, a message to show, and details some codes add."""

    # Details vary by code (`reason`, `tried`, ...): documented ones are listed, others are let through.
    model_config = ConfigDict(extra="allow")

    code: str = Field(
        description="Stable machine-readable code (`stream_not_found`, `invalid_body`, ...): branch on this, "
        "not on the message or the status alone.",
        examples=["stream_not_found"],
    )
    message: str = Field(description="A human-readable explanation; its wording may change.")
    errors: list[FieldIssue] | None = Field(
        default=None, description="For a body that does not match the schema: each failing field and why."
    )
    reason: str | None = Field(
        default=None, description="For a refused URL: which rule of the address policy refused it."
    )


class ErrorBody(ApiModel):
    """Every 4xx (and 503) answer's JSON body: Livepeer Studio's `errors` beside our `error`."""

    errors: list[str] = Field(description="Livepeer Studio's error lines, for clients written against Studio.")
    error: ErrorInfo = Field(description="The error's stable code, message and details.")
