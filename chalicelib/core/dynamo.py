"""The DynamoDB habits every store needs: numbers as Decimals, conditional writes, and transactions of them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

#: The longest key a lookup sends to DynamoDB, in UTF-8 bytes. DynamoDB refuses a partition key over 2048
#: bytes and a sort key over 1024 with a ValidationException, even on GetItem and Query, so an id taken from
#: a request path would turn "no such stream" into a 500. Every key this app issues is far shorter (ids are
#: UUIDs, 36 bytes; stream keys 19; playback ids 16): a longer one names no item, so it is not asked for.
MAX_LOOKUP_KEY_BYTES = 256

#: One write of a ``TransactWriteItems`` request. A table resource's client takes Python values (it
#: serializes them, as the resource does), not DynamoDB's typed JSON.
TransactItem = dict[str, Any]


def to_dynamo(value: Any) -> Any:
    """Return ``value`` with floats as Decimals, which is what DynamoDB numbers take."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def names_no_item(key: str) -> bool:
    """True when ``key`` is over ``MAX_LOOKUP_KEY_BYTES`` in UTF-8: a lookup answers "none" without asking DynamoDB."""
    # surrogatepass: a lone surrogate decoded from a path is counted, not raised on.
    return len(key.encode("utf-8", "surrogatepass")) > MAX_LOOKUP_KEY_BYTES


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


def update_item(
    table: Table,
    key: Mapping[str, Any],
    update: str,
    values: Mapping[str, Any],
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
) -> TransactItem:
    """Return an ``Update`` of one item of ``table`` as a transaction's write (numbers already Decimals)."""
    request: dict[str, Any] = {
        "TableName": table.name,
        "Key": dict(key),
        "UpdateExpression": update,
        "ExpressionAttributeValues": dict(values),
    }
    if condition is not None:
        request["ConditionExpression"] = condition
    if names:  # DynamoDB refuses an empty map
        request["ExpressionAttributeNames"] = dict(names)
    return {"Update": request}


def put_item(table: Table, item: Mapping[str, Any], condition: str | None = None) -> TransactItem:
    """Return a ``Put`` of one item of ``table`` as a transaction's write."""
    request: dict[str, Any] = {"TableName": table.name, "Item": dict(item)}
    if condition is not None:
        request["ConditionExpression"] = condition
    return {"Put": request}


def transacted(table: Table, items: Sequence[TransactItem]) -> bool:
    """Apply ``items`` all or none; False when one's condition refused them (as ``written``).

    A conditional write and the counters it moves go together, so a redelivered message that the
    condition refuses cannot count twice, and a crash between them cannot count never.
    """
    try:
        table.meta.client.transact_write_items(TransactItems=list(items))  # type: ignore[arg-type]
    except ClientError as error:
        reasons = error.response.get("CancellationReasons", [])
        if error.response.get("Error", {}).get("Code") == "TransactionCanceledException" and any(
            reason.get("Code") == "ConditionalCheckFailed" for reason in reasons
        ):
            return False
        raise
    return True
