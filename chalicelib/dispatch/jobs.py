"""Building one segment's transcode job: the profiles to make and presigned URLs for every object."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.jobs.models import JobOutput, TranscodeJob, job_id
from chalicelib.segments.media import JSON_CONTENT_TYPE, TS_CONTENT_TYPE, MediaBucket
from chalicelib.segments.media_keys import rendition_key, result_key, source_key
from chalicelib.streams.profiles import Profile


def build_job(
    *,
    media: MediaBucket,
    stream_id: str,
    seq: int,
    size: int,
    duration_ms: int | None,
    profiles: Sequence[Profile],
    orchestrator: str,
    ttl_s: int,
    created_at: int,
) -> TranscodeJob:
    """Return the job for one segment, with presigned URLs for the source, renditions and result."""
    outputs = [
        JobOutput(
            profile=p,
            key=rendition_key(stream_id, p.name, seq),
            upload_url=media.presigned_put(rendition_key(stream_id, p.name, seq), ttl_s, TS_CONTENT_TYPE),
        )
        for p in profiles
    ]
    return TranscodeJob(
        job_id=job_id(stream_id, seq),
        stream_id=stream_id,
        seq=seq,
        source_url=media.presigned_get(source_key(stream_id, seq), ttl_s),
        source_bytes=size,
        duration_ms=duration_ms,
        outputs=outputs,
        result_key=result_key(stream_id, seq),
        result_url=media.presigned_put(result_key(stream_id, seq), ttl_s, JSON_CONTENT_TYPE),
        orchestrator=orchestrator,
        created_at=created_at,
    )
