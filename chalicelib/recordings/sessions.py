"""Opening and ending sessions where a stream's activity starts and stops: the ``StreamSessions`` the wiring
hands ingest (a start opens one) and the idle sweep (going idle ends it).

Both calls are best effort on their paths, as webhook events are: a failure is logged and the segment, or the
sweep, goes on. Opening is one conditional write (the session's id comes from the start, so a repeated report is
one session) and a note of the id on the stream; ending is one message to the ``sessionends`` queue, whose handler
(``recordings.vod``) does the rest once the session's last segments have settled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.core.logs import logger
from chalicelib.recordings.models import WAITING, SessionEnded, SessionRecord, session_id
from chalicelib.recordings.queue import MessageSink
from chalicelib.recordings.store import SessionStore
from chalicelib.streams.models import StreamRecord
from chalicelib.streams.store import StreamStore


def first_seq(stream: StreamRecord, seq: int) -> int:
    """The first sequence number of a session that segment ``seq`` opened: the one after the stream's newest
    before it (so that a segment of this session overtaken in flight by ``seq`` still belongs to it)."""
    return seq if stream.max_seq is None else min(seq, stream.max_seq + 1)


def new_session(stream: StreamRecord, at_ms: int, seq: int) -> SessionRecord:
    """The session segment ``seq`` of ``stream`` (as it was before) opened at ``at_ms``."""
    return SessionRecord(
        id=session_id(stream.id, at_ms),
        parent_id=stream.id,
        owner=stream.owner,
        name=stream.name,
        playback_id=stream.playback_id,
        profiles=stream.profiles,
        # Studio's rule: a session is recorded if its stream recorded when it started.
        record=stream.record,
        created_at=at_ms,
        first_seq=first_seq(stream, seq),
        recording_status=WAITING if stream.record else None,
    )


@dataclass
class SessionTracker:
    """A ``StreamSessions`` over the ``sessions`` table and the ``sessionends`` queue (made only when needed)."""

    sessions: SessionStore
    streams: StreamStore
    ends: Callable[[], MessageSink]

    def started(self, stream: StreamRecord, at_ms: int, seq: int) -> None:
        """Open the session segment ``seq`` started; log, never raise, on failure."""
        record = new_session(stream, at_ms, seq)
        try:
            self.sessions.open(record)
            self.streams.set_session(stream.id, record.id)
        except Exception:
            logger.exception("session not opened", stream_id=stream.id, session_id=record.id, seq=seq)
            return
        logger.info("session opened", stream_id=stream.id, session_id=record.id, record=record.record)

    def ended(self, stream: StreamRecord, at_ms: int) -> None:
        """Queue the end of the stream's open session; log, never raise, on failure."""
        if stream.session_id is None:
            logger.info("no session to end", stream_id=stream.id)
            return
        ended = SessionEnded(
            session_id=stream.session_id,
            stream_id=stream.id,
            last_seq=stream.max_seq,
            last_seen=stream.last_seen or at_ms,
            ended_at=at_ms,
        )
        try:
            self.ends().send(ended)
        except Exception:
            logger.exception("session end not queued", stream_id=stream.id, session_id=stream.session_id)
            return
        logger.info("session ended", stream_id=stream.id, session_id=stream.session_id)
