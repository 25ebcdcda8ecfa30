"""The segment ledger: a sequence number is claimed once and settled once, whatever is redelivered."""

from __future__ import annotations

import pytest

from chalicelib.jobs.models import JobError, RenditionResult, SourceInfo, TranscodeResult
from chalicelib.segments.models import SegmentRecord, SegmentStatus
from chalicelib.segments.store import SegmentStore
from tests.domain.conftest import Stage

SOURCE = SourceInfo(
    width=426, height=240, fps=10, duration_ms=1000, bitrate=300_000, video_codec="avc1.42c015", frames=10
)
RENDITION = RenditionResult(
    name="240p0", key="renditions/s/240p0/0.ts", width=426, height=240, bitrate=250_000,
    codecs="avc1.42c015", frames=10, duration_ms=1000, bytes=30_000, encode_ms=12,
)  # fmt: skip


def result(seq: int = 0, status: str = "ok", *, final: bool = True, attempt: int = 1) -> TranscodeResult:
    failed = status == "failed"
    return TranscodeResult(
        job_id=f"s/{seq}",
        stream_id="s",
        seq=seq,
        orchestrator="0xorch",
        status="failed" if failed else "ok",
        attempt=attempt,
        final=final,
        error=JobError(code="undecodable_source", message="no frames") if failed else None,
        source=None if failed else SOURCE,
        renditions=[] if failed else [RENDITION],
        encoder="libx264",
        transcode_ms=20,
    )


@pytest.fixture
def ledger(stage: Stage) -> SegmentStore:
    return stage.app.wiring.segments()


def claim(ledger: SegmentStore, seq: int = 0, duration_ms: int | None = None) -> bool:
    return ledger.claim("s", seq, f"source/s/{seq}.ts", 188, 1_000, duration_ms)


def test_a_sequence_number_is_claimed_once(ledger: SegmentStore) -> None:
    assert claim(ledger) is True
    assert claim(ledger) is False
    record = ledger.get("s", 0)
    assert isinstance(record, SegmentRecord)
    assert (record.status, record.source_key, record.source_bytes, record.received_at) == (
        SegmentStatus.RECEIVED, "source/s/0.ts", 188, 1_000
    )  # fmt: skip
    assert ledger.get("s", 1) is None


def test_a_result_settles_a_segment_once(ledger: SegmentStore) -> None:
    claim(ledger)
    ledger.mark_dispatched("s", 0, "0xorch", "s/0")
    assert ledger.record_result(result(), 2_000) is True
    assert ledger.record_result(result(), 3_000) is False  # redelivered
    assert ledger.record_result(result(status="failed"), 4_000) is False  # too late to fail it
    ledger.mark_dispatched("s", 0, "0xother", "s/0")  # a late dispatch record changes nothing either
    record = ledger.get("s", 0)
    assert record is not None and record.status == SegmentStatus.READY and record.status.settled
    assert (record.completed_at, record.orchestrator, record.result_orchestrator) == (2_000, "0xorch", "0xorch")
    assert record.renditions == {"240p0": RENDITION} and record.source_info == SOURCE
    assert record.duration_s() == 1.0


def test_a_failed_attempt_that_will_be_retried_leaves_the_segment_pending(ledger: SegmentStore) -> None:
    claim(ledger)
    ledger.mark_dispatched("s", 0, "0xorch", "s/0")
    assert ledger.record_result(result(status="failed", final=False), 2_000) is True
    record = ledger.get("s", 0)
    assert record is not None and record.status == SegmentStatus.DISPATCHED and not record.status.settled
    assert record.error is not None and record.error.code == "undecodable_source" and record.attempts == 1
    assert ledger.record_result(result(status="failed", attempt=2), 3_000) is True
    record = ledger.get("s", 0)
    assert record is not None and (record.status, record.attempts, record.completed_at) == (
        SegmentStatus.FAILED, 2, 3_000
    )  # fmt: skip


def test_a_result_for_an_unknown_segment_is_not_applied(ledger: SegmentStore) -> None:
    assert ledger.record_result(result(seq=9), 1_000) is False
    assert ledger.get("s", 9) is None


def test_a_declared_duration_is_taken_once_and_only_for_received_segments(ledger: SegmentStore) -> None:
    claim(ledger, 0)
    claim(ledger, 1, duration_ms=1_500)
    ledger.set_declared_duration("s", 0, 2_000)
    ledger.set_declared_duration("s", 0, 9_000)
    ledger.set_declared_duration("s", 1, 9_000)
    ledger.set_declared_duration("s", 2, 2_000)
    assert [r.duration_ms for r in ledger.newest("s", 10)] == [2_000, 1_500]
    assert ledger.get("s", 2) is None


def test_the_newest_segments_come_in_sequence_order(ledger: SegmentStore) -> None:
    for seq in (3, 0, 7, 5):
        claim(ledger, seq)
    assert [r.seq for r in ledger.newest("s", 3)] == [3, 5, 7]
