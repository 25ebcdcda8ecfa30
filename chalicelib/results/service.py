"""The gateway's results handler: a worker's result manifest landed in S3, so settle the segment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from pydantic import ValidationError

from chalicelib.core.batch import SQSRecord, process_sqs_batch, s3_objects_created
from chalicelib.core.clock import now_ms
from chalicelib.core.logs import log_context, logger
from chalicelib.jobs.models import TranscodeResult, job_id
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.media_keys import parse_result_key
from chalicelib.segments.store import SegmentStore
from chalicelib.segments.tally import OrchestratorTally
from chalicelib.streams.lifecycle import NO_EVENTS, TRANSCODE_FAILED, StreamEvents
from chalicelib.streams.store import StreamStore


class BadResult(Exception):
    """A manifest that can never be applied (retrying will not help)."""


def stream_counts(result: TranscodeResult) -> dict[str, int | Decimal]:
    """What a settled result adds to its stream's Studio counters (a failed one adds nothing)."""
    if result.status != "ok" or result.source is None:
        return {}
    seconds = Decimal(result.source.duration_ms) / 1000
    counts: dict[str, int | Decimal] = {"sourceSegmentsDuration": seconds}
    if result.renditions:
        counts |= {
            "transcodedSegments": 1,
            "transcodedBytes": sum(r.bytes for r in result.renditions),
            "transcodedSegmentsDuration": seconds,
        }
    return counts


def apply_result(
    media: MediaBucket,
    segments: SegmentStore,
    streams: StreamStore,
    key: str,
    events: StreamEvents = NO_EVENTS,
    tally: OrchestratorTally | None = None,
) -> bool:
    """Read one result manifest and apply it to its segment and its stream's counters; True if it changed them.

    The counters move in the same transaction as the segment's settlement, so a redelivered result
    counts once, and a segment that failed for good emits ``transcode.failed`` once, with the reason. A
    settlement is then counted for its orchestrator in ``tally`` (after it, see ``segments.tally``). Every
    line it logs names the segment; a manifest that can never be applied raises ``BadResult``.
    """
    location = parse_result_key(key)
    if location is None:
        logger.info("not a result manifest: ignored", key=key)
        return False
    stream_id, seq = location
    with log_context(stream_id=stream_id, seq=seq, job_id=job_id(stream_id, seq)):
        try:
            result = TranscodeResult.model_validate_json(media.read(key))
            if (result.stream_id, result.seq) != location:
                raise BadResult(f"{key}: manifest is for {result.stream_id}/{result.seq}")
            if result.status == "ok" and result.source is None:
                raise BadResult(f"{key}: an ok result must describe its source")
        except ValidationError as error:
            logger.error("bad result", reason=f"{key}: unreadable manifest: {error}")
            raise BadResult(f"{key}: unreadable manifest") from None
        except BadResult as error:
            logger.error("bad result", reason=str(error))
            raise
        counts = stream_counts(result)
        also = [streams.count(stream_id, counts)] if counts else []
        settled_at = now_ms()
        changed = segments.record_result(result, settled_at, also)
        if changed and result.status == "failed" and result.final:
            _report_failure(events, streams, result, settled_at)
        if changed and tally is not None and (result.status == "ok" or result.final):
            tally.settled(result.orchestrator, result.status == "ok", result.transcode_ms, settled_at)
        logger.info(
            "result applied" if changed else "result already settled",
            status=result.status,
            orchestrator=result.orchestrator,
            attempt=result.attempt,
        )
        return changed


def _report_failure(events: StreamEvents, streams: StreamStore, result: TranscodeResult, at_ms: int) -> None:
    """Emit ``transcode.failed`` for a segment that failed for good (its sequence number names the event)."""
    stream = streams.find(result.stream_id)
    if stream is None:
        return
    error = result.error
    payload = {
        "seq": result.seq,
        "reason": error.message if error else "no reason given",
        "code": error.code if error else "unknown",
        "orchestrator": result.orchestrator,
        "attempts": result.attempt,
    }
    events.emit(stream, TRANSCODE_FAILED, payload, key=str(result.seq), at_ms=at_ms)


def handle_results(
    event: dict[str, Any],
    media: MediaBucket,
    segments: SegmentStore,
    streams: StreamStore,
    events: StreamEvents = NO_EVENTS,
    tally: OrchestratorTally | None = None,
) -> PartialItemFailureResponse:
    """Apply every manifest an SQS batch of S3 notifications names; failed records are retried.

    A manifest that can never be applied fails its record too: after the retries the queue's redrive
    policy moves it to the dead-letter queue, where an operator can read it.
    """

    def handle(record: SQSRecord) -> None:
        with log_context(message_id=record.message_id):
            for created in s3_objects_created(record):
                if created.bucket != media.name:
                    logger.error("bad result", reason=f"a notification from bucket {created.bucket}")
                    raise BadResult(f"a notification from bucket {created.bucket}, not {media.name}")
                try:
                    apply_result(media, segments, streams, created.key, events, tally)
                except BadResult:
                    raise
                except Exception:
                    logger.exception("result message failed; it will be retried", key=created.key)
                    raise

    return process_sqs_batch(event, handle)
