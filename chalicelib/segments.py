"""Segments of a stream: one item per sequence number, from receipt to ready (or failed)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.models import JobError, TranscodeResult

Status = Literal["received", "dispatched", "ready", "failed"]


def _dynamo(value: Any) -> Any:
    """Return ``value`` with floats as Decimals, which is what DynamoDB numbers take."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


class SegmentStore:
    """The ``segments`` table: hash ``streamId``, range ``seq``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def claim(
        self, stream_id: str, seq: int, source_key: str, size: int, received_at: int, duration_ms: int | None
    ) -> bool:
        """Record a received segment; False if this sequence number was already received."""
        item: dict[str, Any] = {
            "streamId": stream_id,
            "seq": seq,
            "status": "received",
            "sourceKey": source_key,
            "sourceBytes": size,
            "receivedAt": received_at,
        }
        if duration_ms is not None:
            item["durationMs"] = duration_ms
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(seq)")
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def get(self, stream_id: str, seq: int) -> dict[str, Any] | None:
        """Return one segment's item, or None."""
        item: dict[str, Any] | None = self._table.get_item(
            Key={"streamId": stream_id, "seq": seq}, ConsistentRead=True
        ).get("Item")
        return item

    def mark_dispatched(self, stream_id: str, seq: int, orchestrator: str, job_id: str) -> None:
        """Record which orchestrator took the job (unless a result already arrived)."""
        try:
            self._table.update_item(
                Key={"streamId": stream_id, "seq": seq},
                UpdateExpression="SET #s = :d, orchestrator = :o, jobId = :j",
                ConditionExpression="#s = :r",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":d": "dispatched", ":o": orchestrator, ":j": job_id, ":r": "received"},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def set_declared_duration(self, stream_id: str, seq: int, duration_ms: int) -> None:
        """Take a broadcaster's stated duration (a pushed playlist's EXTINF) for a received segment."""
        try:
            self._table.update_item(
                Key={"streamId": stream_id, "seq": seq},
                UpdateExpression="SET durationMs = :d",
                ConditionExpression="attribute_exists(seq) AND attribute_not_exists(durationMs)",
                ExpressionAttributeValues={":d": duration_ms},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def record_result(self, result: TranscodeResult, completed_at: int) -> bool:
        """Apply a worker's result once; False when the segment was already settled or is unknown."""
        values: dict[str, Any] = {":ready": "ready", ":failed": "failed", ":at": completed_at}
        if result.status == "ok":
            assert result.source is not None
            update = (
                "SET #s = :ready, renditions = :r, sourceInfo = :src, encoder = :e, "
                "transcodeMs = :t, completedAt = :at, resultOrchestrator = :o"
            )
            values.update(
                {
                    ":r": _dynamo({r.name: r.wire() for r in result.renditions}),
                    ":src": _dynamo(result.source.wire()),
                    ":e": result.encoder or "unknown",
                    ":t": result.transcode_ms or 0,
                    ":o": result.orchestrator,
                }
            )
        elif result.final:
            error = result.error or JobError(code="unknown", message="no reason given")
            update = "SET #s = :failed, #err = :err, attempts = :n, completedAt = :at"
            values.update({":err": error.wire(), ":n": result.attempt})
        else:
            error = result.error or JobError(code="unknown", message="no reason given")
            update = "SET #err = :err, attempts = :n"
            values = {":err": error.wire(), ":n": result.attempt, ":ready": "ready", ":failed": "failed"}
        names = {"#s": "status"}
        if "#err" in update:
            names["#err"] = "error"
        try:
            self._table.update_item(
                Key={"streamId": result.stream_id, "seq": result.seq},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(seq) AND #s <> :ready AND #s <> :failed",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def newest(self, stream_id: str, limit: int) -> list[dict[str, Any]]:
        """Return up to ``limit`` segments with the highest sequence numbers, ascending."""
        page = self._table.query(
            KeyConditionExpression=Key("streamId").eq(stream_id),
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        items: list[dict[str, Any]] = page.get("Items", [])
        return sorted(items, key=lambda i: int(i["seq"]))
