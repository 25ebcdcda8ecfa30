"""The gateway's results handler: a worker's result manifest landed in S3, so settle the segment."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.media_keys import parse_result_key
from chalicelib.models import TranscodeResult
from chalicelib.segments import SegmentStore
from chalicelib.streams import now_ms

log = logging.getLogger(__name__)


class BadResult(Exception):
    """A manifest that can never be applied (retrying will not help)."""


def s3_records(message_body: str) -> list[dict[str, Any]]:
    """Return the S3 records of an S3 notification delivered through SQS (none for ``s3:TestEvent``)."""
    event = json.loads(message_body)
    if event.get("Event") == "s3:TestEvent":
        return []
    records: list[dict[str, Any]] = event.get("Records", [])
    return [r for r in records if str(r.get("eventName", "")).startswith("ObjectCreated")]


def object_location(record: dict[str, Any]) -> tuple[str, str]:
    """Return (bucket, key) of an S3 event record; keys arrive URL-encoded, as AWS sends them."""
    return record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])


def apply_result(s3: Any, segments: SegmentStore, bucket: str, key: str) -> bool:
    """Read one result manifest and apply it to its segment; True if it changed the segment."""
    location = parse_result_key(key)
    if location is None:
        log.info("ignoring %s: not a result manifest", key)
        return False
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        result = TranscodeResult.model_validate_json(body)
    except ValueError as error:
        raise BadResult(f"{key}: unreadable manifest: {error}") from None
    if (result.stream_id, result.seq) != location:
        raise BadResult(f"{key}: manifest is for {result.stream_id}/{result.seq}")
    if result.status == "ok" and result.source is None:
        raise BadResult(f"{key}: an ok result must describe its source")
    changed = segments.record_result(result, now_ms())
    log.info(
        "result %s/%s %s (%s)", result.stream_id, result.seq, result.status, "applied" if changed else "already settled"
    )
    return changed


def handle_batch(records: Iterable[tuple[str, str]], s3: Any, segments: SegmentStore) -> list[str]:
    """Apply each ``(message id, body)``; return the ids that failed and should be retried."""
    failed: list[str] = []
    for message_id, body in records:
        try:
            for record in s3_records(body):
                bucket, key = object_location(record)
                apply_result(s3, segments, bucket, key)
        except BadResult as error:
            # Retrying will not help, but failing it keeps it: after the retries the queue's
            # redrive policy moves it to the dead-letter queue, where an operator can read it.
            log.error("bad result in message %s: %s", message_id, error)
            failed.append(message_id)
        except Exception:
            log.exception("result message %s failed; it will be retried", message_id)
            failed.append(message_id)
    return failed
