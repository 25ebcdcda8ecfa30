"""Every payload, defined once: the stream API, the transcode job and the worker's result manifest.

JSON is camelCase on the wire (Livepeer Studio's shape); Python attributes are snake_case.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
SOURCE_RENDITION = "source"


class ApiModel(BaseModel):
    """Base of every wire payload: camelCase aliases, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, object]:
        """Return the JSON-ready camelCase dict."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Profile(ApiModel):
    """A rendition of the ladder: its bounding height, nominal width and bitrate (bits/s)."""

    name: str
    width: Annotated[int, Field(ge=16, le=7680)]
    height: Annotated[int, Field(ge=16, le=4320)]
    bitrate: Annotated[int, Field(ge=10_000, le=50_000_000)]
    # 0 keeps the source's frame rate.
    fps: Annotated[int, Field(ge=0, le=120)] = 0

    @field_validator("name")
    @classmethod
    def _name_is_path_safe(cls, value: str) -> str:
        if value == SOURCE_RENDITION or not PROFILE_NAME.match(value):
            raise ValueError(
                "profile names are 1-32 characters of letters, digits, '_', '.', '-' "
                f"and may not be {SOURCE_RENDITION!r}"
            )
        return value


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


class JobOutput(ApiModel):
    """Where the worker puts one rendition: a presigned PUT URL for the object key."""

    profile: Profile
    key: str
    upload_url: str


class TranscodeJob(ApiModel):
    """One segment to transcode: sent by the gateway to an orchestrator's intake, then queued."""

    job_id: str
    stream_id: str
    seq: Annotated[int, Field(ge=0)]
    source_url: str
    source_bytes: Annotated[int, Field(ge=1)]
    duration_ms: Annotated[int, Field(ge=0)] | None = None
    outputs: Annotated[list[JobOutput], Field(max_length=9)]
    result_key: str
    result_url: str
    orchestrator: str
    created_at: int


class SourceInfo(ApiModel):
    """What the worker found in the source segment."""

    width: int
    height: int
    fps: float
    duration_ms: int
    bitrate: int
    video_codec: str
    audio_codec: str | None = None
    frames: int


class RenditionResult(ApiModel):
    """One rendition the worker produced."""

    name: str
    key: str
    width: int
    height: int
    bitrate: int
    codecs: str
    frames: int
    duration_ms: int
    bytes: int
    # Wall time of this rendition's encode (renditions encode side by side).
    encode_ms: int | None = None


class JobError(ApiModel):
    """Why a job failed: a stable code and a message."""

    code: str
    message: str


class TranscodeResult(ApiModel):
    """The result manifest the worker writes to ``result_key``; its arrival drives the playlists."""

    job_id: str
    stream_id: str
    seq: int
    orchestrator: str
    status: Literal["ok", "failed"]
    attempt: int = 1
    # True when the queue will not deliver the job again (the last attempt failed).
    final: bool = True
    error: JobError | None = None
    source: SourceInfo | None = None
    renditions: list[RenditionResult] = []
    encoder: str | None = None
    transcode_ms: int | None = None
    worker: str | None = None
