"""The webhook API's refusals, each with a stable code."""

from __future__ import annotations

from chalicelib.core.errors import NotFound, Unavailable, Unprocessable
from chalicelib.core.urls import UrlRefused

#: What the URL policy says about a URL that is not a usable http(s) URL at all (the rest: not allowed).
MALFORMED = frozenset({"url_malformed", "url_scheme_not_allowed"})


def webhook_not_found(webhook_id: str) -> NotFound:
    """No webhook of this id for this caller (404)."""
    return NotFound("webhook_not_found", f"no webhook {webhook_id!r}")


def url_refused(refused: UrlRefused) -> Unprocessable:
    """A webhook URL the policy refuses: malformed or not http(s) (``invalid_webhook_url``), or naming or
    resolving to loopback, private, link-local or metadata addresses (``webhook_url_not_allowed``); 422
    with the policy's ``reason``."""
    code = "invalid_webhook_url" if refused.code in MALFORMED else "webhook_url_not_allowed"
    return Unprocessable(code, f"url: {refused.message}", reason=refused.code)


def secrets_unavailable(why: str) -> Unavailable:
    """The key that seals shared secrets cannot be used now (503): nothing was stored."""
    return Unavailable("webhook_secrets_unavailable", f"webhook secrets cannot be sealed or opened now: {why}")
