"""Streams on the wire (the stream API, Livepeer Studio's shape) and as stored."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from chalicelib.core.models import ApiModel
from chalicelib.streams.profiles import Profile

#: Studio's default (and, here, only honoured) playback policy: anyone with the playback id plays.
PUBLIC = "public"

# Studio's userTags: a value is a string, a number, or a list of them.
TagValue = str | int | float | list[str | int | float]


class PlaybackPolicy(ApiModel):
    """Studio's ``playbackPolicy``; only ``public`` is honoured (streams.support refuses the rest)."""

    # Any text, so that an unsupported type is refused with its own code rather than as a bad body.
    type: Annotated[str, Field(min_length=1, max_length=32)]
    webhook_id: str | None = None
    webhook_context: dict[str, Any] | None = None
    refresh_interval: float | None = None
    allowed_origins: list[str] | None = None


def _unique_profile_names(value: list[Profile] | None) -> list[Profile] | None:
    if value is not None and len({p.name for p in value}) != len(value):
        raise ValueError("profile names must be unique")
    return value


class StreamCreate(ApiModel):
    """``POST /stream`` body."""

    name: Annotated[str, Field(min_length=1, max_length=256)]
    profiles: Annotated[list[Profile], Field(max_length=8)] | None = None
    record: bool = False
    playback_policy: PlaybackPolicy | None = None
    user_tags: Annotated[dict[Annotated[str, Field(max_length=128)], TagValue], Field(max_length=50)] | None = None

    _unique_names = field_validator("profiles")(_unique_profile_names)


class StreamUpdate(ApiModel):
    """``PATCH /stream/{id}`` body: the fields to change (Studio's), each optional."""

    name: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    profiles: Annotated[list[Profile], Field(max_length=8)] | None = None
    record: bool | None = None
    suspended: bool | None = None
    playback_policy: PlaybackPolicy | None = None
    user_tags: Annotated[dict[Annotated[str, Field(max_length=128)], TagValue], Field(max_length=50)] | None = None

    _unique_names = field_validator("profiles")(_unique_profile_names)


class Stream(ApiModel):
    """A stream as the API returns it, with Studio's activity counters."""

    id: str
    name: str
    stream_key: str
    playback_id: str
    profiles: list[Profile]
    record: bool = False
    # A suspended stream's key is refused at ingest (``stream_suspended``) until it is unsuspended.
    suspended: bool = False
    created_at: int
    playback_policy: PlaybackPolicy = PlaybackPolicy(type=PUBLIC)
    user_tags: dict[str, TagValue] | None = None
    is_active: bool = False
    last_seen: int | None = None
    # Counted once per segment: source ones when first received, transcoded ones when a result settles it.
    source_segments: int = 0
    source_bytes: int = 0
    # Seconds of source the workers measured (a segment that failed to transcode adds none).
    source_segments_duration: float = 0.0
    transcoded_segments: int = 0
    transcoded_bytes: int = 0
    transcoded_segments_duration: float = 0.0
    orchestrator: str | None = None
    deleted: bool = False


class StreamRecord(Stream):
    """A stream as the ``streams`` table keeps it: the API's fields plus its owner and ingest state."""

    # Items may carry attributes this version does not know; a record is never changed in place.
    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str
    # The highest sequence number received so far.
    max_seq: int | None = None
    # The duration of the newest segment received (ms): the stream is idle after three of them with none.
    last_segment_ms: int | None = None
    # Sequence numbers declared permanent gaps in the playlists.
    gaps: frozenset[int] = frozenset()

    def to_api(self) -> Stream:
        """Return the stream as the API shows it."""
        return Stream.model_validate(self.model_dump(include=set(Stream.model_fields)))
