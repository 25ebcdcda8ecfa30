"""A segment as the ledger keeps it, and the one set of statuses it moves through."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from chalicelib.jobs.models import JobError, RenditionResult, SourceInfo


class SegmentStatus(StrEnum):
    """Where a segment is: received (stored), dispatched (an orchestrator took it), ready, or failed."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    READY = "ready"
    FAILED = "failed"

    @property
    def settled(self) -> bool:
        """Whether the segment's transcode is over, one way or the other."""
        return self in (SegmentStatus.READY, SegmentStatus.FAILED)


class SegmentRecord(BaseModel):
    """One item of the ``segments`` table (hash ``streamId``, range ``seq``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    stream_id: str
    seq: int
    status: SegmentStatus
    source_key: str
    source_bytes: int
    received_at: int
    # The broadcaster's stated duration (Content-Duration, or a pushed playlist's EXTINF).
    duration_ms: int | None = None
    orchestrator: str | None = None
    job_id: str | None = None
    # On-chain mode: how many tickets paid the orchestrator that took the job.
    tickets: int | None = None
    # Set once the result arrives.
    renditions: dict[str, RenditionResult] = {}
    source_info: SourceInfo | None = None
    encoder: str | None = None
    transcode_ms: int | None = None
    completed_at: int | None = None
    result_orchestrator: str | None = None
    error: JobError | None = None
    attempts: int | None = None

    def duration_s(self) -> float:
        """The segment's duration: the broadcaster's stated one, else the worker's measurement, else 0."""
        if self.duration_ms is not None:
            return self.duration_ms / 1000
        if self.source_info is not None:
            return self.source_info.duration_ms / 1000
        return 0.0
