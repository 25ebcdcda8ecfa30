"""Streams on the wire (the stream API, Livepeer Studio's shape) and as stored."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

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


class StreamRecord(BaseModel):
    """A stream as the ``streams`` table keeps it: the API's fields plus its owner and ingest state."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    id: str
    name: str
    stream_key: str
    playback_id: str
    profiles: list[Profile]
    record: bool = False
    created_at: int
    owner: str
    is_active: bool = False
    last_seen: int | None = None
    # The orchestrator the stream's segments go to (sticky selection).
    orchestrator: str | None = None
    deleted: bool = False
    # The highest sequence number received so far.
    max_seq: int | None = None
    # Sequence numbers declared permanent gaps in the playlists.
    gaps: frozenset[int] = frozenset()

    def to_api(self) -> Stream:
        """Return the stream as the API shows it."""
        return Stream(
            id=self.id,
            name=self.name,
            stream_key=self.stream_key,
            playback_id=self.playback_id,
            profiles=self.profiles,
            record=self.record,
            created_at=self.created_at,
            is_active=self.is_active,
            last_seen=self.last_seen,
            orchestrator=self.orchestrator,
            deleted=self.deleted,
        )
