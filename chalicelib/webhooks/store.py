"""The ``webhooks`` table: subscriptions by id and by owner (GSI ``byOwner``), and each one's delivery status."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from chalicelib.core.dynamo import names_no_item, to_dynamo
from chalicelib.webhooks.errors import webhook_not_found
from chalicelib.webhooks.models import LastFailure, WebhookRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_LIVE = "attribute_exists(id) AND (attribute_not_exists(deleted) OR deleted = :no)"


class WebhookStore:
    """Webhooks in the ``webhooks`` table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, record: WebhookRecord) -> None:
        """Store a new webhook (its id is fresh: never overwrite), with an empty ``status`` to fill in."""
        item = to_dynamo(record.model_dump(mode="json", by_alias=True, exclude_none=True))
        item.setdefault("status", {})
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")

    def find(self, webhook_id: str) -> WebhookRecord | None:
        """Return a webhook, deleted or not, or None."""
        if names_no_item(webhook_id):
            return None
        item = self._table.get_item(Key={"id": webhook_id}, ConsistentRead=True).get("Item")
        return None if item is None else WebhookRecord.model_validate(item)

    def get(self, webhook_id: str, owner: str) -> WebhookRecord:
        """Return ``owner``'s live webhook; 404 for a deleted one or someone else's."""
        record = self.find(webhook_id)
        if record is None or record.deleted or record.owner != owner:
            raise webhook_not_found(webhook_id)
        return record

    def owned_by(self, owner: str) -> list[WebhookRecord]:
        """Return ``owner``'s live webhooks, newest first (one query of the owner index: emitting is cheap)."""
        mine = [r for r in self._query_owner(owner) if not r.deleted]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)

    def update(self, webhook_id: str, owner: str, fields: Mapping[str, Any], remove: tuple[str, ...] = ()) -> None:
        """Set ``fields`` (attribute → value, as stored) and remove ``remove`` on ``owner``'s live webhook."""
        self.get(webhook_id, owner)
        values = to_dynamo(dict(fields))
        names = {f"#f{i}": name for i, name in enumerate(values)} | {f"#r{i}": n for i, n in enumerate(remove)}
        update = ""
        if values:
            update += "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
        if remove:
            update += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        if not update:
            return
        self._table.update_item(
            Key={"id": webhook_id},
            UpdateExpression=update.strip(),
            ConditionExpression=_LIVE,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**{f":f{i}": v for i, v in enumerate(values.values())}, ":no": False},
        )

    def delete(self, webhook_id: str, owner: str) -> None:
        """Mark ``owner``'s webhook deleted: nothing more is posted to it (idempotent for its owner)."""
        self.get(webhook_id, owner)
        self._table.update_item(
            Key={"id": webhook_id}, UpdateExpression="SET deleted = :t", ExpressionAttributeValues={":t": True}
        )

    def record_attempt(self, webhook_id: str, at_ms: int, failure: LastFailure | None) -> None:
        """Note an attempt in the webhook's ``status``: when it was triggered, and the failure if it failed."""
        update, values = "SET #st.lastTriggeredAt = :at", {":at": at_ms}
        if failure is not None:
            update += ", #st.lastFailure = :f"
            values[":f"] = to_dynamo(failure.wire())
        # ``put`` stores every webhook with a ``status`` map, which a nested SET needs.
        self._table.update_item(
            Key={"id": webhook_id},
            UpdateExpression=update,
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues=values,
        )

    def _query_owner(self, owner: str) -> Iterator[WebhookRecord]:
        kwargs: dict[str, Any] = {"IndexName": "byOwner", "KeyConditionExpression": Key("owner").eq(owner)}
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                yield WebhookRecord.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
