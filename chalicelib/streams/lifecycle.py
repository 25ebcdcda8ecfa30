"""A stream's lifecycle events (Studio's names) and the seam through which they leave: ``StreamEvents``.

Ingest, the results handler, the idle sweep and (later) recordings say what happened to a stream through a
``StreamEvents``; the webhooks package implements it (``webhooks.emitter``), and tests pass their own. The
callers never wait on or fail because of it: emitting is best effort on the hot path, and each event names
the transition it reports (``key``), so that the same transition seen twice is the same event.

The same two transitions open and end a stream's *session* (one period of activity, Studio's session object):
``StreamSessions`` is that seam, implemented by the recordings package (``recordings.sessions``) and wired in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from chalicelib.streams.models import StreamRecord
from chalicelib.streams.store import StreamStore

STREAM_STARTED: Final = "stream.started"
STREAM_IDLE: Final = "stream.idle"
RECORDING_STARTED: Final = "recording.started"
RECORDING_READY: Final = "recording.ready"
TRANSCODE_FAILED: Final = "transcode.failed"
#: Every event this network emits (Studio's names; ``transcode.failed`` is ours).
EVENTS: Final = (STREAM_STARTED, STREAM_IDLE, RECORDING_STARTED, RECORDING_READY, TRANSCODE_FAILED)


class StreamEvents(Protocol):
    """Where a stream's lifecycle events go."""

    def emit(self, stream: StreamRecord, event: str, payload: Mapping[str, Any], *, key: str, at_ms: int) -> None:
        """Report ``event`` of ``stream`` at ``at_ms``; ``key`` names the transition (the same key, the same event).

        Never raises: a failure is logged by the implementation, and the caller's work goes on.
        """


class NoEvents:
    """A ``StreamEvents`` that drops everything (stages and tests without webhooks)."""

    def emit(self, stream: StreamRecord, event: str, payload: Mapping[str, Any], *, key: str, at_ms: int) -> None:
        """Drop the event."""


NO_EVENTS: Final = NoEvents()


class StreamSessions(Protocol):
    """Where a stream's sessions are kept: opened by its start, ended by its going idle."""

    def started(self, stream: StreamRecord, at_ms: int, seq: int) -> None:
        """Open the session that segment ``seq``, received at ``at_ms``, started (``stream`` as it was before).

        Never raises: a failure is logged by the implementation, and the segment goes on.
        """

    def ended(self, stream: StreamRecord, at_ms: int) -> None:
        """End the stream's open session: ``stream`` was just marked idle at ``at_ms``. Never raises."""


class NoSessions:
    """A ``StreamSessions`` that keeps nothing (stages and tests without sessions)."""

    def started(self, stream: StreamRecord, at_ms: int, seq: int) -> None:
        """Keep nothing."""

    def ended(self, stream: StreamRecord, at_ms: int) -> None:
        """Keep nothing."""


NO_SESSIONS: Final = NoSessions()


def stream_started(
    events: StreamEvents, stream: StreamRecord, at_ms: int, seq: int = 0, sessions: StreamSessions = NO_SESSIONS
) -> None:
    """A segment (``seq``) made ``stream`` active: a session opens; ``stream.started``, and ``recording.started``
    when it records.

    The session is named by its first segment's time, so a repeated report of this start is the same event.
    """
    sessions.started(stream, at_ms, seq)
    active = stream.model_copy(update={"is_active": True, "last_seen": at_ms})
    events.emit(active, STREAM_STARTED, {}, key=str(at_ms), at_ms=at_ms)
    if stream.record:
        events.emit(active, RECORDING_STARTED, {}, key=str(at_ms), at_ms=at_ms)


def sweep_idle(
    streams: StreamStore,
    events: StreamEvents,
    now_ms: int,
    idle_after_ms: int | None = None,
    sessions: StreamSessions = NO_SESSIONS,
) -> list[str]:
    """Mark streams with no segment for a while as inactive, end their sessions and emit ``stream.idle`` for
    each; return their ids.

    The session's last segment (``lastSeen``) names the event: the store marks a stream idle once per time it
    was active, and a second report of the same idling would be the same event.
    """
    idle = streams.go_idle(now_ms, idle_after_ms)
    for stream in idle:
        sessions.ended(stream, now_ms)
        events.emit(stream, STREAM_IDLE, {}, key=str(stream.last_seen or 0), at_ms=now_ms)
    return [stream.id for stream in idle]
