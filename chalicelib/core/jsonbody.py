"""Request bodies as JSON, strictly (RFC 8259): what cannot be stored or sent on is refused here, with a 400.

Python's ``json`` also reads ``NaN`` and ``Infinity``, and ``"\\ud800"`` (half of a surrogate pair, which no
UTF-8 text holds): values that later fail where they are stored or forwarded, as a 500.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from chalicelib.core.errors import BadRequest

INVALID_JSON = "invalid_json"


def _no_constant(name: str) -> NoReturn:
    raise BadRequest(INVALID_JSON, f"the body is not valid JSON: {name} is not a JSON number")


def parse_json(body: bytes | str) -> Any:
    """Return the JSON value of ``body``, or raise ``BadRequest`` (``invalid_json``)."""
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(INVALID_JSON, "the body is not valid JSON") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(INVALID_JSON, "the body is not valid JSON: a string holds an unpaired surrogate") from None
    return value
