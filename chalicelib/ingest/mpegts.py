"""A cheap structural check of an MPEG-TS segment, so the gateway refuses garbage before storing it.

Decoding is the worker's job (PyAV stays out of the Lambda bundle); here we only check that the
body is a whole number of 188-byte transport packets, each starting with the sync byte.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest, PayloadTooLarge, Unprocessable

TS_PACKET = 188
SYNC_BYTE = 0x47


def check_segment(body: bytes, max_bytes: int) -> None:
    """Raise a 4xx error unless ``body`` looks like a whole MPEG-TS segment within ``max_bytes``."""
    if not body:
        raise BadRequest("empty_segment", "the segment body is empty")
    if len(body) > max_bytes:
        raise PayloadTooLarge(
            "segment_too_large",
            f"the segment is {len(body)} bytes; the limit is {max_bytes} bytes",
            limitBytes=max_bytes,
            sizeBytes=len(body),
        )
    if len(body) % TS_PACKET != 0:
        raise Unprocessable(
            "invalid_segment",
            f"an MPEG-TS segment is a whole number of {TS_PACKET}-byte packets; got {len(body)} bytes",
        )
    if any(body[i] != SYNC_BYTE for i in range(0, len(body), TS_PACKET)):
        raise Unprocessable("invalid_segment", "the body is not MPEG-TS (transport packet sync byte missing)")
