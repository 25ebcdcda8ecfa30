"""Sessions on the wire (Livepeer Studio's ``session`` object) and as the ``sessions`` table keeps them.

A session is one period of activity of a stream: it opens with the first segment after the stream was idle (or
new) and ends when the stream goes idle. Its segments are the stream's sequence numbers from ``firstSeq`` to
``lastSeq``; a recorded one (the stream's ``record`` when it opened) gets VOD playlists and an MP4.
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from chalicelib.core.models import ApiModel
from chalicelib.recordings.remux import RecordingError, RecordingFile
from chalicelib.streams.profiles import Profile

#: Studio's ``recordingStatus`` values. This network sets waiting, ready and failed.
RecordingStatus = Literal["waiting", "ready", "failed", "deleted", "none"]
WAITING: Final = "waiting"
READY: Final = "ready"
FAILED: Final = "failed"
# Session ids are UUIDs derived from the stream and the start, so that opening the same start twice is one session.
_NAMESPACE: Final = uuid.UUID("0b9d7f0e-5c0a-4c57-8a43-64d1d1b6a0e5")


def session_id(stream_id: str, started_at_ms: int) -> str:
    """The id of the session of ``stream_id`` that started at ``started_at_ms``."""
    return str(uuid.uuid5(_NAMESPACE, f"{stream_id}/{started_at_ms}"))


class SessionEnded(ApiModel):
    """The ``sessionends`` queue's message: a stream went idle, so its open session ends here."""

    session_id: str
    stream_id: str
    # The stream's highest sequence number and last segment's time when it was marked idle.
    last_seq: int | None
    last_seen: int
    ended_at: int


class SessionCounts(ApiModel):
    """Studio's counters of a session, counted from its segments in the ledger (as the stream's are)."""

    source_segments: int = 0
    source_bytes: int = 0
    source_segments_duration: float = 0.0
    transcoded_segments: int = 0
    transcoded_bytes: int = 0
    transcoded_segments_duration: float = 0.0


class SessionRecord(BaseModel):
    """One item of the ``sessions`` table (hash ``id``, index ``byParentId``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    id: str
    parent_id: str
    owner: str
    name: str
    playback_id: str
    profiles: list[Profile]
    record: bool
    created_at: int
    first_seq: int
    # Set when the session ends (the stream went idle).
    last_seen: int | None = None
    last_seq: int | None = None
    ended_at: int | None = None
    # Set once every segment of the ended session settled: its counters are final.
    settled_at: int | None = None
    counts: SessionCounts | None = None
    # A recorded session only.
    recording_status: RecordingStatus | None = None
    recording: RecordingFile | None = None
    recording_error: RecordingError | None = None

    @property
    def is_open(self) -> bool:
        """Whether the stream is still in this session (it has not gone idle since)."""
        return self.ended_at is None


class Session(ApiModel):
    """A session as ``GET /stream/{parentId}/sessions`` returns it: Livepeer Studio's ``session`` object."""

    id: str = Field(description="The session's id; `GET /playback/{id}` answers its recording once ready.")
    parent_id: str = Field(description="The id of the stream this session is a period of.")
    name: str = Field(description="The stream's name.")
    created_at: int = Field(description="When the session started: its first segment's arrival (ms since epoch).")
    last_seen: int | None = Field(default=None, description="When its newest segment arrived (ms since epoch).")
    source_segments: int = Field(description="Source segments received in this session.")
    source_bytes: int = Field(description="Bytes of those source segments.")
    source_segments_duration: float = Field(description="Seconds of source the workers measured.")
    transcoded_segments: int = Field(description="Segments transcoded into the rendition ladder.")
    transcoded_bytes: int = Field(description="Bytes of every rendition of those segments.")
    transcoded_segments_duration: float = Field(description="Seconds of source transcoded.")
    record: bool = Field(description="Whether this session is recorded (the stream's `record` when it started).")
    recording_status: RecordingStatus | None = Field(
        default=None, description="A recorded session's recording: `waiting`, `ready` or `failed`."
    )
    recording_url: str | None = Field(default=None, description="The recording's HLS (VOD) playlist, once ready.")
    mp4_url: str | None = Field(default=None, description="The recording as one MP4, once ready.")
    recording_error: RecordingError | None = Field(
        default=None, description="Why the recording failed (ours; Studio does not say)."
    )
    playback_id: str = Field(description="The parent stream's playback id (Studio's sessions inherit it).")
    profiles: list[Profile] = Field(description="The rendition ladder the session was transcoded to.")
