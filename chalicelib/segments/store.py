"""The ``segments`` table: claim a sequence number once, then record dispatch and the worker's result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from chalicelib.core.dynamo import TransactItem, put_item, to_dynamo, transacted, update_item, written
from chalicelib.jobs.models import JobError, TranscodeResult
from chalicelib.segments.models import SegmentRecord, SegmentStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_NO_REASON = JobError(code="unknown", message="no reason given")
# Reserved words in DynamoDB expressions, spelled through placeholders.
_NAMES = {"#s": "status", "#err": "error"}


class SegmentStore:
    """The ``segments`` table: hash ``streamId``, range ``seq``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def claim(
        self,
        stream_id: str,
        seq: int,
        source_key: str,
        size: int,
        received_at: int,
        duration_ms: int | None,
        also: Sequence[TransactItem] = (),
    ) -> bool:
        """Record a received segment; False if this sequence number was already received.

        ``also`` (e.g. the stream's counters) is written in the same transaction: only by the first claim.
        """
        record = SegmentRecord(
            stream_id=stream_id,
            seq=seq,
            status=SegmentStatus.RECEIVED,
            source_key=source_key,
            source_bytes=size,
            received_at=received_at,
            duration_ms=duration_ms,
        )
        item = record.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"renditions"})
        if also:
            return transacted(self._table, [put_item(self._table, item, "attribute_not_exists(seq)"), *also])
        return written(lambda: self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(seq)"))

    def get(self, stream_id: str, seq: int) -> SegmentRecord | None:
        """Return one segment, or None."""
        item = self._table.get_item(Key={"streamId": stream_id, "seq": seq}, ConsistentRead=True).get("Item")
        return None if item is None else SegmentRecord.model_validate(item)

    def mark_dispatched(
        self, stream_id: str, seq: int, orchestrator: str, job_id: str, tickets: int | None = None
    ) -> None:
        """Record which orchestrator took the job, and with how many tickets (unless a result already arrived)."""
        values: dict[str, Any] = {
            ":d": SegmentStatus.DISPATCHED.value,
            ":o": orchestrator,
            ":j": job_id,
            ":r": SegmentStatus.RECEIVED.value,
        }
        update = "SET #s = :d, orchestrator = :o, jobId = :j"
        if tickets is not None:
            update += ", tickets = :t"
            values[":t"] = tickets
        if not self._update_if(stream_id, seq, update, "#s = :r", values) and tickets is not None:
            # The result came first (a fast worker): the status stays; who took it, and for how much, is recorded.
            self._table.update_item(
                Key={"streamId": stream_id, "seq": seq},
                UpdateExpression="SET tickets = :t, orchestrator = if_not_exists(orchestrator, :o)",
                ExpressionAttributeValues={":t": tickets, ":o": orchestrator},
            )

    def set_declared_duration(self, stream_id: str, seq: int, duration_ms: int) -> None:
        """Take a broadcaster's stated duration (a pushed playlist's EXTINF) for a received segment."""
        condition = "attribute_exists(seq) AND attribute_not_exists(durationMs)"
        self._update_if(stream_id, seq, "SET durationMs = :d", condition, {":d": duration_ms})

    def record_result(self, result: TranscodeResult, completed_at: int, also: Sequence[TransactItem] = ()) -> bool:
        """Apply a worker's result once; False when the segment was already settled or is unknown.

        ``also`` (e.g. the stream's counters) is written in the same transaction, so only once too.
        """
        values: dict[str, Any]
        if result.status == "ok":
            assert result.source is not None
            update = (
                "SET #s = :ready, renditions = :r, sourceInfo = :src, encoder = :e, "
                "transcodeMs = :t, completedAt = :at, resultOrchestrator = :o"
            )
            values = {
                ":r": to_dynamo({r.name: r.wire() for r in result.renditions}),
                ":src": to_dynamo(result.source.wire()),
                ":e": result.encoder or "unknown",
                ":t": result.transcode_ms or 0,
                ":at": completed_at,
                ":o": result.orchestrator,
            }
        elif result.final:
            update = "SET #s = :failed, #err = :err, attempts = :n, completedAt = :at"
            values = {":err": (result.error or _NO_REASON).wire(), ":n": result.attempt, ":at": completed_at}
        else:  # a failed attempt the queue will retry: note it, leave the status
            update = "SET #err = :err, attempts = :n"
            values = {":err": (result.error or _NO_REASON).wire(), ":n": result.attempt}
        # Settled is settled: a redelivered or late result changes nothing.
        return self._update_if(
            result.stream_id,
            result.seq,
            update,
            "attribute_exists(seq) AND #s <> :ready AND #s <> :failed",
            {":ready": SegmentStatus.READY.value, ":failed": SegmentStatus.FAILED.value, **values},
            also,
        )

    def newest(self, stream_id: str, limit: int) -> list[SegmentRecord]:
        """Return up to ``limit`` segments with the highest sequence numbers, ascending."""
        page = self._table.query(
            KeyConditionExpression=Key("streamId").eq(stream_id),
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        records = [SegmentRecord.model_validate(item) for item in page.get("Items", [])]
        return sorted(records, key=lambda r: r.seq)

    def between(self, stream_id: str, first: int, last: int | None = None) -> list[SegmentRecord]:
        """Return every segment with ``first <= seq <= last`` (no ``last``: to the newest), ascending."""
        condition = Key("streamId").eq(stream_id) & (
            Key("seq").gte(first) if last is None else Key("seq").between(first, last)
        )
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        records: list[SegmentRecord] = []
        while True:
            page = self._table.query(**kwargs)
            records.extend(SegmentRecord.model_validate(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update_if(
        self,
        stream_id: str,
        seq: int,
        update: str,
        condition: str,
        values: dict[str, Any],
        also: Sequence[TransactItem] = (),
    ) -> bool:
        """Apply ``update`` (and ``also``, in one transaction) when ``condition`` holds; False when it does not."""
        names = {name: attribute for name, attribute in _NAMES.items() if name in update or name in condition}
        if also:
            key = {"streamId": stream_id, "seq": seq}
            mine = update_item(self._table, key, update, values, condition=condition, names=names)
            return transacted(self._table, [mine, *also])
        request: dict[str, Any] = {
            "Key": {"streamId": stream_id, "seq": seq},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:  # DynamoDB refuses an empty map
            request["ExpressionAttributeNames"] = names
        return written(lambda: self._table.update_item(**request))
