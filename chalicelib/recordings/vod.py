"""An ended session settles: once its segments have, its counters are kept and, when it is recorded, its VOD
playlists are written and its MP4 is queued for the recorder (the ``sessionends`` handler).

The session's segments may still be in flight when the stream goes idle (its last ones were pushed a few seconds
before). The same rule as the live playlist decides when each is settled (``playback.hls.resolve``: ready,
failed, or waited past the pending timeout, and holes past the missing timeout); until all are, the message is
put back and tried again. Its last delivery settles with what there is: whatever is still in flight then is a
gap. Every step writes the same thing when repeated, so a redelivered message changes nothing; the remux job may
be queued twice, and the recorder's second MP4 is the same as its first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from chalicelib.core.batch import SQSRecord, process_sqs_batch
from chalicelib.core.clock import now_ms
from chalicelib.core.logs import log_context, logger
from chalicelib.core.resources import definitions
from chalicelib.core.settings import Settings
from chalicelib.playback.hls import Entry, render_master, render_vod, resolve, variants
from chalicelib.recordings.models import WAITING, SessionEnded, SessionRecord
from chalicelib.recordings.queue import MessageSink
from chalicelib.recordings.remux import RecordingError, RemuxJob
from chalicelib.recordings.store import SessionStore
from chalicelib.recordings.views import session_counts
from chalicelib.segments.media import PLAYLIST_CONTENT_TYPE, MediaBucket
from chalicelib.segments.media_keys import recording_playlist_key
from chalicelib.segments.models import SegmentRecord
from chalicelib.segments.store import SegmentStore
from chalicelib.streams.profiles import SOURCE_RENDITION
from chalicelib.streams.store import StreamStore

#: A clock reading after every timeout: on its last delivery a session settles with what has settled.
FAR_FUTURE_MS = 2**62
#: The codec family an MP4 can copy without re-encoding (RFC 6381's H.264).
H264_CODECS = "avc1"
# Stable codes of a recording the gateway gives up on (the recorder's own are in gpu_worker.recorder).
RECORDING_EMPTY = "recording_empty"
NO_H264_RENDITION = "no_h264_rendition"
RECORDING_FAILED = "recording_failed"


class NotSettledYet(Exception):
    """Some of the session's segments are still being transcoded: try again later."""


@dataclass
class SessionEnds:
    """What settling an ended session reads and writes; the remux queue is made only when needed."""

    settings: Settings
    sessions: SessionStore
    streams: StreamStore
    segments: SegmentStore
    media: MediaBucket
    remux: Callable[[], MessageSink]


def settle(ctx: SessionEnds, ended: SessionEnded, now: int, final: bool) -> SessionRecord | None:
    """End the session, wait for its segments, keep its counters and (recorded) write its VOD and queue its MP4.

    Raises ``NotSettledYet`` while a segment is in flight, unless ``final``. Returns the session, or None for an
    unknown one.
    """
    if ctx.sessions.get(ended.session_id) is None:
        logger.warning("no such session: nothing to settle")
        return None
    last_seq = ended.last_seq
    ctx.sessions.end(ended.session_id, -1 if last_seq is None else last_seq, ended.last_seen, ended.ended_at)
    session = ctx.sessions.get(ended.session_id)
    assert session is not None and session.last_seq is not None
    records = ctx.segments.between(session.parent_id, session.first_seq, session.last_seq)
    stream = ctx.streams.find(session.parent_id)
    gaps = set(stream.gaps) if stream is not None else set()
    listing = resolve(
        records,
        gaps,
        FAR_FUTURE_MS if final else now,
        int(ctx.settings.pending_timeout_s * 1000),
        int(ctx.settings.missing_timeout_s * 1000),
    )
    covered = {e.seq for e in listing.entries} | gaps | listing.new_gaps
    if in_flight := sorted({r.seq for r in records} - covered):
        raise NotSettledYet(f"{len(in_flight)} segments in flight, from {in_flight[0]}")
    ctx.sessions.settle(session.id, session_counts(records), now)
    if session.record and session.recording_status == WAITING:
        _record(ctx, session, listing.entries, {r.seq: r for r in records}, now)
    return session


def _record(
    ctx: SessionEnds, session: SessionRecord, entries: Sequence[Entry], by_seq: dict[int, SegmentRecord], now: int
) -> None:
    """Write the session's VOD playlists (every rendition and the source, then the master) and queue its MP4."""
    if not entries:
        _fail(ctx, session, RECORDING_EMPTY, "no segment of this session was transcoded", now)
        return
    listed = [by_seq[e.seq] for e in entries]
    # Every rendition every listed segment has: the VOD's renditions stay aligned, as the live ones are.
    common = set.intersection(*(set(r.renditions) for r in listed))
    names = [*sorted(common), SOURCE_RENDITION]
    for name in names:
        key = recording_playlist_key(session.parent_id, session.id, name)
        ctx.media.put(key, render_vod(entries).encode(), PLAYLIST_CONTENT_TYPE)
    master = render_master([v for v in variants(listed) if v.name in names])
    ctx.media.put(recording_playlist_key(session.parent_id, session.id), master.encode(), PLAYLIST_CONTENT_TYPE)
    best = best_rendition(listed[-1], common)
    if best is None:
        _fail(ctx, session, NO_H264_RENDITION, "no rendition of this session is H.264 to copy into an MP4", now)
        return
    job = RemuxJob(
        stream_id=session.parent_id,
        session_id=session.id,
        bucket=ctx.media.name,
        rendition=best,
        seqs=[e.seq for e in entries],
        created_at=now,
    )
    ctx.remux().send(job)
    logger.info("recording written; its MP4 is queued", rendition=best, segments=len(entries))


def best_rendition(newest: SegmentRecord, common: set[str]) -> str | None:
    """The rendition the MP4 copies: the largest transcoded one (the worker makes H.264 and AAC), else the source
    when it is H.264; None when nothing can be copied."""
    made = [r for name, r in newest.renditions.items() if name in common]
    if made:
        return max(made, key=lambda r: (r.width * r.height, r.bitrate)).name
    source = newest.source_info
    if source is not None and source.video_codec.startswith(H264_CODECS):
        return SOURCE_RENDITION
    return None


def _fail(ctx: SessionEnds, session: SessionRecord, code: str, message: str, now: int) -> None:
    if ctx.sessions.recording_failed(session.id, RecordingError(code=code, message=message), now):
        logger.error("recording failed", code=code, reason=message)


def handle_session_ends(
    event: dict[str, Any], ctx: SessionEnds, clock: Callable[[], int] = now_ms
) -> PartialItemFailureResponse:
    """Settle every ended session of an SQS batch; one still waiting on its segments is tried again.

    On a message's last delivery (the queue's ``maxReceiveCount``) the session settles with what there is, and a
    recording that could not be made even then is marked failed, with the reason, rather than left waiting.
    """
    last_receive = definitions().queues["sessionends"].max_receive_count

    def handle(record: SQSRecord) -> None:
        ended = SessionEnded.model_validate_json(record.body)
        final = int(record.attributes.approximate_receive_count or 1) >= last_receive
        with log_context(stream_id=ended.stream_id, session_id=ended.session_id, message_id=record.message_id):
            try:
                settle(ctx, ended, clock(), final)
            except NotSettledYet as waiting:
                logger.info("session not settled yet: tried again shortly", reason=str(waiting))
                raise
            except Exception as error:
                if not final:
                    logger.exception("session not settled; it will be tried again")
                    raise
                logger.exception("session not settled on its last attempt: its recording fails")
                session = ctx.sessions.get(ended.session_id)
                if session is not None and session.record:
                    _fail(ctx, session, RECORDING_FAILED, f"the recording could not be written: {error}", clock())

    return process_sqs_batch(event, handle)
