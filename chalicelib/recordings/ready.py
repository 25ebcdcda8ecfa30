"""The recorder's manifest landed (an S3 notification on the ``recorded`` queue): the recording is ready, or failed.

A session's recording moves out of ``waiting`` once, by a conditional write, and only the call that moved it to
``ready`` emits ``recording.ready`` (Studio's payload: ``recordingUrl``, ``mp4Url`` and the session), named by the
session's start as ``recording.started`` is: a redelivered notification, or a second manifest of a job queued
twice, changes nothing and emits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from pydantic import ValidationError

from chalicelib.core.batch import SQSRecord, process_sqs_batch, s3_objects_created
from chalicelib.core.clock import now_ms
from chalicelib.core.logs import log_context, logger
from chalicelib.playback.links import recording_mp4_url, recording_url
from chalicelib.recordings.models import SessionRecord
from chalicelib.recordings.remux import RecordingError, RemuxResult
from chalicelib.recordings.store import SessionStore
from chalicelib.recordings.views import session_view
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.media_keys import parse_remux_result_key
from chalicelib.streams.lifecycle import RECORDING_READY, StreamEvents
from chalicelib.streams.store import StreamStore


class BadManifest(Exception):
    """A manifest that can never be applied (retrying will not help)."""


@dataclass
class RecordedSessions:
    """What applying a recorder's manifest needs; ``public_url`` is the base of the links in the webhook."""

    sessions: SessionStore
    streams: StreamStore
    media: MediaBucket
    events: StreamEvents
    public_url: str | None


def apply_remux_result(ctx: RecordedSessions, key: str, now: int) -> bool:
    """Read one recorder manifest and move its session's recording; True if this call moved it."""
    location = parse_remux_result_key(key)
    if location is None:
        logger.info("not a recorder manifest: ignored", key=key)
        return False
    try:
        result = RemuxResult.model_validate_json(ctx.media.read(key))
    except ValidationError:
        raise BadManifest(f"{key}: unreadable manifest") from None
    if (result.stream_id, result.session_id) != location:
        raise BadManifest(f"{key}: manifest is for {result.stream_id}/{result.session_id}")
    if result.status == "ok":
        if result.file is None:
            raise BadManifest(f"{key}: an ok manifest must describe its MP4")
        if not ctx.sessions.recording_ready(result.session_id, result.file, now):
            logger.info("recording already settled", status=result.status)
            return False
        logger.info("recording ready", rendition=result.file.rendition, bytes=result.file.bytes)
        session = ctx.sessions.get(result.session_id)
        if session is not None:
            _announce(ctx, session, now)
        return True
    if not result.final:
        logger.info("a remux attempt failed; the recorder tries again", attempt=result.attempt)
        return False
    error = result.error or RecordingError(code="unknown", message="no reason given")
    moved = ctx.sessions.recording_failed(result.session_id, error, now)
    if moved:
        logger.error("recording failed", code=error.code, reason=error.message, attempt=result.attempt)
    return moved


def _announce(ctx: RecordedSessions, session: SessionRecord, now: int) -> None:
    """Emit ``recording.ready`` for a session whose recording just became ready."""
    stream = ctx.streams.find(session.parent_id)
    if stream is None:
        return
    base = ctx.public_url.rstrip("/") if ctx.public_url else None
    if base is None:
        logger.warning("LP_PUBLIC_URL is not set: recording.ready carries no links")
    payload: dict[str, Any] = {"session": session_view(session, base).wire()}
    if base is not None:
        payload = {
            "recordingUrl": recording_url(base, session.id),
            "mp4Url": recording_mp4_url(base, session.id),
        } | payload
    ctx.events.emit(stream, RECORDING_READY, payload, key=str(session.created_at), at_ms=now)


def handle_remux_results(
    event: dict[str, Any], ctx: RecordedSessions, clock: Callable[[], int] = now_ms
) -> PartialItemFailureResponse:
    """Apply every recorder manifest an SQS batch of S3 notifications names; failed records are retried (and, in
    the end, dead-lettered with the manifest's key for an operator)."""

    def handle(record: SQSRecord) -> None:
        with log_context(message_id=record.message_id):
            for created in s3_objects_created(record):
                if created.bucket != ctx.media.name:
                    raise BadManifest(f"a notification from bucket {created.bucket}, not {ctx.media.name}")
                stream_id, session_id = parse_remux_result_key(created.key) or (None, None)
                with log_context(stream_id=stream_id, session_id=session_id):
                    try:
                        apply_remux_result(ctx, created.key, clock())
                    except BadManifest as error:
                        logger.error("bad recorder manifest", reason=str(error))
                        raise
                    except Exception:
                        logger.exception("recorder manifest not applied; it will be retried", key=created.key)
                        raise

    return process_sqs_batch(event, handle)
