"""The ``projections`` table: one item per entity, its state as JSON and the version (poll) it was read in.

A state is written only if no newer version is there (``version`` is the poll's sequence number, which
only grows), so a late or repeated message never takes a projection back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from pydantic import TypeAdapter

from chalicelib.core.dynamo import written
from chalicelib.projections.models import EntityState, as_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_STATE: TypeAdapter[EntityState] = TypeAdapter(EntityState)


class ProjectionStore:
    """Entity states by key, newest version wins."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, state: EntityState, version: int) -> bool:
        """Write ``state`` unless a newer version is there; False when refused."""
        return written(
            lambda: self._table.put_item(
                Item={"key": state.key, "kind": state.kind, "version": version, "state": as_json(state)},
                ConditionExpression="attribute_not_exists(#k) OR #v <= :v",
                ExpressionAttributeNames={"#k": "key", "#v": "version"},
                ExpressionAttributeValues={":v": version},
            )
        )

    def put_all(self, states: Iterable[EntityState], version: int) -> int:
        """Write each state (see ``put``); return how many were written."""
        return sum(self.put(state, version) for state in states)

    def get(self, key: str) -> EntityState | None:
        """The state of ``key``, or None if nothing was projected for it."""
        item = self._table.get_item(Key={"key": key}, ConsistentRead=True).get("Item")
        return None if item is None else _STATE.validate_json(str(item["state"]))

    def get_many(self, keys: list[str]) -> dict[str, EntityState]:
        """The states of ``keys`` that were projected, in one read (BatchGetItem, consistent)."""
        wanted: dict[str, Any] = {
            self._table.name: {"Keys": [{"key": k} for k in dict.fromkeys(keys)], "ConsistentRead": True}
        }
        found: dict[str, EntityState] = {}
        while wanted:
            answer = self._table.meta.client.batch_get_item(RequestItems=wanted)
            for item in answer.get("Responses", {}).get(self._table.name, []):
                found[str(item["key"])] = _STATE.validate_json(str(item["state"]))
            wanted = answer.get("UnprocessedKeys") or {}
        return found

    def version(self, key: str) -> int | None:
        """The version the state of ``key`` was written with."""
        item = self._table.get_item(Key={"key": key}, ConsistentRead=True).get("Item")
        return None if item is None else int(str(item["version"]))

    def of_kind(self, kind: str) -> Iterator[EntityState]:
        """Every state of one kind ("orchestrator", "sender", ...)."""
        query: dict[str, Any] = {"IndexName": "byKind", "KeyConditionExpression": Key("kind").eq(kind)}
        while True:
            page = self._table.query(**query)
            for item in page.get("Items", []):
                yield _STATE.validate_json(str(item["state"]))
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def keys(self) -> list[str]:
        """Every projected key (a reorg deeper than the poller remembers re-reads them all)."""
        scan: dict[str, Any] = {"ProjectionExpression": "#k", "ExpressionAttributeNames": {"#k": "key"}}
        keys: list[str] = []
        while True:
            page = self._table.scan(**scan)
            keys += [str(item["key"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return keys
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
