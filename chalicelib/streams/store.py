"""The ``streams`` table: create, look up (by id, stream key, playback id), list, delete, ingest state."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from chalicelib.core.clock import now_ms
from chalicelib.core.dynamo import TransactItem, names_no_item, to_dynamo, update_item, written
from chalicelib.core.errors import Forbidden, Gone, NotFound
from chalicelib.streams.models import PUBLIC, PlaybackPolicy, StreamCreate, StreamRecord, StreamUpdate
from chalicelib.streams.profiles import DEFAULT_PROFILES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
#: A stream is idle after this many of its segment durations with no segment (Studio's habit)...
IDLE_SEGMENTS = 3
#: ...counting a segment as this long until one declared or measured its duration.
DEFAULT_SEGMENT_MS = 2_000
#: Studio's counters, as the ``streams`` table names them; ``count`` adds to these only.
COUNTERS = (
    "sourceSegments",
    "sourceBytes",
    "sourceSegmentsDuration",
    "transcodedSegments",
    "transcodedBytes",
    "transcodedSegmentsDuration",
)


def _stream_key() -> str:
    # Livepeer's shape: four groups of four, e.g. "abcd-1234-efgh-5678" (about 82 bits).
    return "-".join("".join(secrets.choice(_KEY_ALPHABET) for _ in range(4)) for _ in range(4))


def _playback_id() -> str:
    return secrets.token_hex(8)


class StreamStore:
    """Streams in the ``streams`` table (GSIs ``byStreamKey`` and ``byPlaybackId``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, request: StreamCreate, owner: str) -> StreamRecord:
        """Create a stream with fresh id, stream key and playback id; default ladder if none given."""
        record = StreamRecord(
            id=str(uuid.uuid4()),
            name=request.name,
            stream_key=_stream_key(),
            playback_id=_playback_id(),
            profiles=request.profiles if request.profiles is not None else list(DEFAULT_PROFILES),
            record=request.record,
            created_at=now_ms(),
            playback_policy=request.playback_policy or PlaybackPolicy(type=PUBLIC),
            user_tags=request.user_tags,
            owner=owner,
        )
        item = to_dynamo(record.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"gaps"}))
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
        return record

    def find(self, stream_id: str) -> StreamRecord | None:
        """Return a stream, deleted or not, or None."""
        if names_no_item(stream_id):
            return None
        item = self._table.get_item(Key={"id": stream_id}, ConsistentRead=True).get("Item")
        return None if item is None else StreamRecord.model_validate(item)

    def get(self, stream_id: str, owner: str | None = None) -> StreamRecord:
        """Return a live (not deleted) stream, optionally only if ``owner`` owns it."""
        record = self.find(stream_id)
        if record is None or record.deleted or (owner is not None and record.owner != owner):
            raise NotFound("stream_not_found", f"no stream {stream_id!r}")
        return record

    def list_owned(self, owner: str) -> list[StreamRecord]:
        """Return the owner's streams, newest first."""
        mine = [r for r in self._scan(Attr("owner").eq(owner)) if not r.deleted]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)

    def delete(self, stream_id: str, owner: str) -> None:
        """Mark a stream deleted: its key stops ingesting, its playback ends (idempotent).

        A live stream stays marked active: no segment can come any more, so the idle sweep ends it as it ends any
        stream that stopped, once (its session ends, its recording is made, ``stream.idle`` goes out).
        """
        self.get(stream_id, owner)
        self._table.update_item(
            Key={"id": stream_id}, UpdateExpression="SET deleted = :t", ExpressionAttributeValues={":t": True}
        )

    def update(self, stream_id: str, owner: str, changes: StreamUpdate) -> StreamRecord:
        """Apply a ``PATCH``: set the fields given (name, profiles, record, suspended, playbackPolicy, userTags)."""
        self.get(stream_id, owner)
        fields = to_dynamo(changes.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True))
        if fields:
            names = {f"#f{i}": name for i, name in enumerate(fields)}
            values = {f":f{i}": value for i, value in enumerate(fields.values())}
            self._table.update_item(
                Key={"id": stream_id},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
                ConditionExpression="attribute_exists(id) AND (attribute_not_exists(deleted) OR deleted = :no)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":no": False},
            )
        return self.get(stream_id, owner)

    def _by_index(self, index: str, attribute: str, value: str) -> StreamRecord | None:
        if names_no_item(value):
            return None
        page = self._table.query(IndexName=index, KeyConditionExpression=Key(attribute).eq(value), Limit=1)
        items = page.get("Items", [])
        return StreamRecord.model_validate(items[0]) if items else None

    def by_stream_key(self, stream_key: str) -> StreamRecord:
        """Return the stream of an ingest stream key; 404 if unknown, 410 if deleted."""
        found = self._by_index("byStreamKey", "streamKey", stream_key)
        if found is None:
            raise NotFound("unknown_stream_key", "no stream has this stream key")
        # The index is eventually consistent; read the item itself for the current state.
        current = self.find(found.id) or found
        if found.deleted or current.deleted:
            raise Gone("stream_deleted", "the stream of this stream key was deleted")
        if current.suspended:
            raise Forbidden("stream_suspended", "the stream of this stream key is suspended: unsuspend it to push")
        return current

    def by_playback_id(self, playback_id: str) -> StreamRecord:
        """Return the stream of a playback id; 404 if unknown or deleted."""
        found = self._by_index("byPlaybackId", "playbackId", playback_id)
        if found is None or found.deleted:
            raise NotFound("unknown_playback_id", "no stream has this playback id")
        return found

    def find_by_playback_id(self, playback_id: str) -> StreamRecord | None:
        """Return the stream of a playback id, deleted or not, or None (a player tells "ended" from "unknown")."""
        return self._by_index("byPlaybackId", "playbackId", playback_id)

    def touch(self, stream_id: str, seq: int, when_ms: int, segment_ms: int | None = None) -> bool:
        """Record ingest activity: active, last seen, the newest segment's duration, the highest sequence number.

        Returns True when this touch made the stream active (it was idle, or had never been active): the one
        write that flips ``isActive`` sees its old value, so of two segments arriving together only one does.
        """
        update, values = "SET isActive = :t, lastSeen = :now", {":t": True, ":now": when_ms}
        if segment_ms:
            update += ", lastSegmentMs = :d"
            values[":d"] = segment_ms
        # ALL_OLD, not UPDATED_OLD: an attribute set to the value it had is not "updated" for every implementation.
        before = self._table.update_item(
            Key={"id": stream_id}, UpdateExpression=update, ExpressionAttributeValues=values, ReturnValues="ALL_OLD"
        ).get("Attributes", {})
        # An older sequence number arriving late leaves the newest as it is.
        written(
            lambda: self._table.update_item(
                Key={"id": stream_id},
                UpdateExpression="SET maxSeq = :s",
                ConditionExpression="attribute_not_exists(maxSeq) OR maxSeq < :s",
                ExpressionAttributeValues={":s": seq},
            )
        )
        return before.get("isActive") is not True

    def count(self, stream_id: str, counts: dict[str, int | Decimal]) -> TransactItem:
        """Return the write that adds ``counts`` (attribute → amount, of ``COUNTERS``) to a stream's counters.

        It is a transaction's write, so the caller applies it together with the conditional write that
        makes the counted event happen once (a segment's claim, a result's settlement).
        """
        unknown = set(counts) - set(COUNTERS)
        if unknown or not counts:
            raise ValueError(f"not stream counters: {sorted(unknown) or 'none given'}")
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values = {f":c{i}": amount for i, amount in enumerate(counts.values())}
        update = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        return update_item(self._table, {"id": stream_id}, update, values, names=names)

    def set_orchestrator(self, stream_id: str, address: str) -> None:
        """Remember which orchestrator the stream's segments go to (sticky selection)."""
        self._table.update_item(
            Key={"id": stream_id},
            UpdateExpression="SET orchestrator = :o",
            ExpressionAttributeValues={":o": address},
        )

    def set_session(self, stream_id: str, session_id: str) -> None:
        """Remember the session the stream's newest start opened (the idle sweep ends that one)."""
        self._table.update_item(
            Key={"id": stream_id},
            UpdateExpression="SET sessionId = :s",
            ExpressionAttributeValues={":s": session_id},
        )

    def add_gaps(self, stream_id: str, seqs: Iterable[int]) -> None:
        """Declare sequence numbers as permanent gaps in the stream's playlists (idempotent)."""
        values = set(seqs)
        if values:
            self._table.update_item(
                Key={"id": stream_id},
                UpdateExpression="ADD gaps :g",
                ExpressionAttributeValues={":g": values},
            )

    def mark_idle(self, now_ms: int, idle_after_ms: int | None = None) -> list[str]:
        """Mark active streams with no segment for a while as inactive; return their ids (``go_idle``)."""
        return [record.id for record in self.go_idle(now_ms, idle_after_ms)]

    def go_idle(self, now_ms: int, idle_after_ms: int | None = None) -> list[StreamRecord]:
        """Mark active streams with no segment for a while as inactive; return them as they are now.

        A while is ``idle_after_ms``, or by default three of the stream's own segment durations (the newest
        segment's, else ``DEFAULT_SEGMENT_MS``): a broadcaster pushing 2 s segments is idle after 6 s. Each
        stream is marked by a conditional write, so a stream goes idle once per time it was active, however
        many sweeps run.
        """
        idle: list[StreamRecord] = []
        for record in self._scan(Attr("isActive").eq(True)):
            quiet = (
                idle_after_ms
                if idle_after_ms is not None
                else IDLE_SEGMENTS * (record.last_segment_ms or DEFAULT_SEGMENT_MS)
            )
            cut = now_ms - quiet
            if (record.last_seen or 0) >= cut:
                continue
            # Refused when a segment arrived meanwhile: the stream is still active.
            if written(
                partial(
                    self._table.update_item,
                    Key={"id": record.id},
                    UpdateExpression="SET isActive = :f",
                    ConditionExpression="lastSeen < :cut",
                    ExpressionAttributeValues={":f": False, ":cut": cut},
                )
            ):
                idle.append(record.model_copy(update={"is_active": False}))
        return idle

    def _scan(self, condition: ConditionBase) -> Iterator[StreamRecord]:
        # A scan reads the whole table: fine for the local stack and small deployments; an owner GSI
        # and a sparse "active" index replace it at scale.
        kwargs: dict[str, Any] = {"FilterExpression": condition}
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                yield StreamRecord.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
