"""Streams on the wire (the stream API, Livepeer Studio's shape) and as stored."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, field_validator

from chalicelib.core.models import ApiModel
from chalicelib.streams.profiles import Profile

#: Studio's default (and, here, only honoured) playback policy: anyone with the playback id plays.
PUBLIC = "public"

#: What a DynamoDB number holds: 38 significant digits, a magnitude from 1e-130 to below 1e126 (or 0).
NUMBER_DIGITS = 38
NUMBER_EXPONENTS = range(-130, 126)


def _storable(value: float) -> float:
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if value and (len(exact.as_tuple().digits) > NUMBER_DIGITS or exact.adjusted() not in NUMBER_EXPONENTS):
        raise ValueError("a number is stored with at most 38 significant digits, its magnitude 1e-130 to 9.99e125")
    return value


TagNumber = Annotated[
    int | Annotated[float, Field(allow_inf_nan=False)],
    AfterValidator(_storable),
    WithJsonSchema({"type": "number", "minimum": -9.99e125, "maximum": 9.99e125}),
]
#: The most JSON a stream's userTags may take: a DynamoDB item holds 400 KB in all.
MAX_USER_TAGS_BYTES = 16 * 1024


def _fits(tags: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(tags, ensure_ascii=False).encode()) > MAX_USER_TAGS_BYTES:
        raise ValueError(f"userTags may take at most {MAX_USER_TAGS_BYTES} bytes of JSON")
    return tags


# Studio's userTags: a value is a string, a number, or a list of them; a key is not empty.
TagValue = str | TagNumber | list[str | TagNumber]
UserTags = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=128)], TagValue], Field(max_length=50), AfterValidator(_fits)
]


class PlaybackPolicy(ApiModel):
    """Studio's ``playbackPolicy``; only ``public`` is honoured (streams.support refuses the rest)."""

    # Any text, so that an unsupported type is refused with its own code rather than as a bad body.
    type: Annotated[str, Field(min_length=1, max_length=32, description="`public`: anyone with the playback id plays.")]
    webhook_id: str | None = Field(default=None, description="Studio's signed playback (refused here).")
    webhook_context: dict[str, Any] | None = Field(default=None, description="Studio's signed playback (refused here).")
    refresh_interval: float | None = Field(default=None, description="Studio's signed playback (refused here).")
    allowed_origins: list[str] | None = Field(default=None, description="Studio's signed playback (refused here).")


def _unique_profile_names(value: list[Profile] | None) -> list[Profile] | None:
    if value is not None and len({p.name for p in value}) != len(value):
        raise ValueError("profile names must be unique")
    return value


class StreamCreate(ApiModel):
    """``POST /stream`` body."""

    name: Annotated[str, Field(min_length=1, max_length=256, description="A name for people.")]
    profiles: Annotated[list[Profile], Field(max_length=8)] | None = Field(
        default=None, description="The rendition ladder; absent, 240p0, 360p0, 480p0 and 720p0. The source is kept."
    )
    record: bool = Field(default=False, description="Keep every segment for a recording of each session.")
    playback_policy: PlaybackPolicy | None = Field(default=None, description="Only `public` is taken.")
    user_tags: UserTags | None = Field(
        default=None,
        description="Your own values (strings, numbers or lists of them; 16 KiB of JSON at most), stored and returned.",
    )

    _unique_names = field_validator("profiles")(_unique_profile_names)


class StreamUpdate(ApiModel):
    """``PATCH /stream/{id}`` body: the fields to change (Studio's), each optional."""

    name: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(default=None, description="A new name.")
    profiles: Annotated[list[Profile], Field(max_length=8)] | None = Field(
        default=None, description="A new rendition ladder, for the segments that come after."
    )
    record: bool | None = Field(default=None, description="Whether to record from now on.")
    suspended: bool | None = Field(default=None, description="`true` refuses the stream key at ingest until `false`.")
    playback_policy: PlaybackPolicy | None = Field(default=None, description="Only `public` is taken.")
    user_tags: UserTags | None = Field(default=None, description="Replaces the stored tags.")

    _unique_names = field_validator("profiles")(_unique_profile_names)


class Stream(ApiModel):
    """A stream as the API returns it, with Studio's activity counters."""

    id: str = Field(description="The stream's id.")
    name: str = Field(description="Its name.")
    stream_key: str = Field(description="The secret to push with: `/live/{streamKey}/{seq}.ts`.")
    playback_id: str = Field(description="The public id to play with: `/hls/{playbackId}/index.m3u8`.")
    profiles: list[Profile] = Field(description="The rendition ladder (the source is kept besides).")
    record: bool = Field(default=False, description="Whether its sessions are recorded.")
    # A suspended stream's key is refused at ingest (``stream_suspended``) until it is unsuspended.
    suspended: bool = Field(default=False, description="Whether its stream key is refused at ingest.")
    created_at: int = Field(description="When it was created (ms since the epoch).")
    playback_policy: PlaybackPolicy = Field(default=PlaybackPolicy(type=PUBLIC), description="Who may play it.")
    user_tags: dict[str, TagValue] | None = Field(default=None, description="Your own values, as given.")
    is_active: bool = Field(default=False, description="From its first segment until it goes idle.")
    last_seen: int | None = Field(default=None, description="When its newest segment arrived (ms since the epoch).")
    # Counted once per segment: source ones when first received, transcoded ones when a result settles it.
    source_segments: int = Field(default=0, description="Source segments received.")
    source_bytes: int = Field(default=0, description="Their bytes.")
    # Seconds of source the workers measured (a segment that failed to transcode adds none).
    source_segments_duration: float = Field(default=0.0, description="Seconds of source the workers measured.")
    transcoded_segments: int = Field(default=0, description="Segments transcoded.")
    transcoded_bytes: int = Field(default=0, description="The bytes of all their renditions.")
    transcoded_segments_duration: float = Field(default=0.0, description="Seconds of source transcoded.")
    orchestrator: str | None = Field(default=None, description="The orchestrator its newest segment went to.")
    deleted: bool = Field(
        default=False, description="Whether it was deleted (the API answers only streams that were not)."
    )


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
    # The session (a period of activity, ``recordings``) the stream's newest start opened.
    session_id: str | None = None

    def to_api(self) -> Stream:
        """Return the stream as the API shows it."""
        return Stream.model_validate(self.model_dump(include=set(Stream.model_fields)))
