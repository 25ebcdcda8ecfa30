"""Streams on the wire (the stream API, Livepeer Studio's shape) and as stored."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from chalicelib.core.models import ApiModel
from chalicelib.streams.profiles import Profile


class StreamCreate(ApiModel):
    """``POST /stream`` body."""

    name: Annotated[str, Field(min_length=1, max_length=256)]
    profiles: Annotated[list[Profile], Field(max_length=8)] | None = None
    record: bool = False

    @field_validator("profiles")
    @classmethod
    def _unique_names(cls, value: list[Profile] | None) -> list[Profile] | None:
        if value is not None and len({p.name for p in value}) != len(value):
            raise ValueError("profile names must be unique")
        return value


class Stream(ApiModel):
    """A stream as the API returns it."""

    id: str
    name: str
    stream_key: str
    playback_id: str
    profiles: list[Profile]
    record: bool = False
    created_at: int
    is_active: bool = False
    last_seen: int | None = None
    orchestrator: str | None = None
    deleted: bool = False


class StreamList(ApiModel):
    """``GET /stream`` body."""

    streams: list[Stream]


class StreamRecord(Stream):
    """A stream as the ``streams`` table keeps it: the API's fields plus its owner and ingest state."""

    # Items may carry attributes this version does not know; a record is never changed in place.
    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str
    # The highest sequence number received so far.
    max_seq: int | None = None
    # Sequence numbers declared permanent gaps in the playlists.
    gaps: frozenset[int] = frozenset()

    def to_api(self) -> Stream:
        """Return the stream as the API shows it."""
        return Stream.model_validate(self.model_dump(include=set(Stream.model_fields)))
