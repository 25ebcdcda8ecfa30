"""The ``webhooklog`` table: one claim per delivery attempt, and the log of attempts, newest first.

Two kinds of item share a webhook's partition:

- ``attempt#<eventId>#<attempt>``, the claim: written once, conditionally, before the attempt posts. A
  redelivered SQS message for an attempt already made finds it and posts nothing. A claim still ``sending``
  long after the receiver's timeout belonged to a handler that stopped mid-attempt: another may take it over
  (conditionally, so only one does) and record the attempt as interrupted.
- ``log#<startedAt>#<eventId>#<attempt>``, the log entry: written in the same transaction that closes the
  claim, so each attempt is logged exactly once, and listed newest first by its key.

Both expire (DynamoDB TTL on ``expiresAt``) after ``RETENTION_S``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from boto3.dynamodb.conditions import Key

from chalicelib.core.dynamo import put_item, to_dynamo, transacted, update_item, written
from chalicelib.webhooks.models import DeliveryLogEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RETENTION_S: Final = 14 * 24 * 3600
#: ``GET /webhook/{id}/log`` lists at most this many attempts.
DEFAULT_LIMIT: Final = 100


@dataclass(frozen=True)
class Claim:
    """The claim of one attempt: who holds it (``token``), since when, and whether it is closed."""

    event_id: str
    attempt: int
    token: str
    claimed_at: int
    state: Literal["sending", "done"]


def _claim_key(event_id: str, attempt: int) -> str:
    return f"attempt#{event_id}#{attempt:03d}"


def _log_key(entry: DeliveryLogEntry) -> str:
    return f"log#{entry.created_at:013d}#{entry.event_id}#{entry.attempt:03d}"


class DeliveryLog:
    """Attempts' claims and log entries in the ``webhooklog`` table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def claim(self, webhook_id: str, event_id: str, attempt: int, token: str, now_ms: int) -> Claim:
        """Claim an attempt for ``token``; return the claim that holds it (another's, if it came first)."""
        item: dict[str, Any] = {
            "webhookId": webhook_id,
            "key": _claim_key(event_id, attempt),
            "token": token,
            "claimedAt": now_ms,
            "state": "sending",
            "expiresAt": now_ms // 1000 + RETENTION_S,
        }
        first = written(
            lambda: self._table.put_item(
                Item=item, ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": "key"}
            )
        )
        if first:
            return Claim(event_id, attempt, token, now_ms, "sending")
        held = self._table.get_item(
            Key={"webhookId": webhook_id, "key": _claim_key(event_id, attempt)}, ConsistentRead=True
        ).get("Item", {})
        state: Literal["sending", "done"] = "done" if held.get("state") == "done" else "sending"
        return Claim(event_id, attempt, str(held.get("token", "")), int(str(held.get("claimedAt", 0))), state)

    def take_over(self, webhook_id: str, stale: Claim, token: str, now_ms: int) -> Claim | None:
        """Take a stale ``sending`` claim for ``token``; None if its holder closed it or another took it first."""
        taken = written(
            lambda: self._table.update_item(
                Key={"webhookId": webhook_id, "key": _claim_key(stale.event_id, stale.attempt)},
                UpdateExpression="SET #tok = :new, claimedAt = :now",
                ConditionExpression="#st = :sending AND #tok = :old",
                ExpressionAttributeNames={"#tok": "token", "#st": "state"},
                ExpressionAttributeValues={":new": token, ":now": now_ms, ":sending": "sending", ":old": stale.token},
            )
        )
        return Claim(stale.event_id, stale.attempt, token, now_ms, "sending") if taken else None

    def close(self, webhook_id: str, claim: Claim, entry: DeliveryLogEntry) -> bool:
        """Write the attempt's log entry and close its claim, together; False if the claim is no longer ours."""
        item = to_dynamo(entry.model_dump(mode="json", by_alias=True, exclude_none=True))
        item |= {"webhookId": webhook_id, "key": _log_key(entry), "expiresAt": entry.created_at // 1000 + RETENTION_S}
        closing = update_item(
            self._table,
            {"webhookId": webhook_id, "key": _claim_key(claim.event_id, claim.attempt)},
            "SET #st = :done",
            {":done": "done", ":sending": "sending", ":tok": claim.token},
            condition="#st = :sending AND #tok = :tok",
            names={"#st": "state", "#tok": "token"},
        )
        return transacted(self._table, [closing, put_item(self._table, item)])

    def recent(self, webhook_id: str, limit: int = DEFAULT_LIMIT) -> list[DeliveryLogEntry]:
        """The newest ``limit`` attempts of a webhook, newest first."""
        page = self._table.query(
            KeyConditionExpression=Key("webhookId").eq(webhook_id) & Key("key").begins_with("log#"),
            ScanIndexForward=False,
            Limit=limit,
        )
        kept = set(DeliveryLogEntry.model_fields) | {f.alias for f in DeliveryLogEntry.model_fields.values() if f.alias}
        return [
            DeliveryLogEntry.model_validate({k: v for k, v in item.items() if k in kept})
            for item in page.get("Items", [])
        ]
