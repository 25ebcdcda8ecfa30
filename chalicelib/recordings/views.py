"""A session as the API and the ``recording.ready`` webhook show it: Studio's shape, with public links."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from chalicelib.playback.links import recording_mp4_url, recording_url
from chalicelib.recordings.models import READY, Session, SessionCounts, SessionRecord
from chalicelib.segments.models import SegmentRecord, SegmentStatus


def session_counts(records: Iterable[SegmentRecord]) -> SessionCounts:
    """Count a session's segments as the stream counts them: every one received, durations of settled ones."""
    counts = {name: Decimal(0) for name in SessionCounts.model_fields}
    for record in records:
        counts["source_segments"] += 1
        counts["source_bytes"] += record.source_bytes
        if record.status != SegmentStatus.READY or record.source_info is None:
            continue
        seconds = Decimal(record.source_info.duration_ms) / 1000
        counts["source_segments_duration"] += seconds
        if record.renditions:
            counts["transcoded_segments"] += 1
            counts["transcoded_bytes"] += sum(r.bytes for r in record.renditions.values())
            counts["transcoded_segments_duration"] += seconds
    return SessionCounts.model_validate({name: float(v) for name, v in counts.items()})


def session_view(
    record: SessionRecord, base: str | None, counts: SessionCounts | None = None, last_seen: int | None = None
) -> Session:
    """Return a session in Studio's shape; its recording's links (on ``base``) once it is ready.

    ``counts`` and ``last_seen`` stand in for what a session still open (or not yet settled) has not stored.
    """
    shown = record.counts or counts or SessionCounts()
    ready = record.recording_status == READY and base is not None
    return Session(
        id=record.id,
        parent_id=record.parent_id,
        name=record.name,
        created_at=record.created_at,
        last_seen=record.last_seen or last_seen,
        **shown.model_dump(),
        record=record.record,
        recording_status=record.recording_status,
        recording_url=recording_url(base, record.id) if ready and base else None,
        mp4_url=recording_mp4_url(base, record.id) if ready and base else None,
        recording_error=record.recording_error,
        playback_id=record.playback_id,
        profiles=record.profiles,
    )
