"""Streams: create, look up (by id, stream key, playback id), list, delete; stored in DynamoDB."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.errors import Gone, NotFound
from chalicelib.models import Profile, Stream, StreamCreate
from chalicelib.profiles import DEFAULT_PROFILES

_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def now_ms() -> int:
    """Return the wall-clock time in milliseconds."""
    return int(time.time() * 1000)


def _stream_key() -> str:
    # Livepeer's shape: four groups of four, e.g. "abcd-1234-efgh-5678" (about 82 bits).
    return "-".join("".join(secrets.choice(_KEY_ALPHABET) for _ in range(4)) for _ in range(4))


def _playback_id() -> str:
    return secrets.token_hex(8)


def _to_stream(item: dict[str, Any]) -> Stream:
    return Stream(
        id=item["id"],
        name=item["name"],
        stream_key=item["streamKey"],
        playback_id=item["playbackId"],
        profiles=[Profile.model_validate(p) for p in item["profiles"]],
        record=bool(item.get("record", False)),
        created_at=int(item["createdAt"]),
        is_active=bool(item.get("isActive", False)),
        last_seen=int(item["lastSeen"]) if item.get("lastSeen") is not None else None,
        orchestrator=item.get("orchestrator"),
        deleted=bool(item.get("deleted", False)),
    )


class StreamStore:
    """Streams in the ``streams`` table (GSIs ``byStreamKey`` and ``byPlaybackId``)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, request: StreamCreate, owner: str) -> Stream:
        """Create a stream with fresh id, stream key and playback id; default ladder if none given."""
        profiles = request.profiles if request.profiles is not None else list(DEFAULT_PROFILES)
        stream = Stream(
            id=str(uuid.uuid4()),
            name=request.name,
            stream_key=_stream_key(),
            playback_id=_playback_id(),
            profiles=profiles,
            record=request.record,
            created_at=now_ms(),
        )
        item = {
            "id": stream.id,
            "name": stream.name,
            "streamKey": stream.stream_key,
            "playbackId": stream.playback_id,
            "profiles": [p.wire() for p in profiles],
            "record": stream.record,
            "createdAt": stream.created_at,
            "owner": owner,
            "isActive": False,
            "deleted": False,
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
        return stream

    def item(self, stream_id: str) -> dict[str, Any] | None:
        """Return the raw item of a stream, or None."""
        found: dict[str, Any] | None = self._table.get_item(Key={"id": stream_id}, ConsistentRead=True).get("Item")
        return found

    def get(self, stream_id: str, owner: str | None = None) -> Stream:
        """Return a live (not deleted) stream, optionally only if ``owner`` owns it."""
        item = self.item(stream_id)
        if item is None or item.get("deleted") or (owner is not None and item.get("owner") != owner):
            raise NotFound("stream_not_found", f"no stream {stream_id!r}")
        return _to_stream(item)

    def list_owned(self, owner: str) -> list[Stream]:
        """Return the owner's streams, newest first."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self._table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        mine = [i for i in items if i.get("owner") == owner and not i.get("deleted")]
        return [_to_stream(i) for i in sorted(mine, key=lambda i: int(i["createdAt"]), reverse=True)]

    def delete(self, stream_id: str, owner: str) -> None:
        """Mark a stream deleted: its key stops ingesting, its playback ends (idempotent)."""
        self.get(stream_id, owner)
        self._table.update_item(
            Key={"id": stream_id},
            UpdateExpression="SET deleted = :t, isActive = :f",
            ExpressionAttributeValues={":t": True, ":f": False},
        )

    def _by_index(self, index: str, attribute: str, value: str) -> dict[str, Any] | None:
        page = self._table.query(IndexName=index, KeyConditionExpression=Key(attribute).eq(value), Limit=1)
        items = page.get("Items", [])
        return items[0] if items else None

    def by_stream_key(self, stream_key: str) -> dict[str, Any]:
        """Return the raw item for an ingest stream key; 404 if unknown, 410 if deleted."""
        item = self._by_index("byStreamKey", "streamKey", stream_key)
        if item is None:
            raise NotFound("unknown_stream_key", "no stream has this stream key")
        if item.get("deleted"):
            raise Gone("stream_deleted", "the stream of this stream key was deleted")
        # The index is eventually consistent; read the item itself for the current state.
        current = self.item(item["id"]) or item
        if current.get("deleted"):
            raise Gone("stream_deleted", "the stream of this stream key was deleted")
        return current

    def by_playback_id(self, playback_id: str) -> dict[str, Any]:
        """Return the raw item for a playback id; 404 if unknown or deleted."""
        item = self._by_index("byPlaybackId", "playbackId", playback_id)
        if item is None or item.get("deleted"):
            raise NotFound("unknown_playback_id", "no stream has this playback id")
        return item

    def touch(self, stream_id: str, seq: int, when_ms: int) -> None:
        """Record ingest activity: active, last seen, and the highest sequence number so far."""
        self._table.update_item(
            Key={"id": stream_id},
            UpdateExpression="SET isActive = :t, lastSeen = :now",
            ExpressionAttributeValues={":t": True, ":now": when_ms},
        )
        try:
            self._table.update_item(
                Key={"id": stream_id},
                UpdateExpression="SET maxSeq = :s",
                ConditionExpression="attribute_not_exists(maxSeq) OR maxSeq < :s",
                ExpressionAttributeValues={":s": seq},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def set_orchestrator(self, stream_id: str, address: str) -> None:
        """Remember which orchestrator the stream's segments go to (sticky selection)."""
        self._table.update_item(
            Key={"id": stream_id},
            UpdateExpression="SET orchestrator = :o",
            ExpressionAttributeValues={":o": address},
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

    def mark_idle(self, idle_before_ms: int) -> list[str]:
        """Mark active streams not seen since ``idle_before_ms`` as inactive; return their ids."""
        idle: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                if item.get("isActive") and int(item.get("lastSeen", 0)) < idle_before_ms:
                    try:
                        self._table.update_item(
                            Key={"id": item["id"]},
                            UpdateExpression="SET isActive = :f",
                            ConditionExpression="lastSeen < :cut",
                            ExpressionAttributeValues={":f": False, ":cut": idle_before_ms},
                        )
                    except ClientError as error:  # a segment arrived meanwhile: still active
                        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                            raise
                        continue
                    idle.append(str(item["id"]))
            if "LastEvaluatedKey" not in page:
                return idle
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
