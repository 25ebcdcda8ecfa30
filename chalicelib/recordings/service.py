"""The recordings' API: a stream's sessions (Studio's shape), a recorded session's playback info, and its files.

``GET /stream/{id}/sessions`` lists sessions newest first. ``GET /playback/{id}`` answers a recorded session's id
with Studio's ``type: recording`` info (its VOD playlist, then its MP4) and any other id as ``playback`` does.
``/recordings/{sessionId}/index.m3u8`` (the VOD master playlist), ``.../{rendition}/index.m3u8`` and
``.../{rendition}/{seq}.ts`` play the recording; ``.../output.mp4`` redirects to the MP4 in the media bucket.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from chalicelib.core.errors import NotFound
from chalicelib.core.settings import Settings
from chalicelib.playback.info import HRN_MP4, TYPE_MP4, PlaybackInfo, PlaybackSource, playback_info
from chalicelib.playback.links import MASTER_PLAYLIST, RECORDING_MP4, recording_mp4_url, recording_url
from chalicelib.playback.service import Playback, Playlist, Redirect, SegmentData
from chalicelib.recordings.models import FAILED, READY, Session, SessionRecord
from chalicelib.recordings.store import SessionStore
from chalicelib.recordings.views import session_counts, session_view
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.media_keys import recording_playlist_key
from chalicelib.segments.names import SegmentName, parse_ingest_name
from chalicelib.segments.store import SegmentStore
from chalicelib.streams.models import StreamRecord
from chalicelib.streams.store import StreamStore


def _is_session_id(value: str) -> bool:
    """Session ids are UUIDs; playback ids are not (16 hex digits): one lookup tells them apart."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass
class Recordings:
    """The stores, bucket and playback the recordings' API reads."""

    settings: Settings
    sessions: SessionStore
    streams: StreamStore
    segments: SegmentStore
    media: MediaBucket
    playback: Playback

    def list_sessions(self, stream_id: str, owner: str, base: str, record_only: bool = False) -> list[Session]:
        """Return a stream's sessions, newest first (only the recorded ones with ``record_only``)."""
        stream = self.streams.get(stream_id, owner)
        records = [r for r in self.sessions.of_stream(stream.id) if r.record or not record_only]
        return [self._view(record, stream, base) for record in records]

    def _view(self, record: SessionRecord, stream: StreamRecord, base: str) -> Session:
        if record.counts is not None:
            return session_view(record, base)
        # Still open, or ended and waiting on its last segments: counted from the ledger now.
        counts = session_counts(self.segments.between(stream.id, record.first_seq, record.last_seq))
        return session_view(record, base, counts, stream.last_seen if record.is_open else None)

    def info(self, playback_id: str, base: str) -> PlaybackInfo:
        """Return Studio's playback info: a recorded session's (``type: recording``) or a stream's (``live``).

        A session's recording plays once ready: before, ``404 recording_not_ready``; after a failure,
        ``404 recording_failed``; a session that was not recorded, ``404 not_recorded``.
        """
        session = self.sessions.get(playback_id) if _is_session_id(playback_id) else None
        if session is None:
            return self.playback.info(playback_id, base)
        ready = self._ready(session)
        assert ready.recording is not None
        mp4 = ready.recording
        source = PlaybackSource(
            hrn=HRN_MP4,
            type=TYPE_MP4,
            url=recording_mp4_url(base, session.id),
            size=mp4.bytes,
            width=mp4.width,
            height=mp4.height,
            bitrate=mp4.bitrate,
        )
        return playback_info("recording", recording_url(base, session.id), extra_sources=[source])

    def _ready(self, session: SessionRecord) -> SessionRecord:
        if not session.record:
            raise NotFound("not_recorded", "this session was not recorded")
        if session.recording_status == FAILED:
            raise NotFound("recording_failed", "this session's recording failed", recordingError=_error(session))
        if session.recording_status != READY or session.recording is None:
            raise NotFound("recording_not_ready", "this session's recording is not ready yet; retry shortly")
        return session

    def _session(self, session_id: str) -> SessionRecord:
        session = self.sessions.get(session_id) if _is_session_id(session_id) else None
        if session is None or not session.record:
            raise NotFound("recording_not_found", f"no recording {session_id!r}")
        return session

    def file(self, session_id: str, name: str) -> Playlist | Redirect:
        """A recording's VOD master playlist (``index.m3u8``) or its MP4 (``output.mp4``, a redirect)."""
        session = self._session(session_id)
        if name == RECORDING_MP4:
            ready = self._ready(session)
            assert ready.recording is not None
            return Redirect(self.media.presigned_get(ready.recording.key, self.settings.presign_ttl_s))
        if name != MASTER_PLAYLIST:
            raise NotFound("not_found", f"no file {name!r}")
        return self._playlist(session, None)

    def rendition_file(self, session_id: str, rendition: str, name: str) -> Playlist | SegmentData | Redirect:
        """One rendition's VOD media playlist (``index.m3u8``) or one of its segments (``<seq>.ts``)."""
        session = self._session(session_id)
        if name == MASTER_PLAYLIST:
            return self._playlist(session, rendition)
        target = parse_ingest_name(name)
        last = session.last_seq if session.last_seq is not None else -1
        if not isinstance(target, SegmentName) or not session.first_seq <= target.seq <= last:
            raise NotFound("segment_not_found", f"this recording has no segment {name!r}")
        return self.playback.deliver(self.playback.stream_segment_key(session.parent_id, rendition, target.seq))

    def _playlist(self, session: SessionRecord, rendition: str | None) -> Playlist:
        text = self.media.find(recording_playlist_key(session.parent_id, session.id, rendition))
        if text is None:
            if rendition is not None and session.recording_status in (READY, FAILED):
                raise NotFound("unknown_rendition", f"this recording has no rendition {rendition!r}")
            raise NotFound("recording_not_ready", "this session's recording is not written yet; retry shortly")
        return Playlist(text.decode())


def _error(session: SessionRecord) -> dict[str, object] | None:
    return session.recording_error.wire() if session.recording_error is not None else None
