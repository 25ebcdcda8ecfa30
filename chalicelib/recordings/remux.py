"""The remux job the gateway queues for a recorded session, and the manifest the recorder writes back.

These are the only payloads the gateway and the recorder (``gpu_worker.recorder``, a process with PyAV) share:
the job names the session's segments by sequence number, and the media bucket's key scheme (``segments.media_keys``)
says where each is; the manifest lands beside the MP4 and its creation tells the gateway (an S3 notification).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.segments.media_keys import recording_mp4_key, remux_result_key, rendition_key, source_key
from chalicelib.streams.profiles import SOURCE_RENDITION


class RecordingError(ApiModel):
    """Why a recording failed: a stable code and a message for people."""

    code: str = Field(description="Stable machine-readable code, e.g. `recording_empty`, `undecodable_segment`.")
    message: str = Field(description="What went wrong, for people.")


class RecordingFile(ApiModel):
    """The MP4 the recorder made: where it is, which rendition it copies, and what it holds."""

    key: str
    rendition: str
    bytes: Annotated[int, Field(ge=0)]
    width: int
    height: int
    bitrate: int
    duration_ms: int
    video_codec: str
    audio_codec: str | None = None


class RemuxJob(ApiModel):
    """Remux one rendition of a session's segments, in this order, into the session's MP4 (no re-encode)."""

    stream_id: str
    session_id: str
    bucket: str
    rendition: str
    seqs: Annotated[list[int], Field(min_length=1)]
    created_at: int

    def segment_keys(self) -> list[str]:
        """The media bucket keys of the segments to copy, in order."""
        if self.rendition == SOURCE_RENDITION:
            return [source_key(self.stream_id, seq) for seq in self.seqs]
        return [rendition_key(self.stream_id, self.rendition, seq) for seq in self.seqs]

    def mp4_key(self) -> str:
        """Where the MP4 goes."""
        return recording_mp4_key(self.stream_id, self.session_id)

    def result_key(self) -> str:
        """Where the manifest goes (written after the MP4: its creation tells the gateway)."""
        return remux_result_key(self.stream_id, self.session_id)


class RemuxResult(ApiModel):
    """The recorder's manifest: the MP4 it made, or why it could not (``final``: no attempt will follow)."""

    stream_id: str
    session_id: str
    status: Literal["ok", "failed"]
    file: RecordingFile | None = None
    error: RecordingError | None = None
    attempt: int = 1
    final: bool = True
    recorder: str | None = None
    remux_ms: int | None = None
