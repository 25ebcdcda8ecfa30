"""The two DynamoDB habits every store needs: numbers as Decimals, and telling a failed condition apart."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


def to_dynamo(value: Any) -> Any:
    """Return ``value`` with floats as Decimals, which is what DynamoDB numbers take."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def condition_failed(error: ClientError) -> bool:
    """Tell whether a write was refused by its ``ConditionExpression`` (and nothing worse)."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")
