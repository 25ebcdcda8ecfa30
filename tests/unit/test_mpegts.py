"""The gateway refuses bodies that are not a whole MPEG-TS segment within the size limit."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import ApiError
from chalicelib.ingest.mpegts import TS_PACKET, check_segment

VALID = (b"\x47" + b"\x00" * (TS_PACKET - 1)) * 10


def _code(body: bytes, limit: int = 10_000) -> tuple[str, int]:
    with pytest.raises(ApiError) as caught:
        check_segment(body, limit)
    return caught.value.code, caught.value.status


def test_a_whole_number_of_synced_packets_passes() -> None:
    check_segment(VALID, 10_000)


def test_empty_body_is_a_400() -> None:
    assert _code(b"") == ("empty_segment", 400)


def test_oversized_body_is_a_413_that_states_the_limit() -> None:
    with pytest.raises(ApiError) as caught:
        check_segment(VALID, 1000)
    assert (caught.value.code, caught.value.status) == ("segment_too_large", 413)
    assert caught.value.details["limitBytes"] == 1000


def test_garbage_is_a_422() -> None:
    assert _code(b"x" * TS_PACKET * 3) == ("invalid_segment", 422)


def test_truncated_packet_is_a_422() -> None:
    assert _code(VALID[:-5]) == ("invalid_segment", 422)
