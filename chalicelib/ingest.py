"""Ingest: take one pushed segment (or playlist), store it, and send its job to an orchestrator."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

import requests

from chalicelib.config import Settings
from chalicelib.dispatch import build_job, send
from chalicelib.errors import Conflict, Unprocessable
from chalicelib.media_keys import source_key
from chalicelib.models import Profile
from chalicelib.mpegts import check_segment
from chalicelib.segment_names import PlaylistName, SegmentName, parse_ingest_name, segment_durations
from chalicelib.segments import SegmentStore
from chalicelib.streams import StreamStore, now_ms

log = logging.getLogger(__name__)

MAX_PLAYLIST_BYTES = 256 * 1024


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to an upload, for the 202 body."""

    stream_id: str
    seq: int | None
    status: str  # "accepted", "duplicate" or "playlist"
    orchestrator: str | None = None


@dataclass
class Gateway:
    """The gateway's dependencies, injected so tests can pass their own."""

    settings: Settings
    streams: StreamStore
    segments: SegmentStore
    s3: Any
    http: requests.Session
    rng: random.Random


def parse_duration_header(value: str | None) -> int | None:
    """Parse ``Content-Duration`` (milliseconds); absent is None, nonsense is a 400."""
    if value is None or value == "":
        return None
    try:
        duration = int(value)
    except ValueError:
        raise Unprocessable("invalid_content_duration", "Content-Duration is a whole number of milliseconds") from None
    if not 0 <= duration <= 60_000:
        raise Unprocessable("invalid_content_duration", "Content-Duration must be between 0 and 60000 ms")
    return duration


def ingest(gw: Gateway, stream_key: str, name: str, body: bytes, duration_header: str | None) -> IngestOutcome:
    """Handle ``PUT|POST /live/{streamKey}/{name}``: a segment or ffmpeg's pushed playlist."""
    target = parse_ingest_name(name)
    stream = gw.streams.by_stream_key(stream_key)
    if isinstance(target, PlaylistName):
        return _take_playlist(gw, stream, body)
    assert isinstance(target, SegmentName)
    duration_ms = parse_duration_header(duration_header)
    check_segment(body, gw.settings.max_segment_bytes)
    _check_order(gw, stream, target.seq)
    return _take_segment(gw, stream, target.seq, body, duration_ms)


def _check_order(gw: Gateway, stream: dict[str, Any], seq: int) -> None:
    max_seq = stream.get("maxSeq")
    if max_seq is not None and seq > int(max_seq) + gw.settings.max_sequence_jump:
        raise Unprocessable(
            "sequence_out_of_order",
            f"sequence number {seq} is more than {gw.settings.max_sequence_jump} ahead of the newest ({max_seq})",
        )
    if seq in {int(g) for g in stream.get("gaps", set())}:
        raise Conflict("segment_too_late", f"segment {seq} arrived after the playlists moved past it")


def _take_segment(gw: Gateway, stream: dict[str, Any], seq: int, body: bytes, duration_ms: int | None) -> IngestOutcome:
    stream_id = stream["id"]
    key = source_key(stream_id, seq)
    bucket = gw.settings.name("media")
    received_at = now_ms()
    fresh = gw.segments.claim(stream_id, seq, key, len(body), received_at, duration_ms)
    if not fresh:
        existing = gw.segments.get(stream_id, seq) or {}
        if existing.get("status") != "received":
            return IngestOutcome(stream_id, seq, "duplicate", existing.get("orchestrator"))
        # Claimed before but never sent (a crash, or no orchestrator took it): store and send now.
    gw.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="video/mp2t")
    gw.streams.touch(stream_id, seq, received_at)
    profiles = [Profile.model_validate(p) for p in stream["profiles"]]
    chosen = send(
        lambda address: build_job(
            s3=gw.s3,
            bucket=bucket,
            stream_id=stream_id,
            seq=seq,
            size=len(body),
            duration_ms=duration_ms,
            profiles=profiles,
            orchestrator=address,
            ttl_s=gw.settings.presign_ttl_s,
            created_at=received_at,
        ),
        gw.settings.orchestrators,
        preferred=stream.get("orchestrator"),
        timeout_s=gw.settings.intake_timeout_s,
        http=gw.http,
        rng=gw.rng,
    )
    gw.segments.mark_dispatched(stream_id, seq, chosen.address, f"{stream_id}/{seq}")
    if stream.get("orchestrator") != chosen.address:
        gw.streams.set_orchestrator(stream_id, chosen.address)
    log.info("segment %s/%s accepted, sent to %s", stream_id, seq, chosen.address)
    return IngestOutcome(stream_id, seq, "accepted", chosen.address)


def _take_playlist(gw: Gateway, stream: dict[str, Any], body: bytes) -> IngestOutcome:
    if len(body) > MAX_PLAYLIST_BYTES:
        raise Unprocessable("playlist_too_large", f"a pushed playlist may be at most {MAX_PLAYLIST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unprocessable("invalid_playlist", "the playlist is not UTF-8 text") from None
    if not text.lstrip().startswith("#EXTM3U"):
        raise Unprocessable("invalid_playlist", "a playlist starts with #EXTM3U")
    for seq, duration_ms in segment_durations(text).items():
        gw.segments.set_declared_duration(stream["id"], seq, duration_ms)
    return IngestOutcome(stream["id"], None, "playlist")
