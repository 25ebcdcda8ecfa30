"""The ``sessions`` table: open a session once, end it once, settle its counters, and move its recording once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from chalicelib.core.dynamo import to_dynamo, written
from chalicelib.recordings.models import FAILED, READY, WAITING, SessionCounts, SessionRecord
from chalicelib.recordings.remux import RecordingError, RecordingFile

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class SessionStore:
    """Sessions in the ``sessions`` table (hash ``id``, GSI ``byParentId``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def open(self, record: SessionRecord) -> bool:
        """Write a new session; False when a session of this id exists (the same start, reported again)."""
        item = to_dynamo(record.model_dump(mode="json", by_alias=True, exclude_none=True))
        return written(lambda: self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)"))

    def get(self, session_id: str) -> SessionRecord | None:
        """Return one session, or None."""
        item = self._table.get_item(Key={"id": session_id}, ConsistentRead=True).get("Item")
        return None if item is None else SessionRecord.model_validate(item)

    def of_stream(self, parent_id: str) -> list[SessionRecord]:
        """Return a stream's sessions, newest first."""
        kwargs: dict[str, Any] = {"IndexName": "byParentId", "KeyConditionExpression": Key("parentId").eq(parent_id)}
        found: list[SessionRecord] = []
        while True:
            page = self._table.query(**kwargs)
            found.extend(SessionRecord.model_validate(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    def end(self, session_id: str, last_seq: int, last_seen: int, ended_at: int) -> bool:
        """End an open session (its last segment and the time it went idle); False when it had ended already."""
        return self._update_if(
            session_id,
            "SET lastSeq = :q, lastSeen = :seen, endedAt = :at",
            "attribute_exists(id) AND attribute_not_exists(endedAt)",
            {":q": last_seq, ":seen": last_seen, ":at": ended_at},
        )

    def settle(self, session_id: str, counts: SessionCounts, settled_at: int) -> None:
        """Keep an ended session's final counters (the same values on every redelivery)."""
        self._table.update_item(
            Key={"id": session_id},
            UpdateExpression="SET #c = :c, settledAt = :at",
            ExpressionAttributeNames={"#c": "counts"},
            ExpressionAttributeValues={
                ":c": to_dynamo(counts.model_dump(mode="json", by_alias=True)),
                ":at": settled_at,
            },
        )

    def recording_ready(self, session_id: str, file: RecordingFile, at_ms: int) -> bool:
        """Mark a waiting recording ready with its MP4; False when it was not waiting (ready or failed before)."""
        return self._update_if(
            session_id,
            "SET recordingStatus = :ready, recording = :file, recordingAt = :at",
            "recordingStatus = :waiting",
            {":ready": READY, ":waiting": WAITING, ":file": to_dynamo(file.wire()), ":at": at_ms},
        )

    def recording_failed(self, session_id: str, error: RecordingError, at_ms: int) -> bool:
        """Mark a waiting recording failed, with why; False when it was not waiting."""
        return self._update_if(
            session_id,
            "SET recordingStatus = :failed, recordingError = :error, recordingAt = :at",
            "recordingStatus = :waiting",
            {":failed": FAILED, ":waiting": WAITING, ":error": error.wire(), ":at": at_ms},
        )

    def _update_if(self, session_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        return written(
            lambda: self._table.update_item(
                Key={"id": session_id},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        )
