"""The two DynamoDB habits every store needs: numbers as Decimals, and conditional writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


def to_dynamo(value: Any) -> Any:
    """Return ``value`` with floats as Decimals, which is what DynamoDB numbers take."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def written(write: Callable[[], object]) -> bool:
    """Run a write that carries a ``ConditionExpression``; False when the condition refused it.

    Idempotent handlers lean on this: a second claim, a late result or a stale update is refused by
    the table itself, and that is an answer, not an error.
    """
    try:
        write()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
