"""Ingest: take one pushed segment (or playlist), store it, and send its job to an orchestrator."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import requests
from pydantic import ConfigDict, Field

from chalicelib.core.clock import now_ms
from chalicelib.core.errors import Conflict, Unprocessable
from chalicelib.core.logs import log_context, logger
from chalicelib.core.models import ApiModel
from chalicelib.core.settings import OrchestratorEndpoint, Settings
from chalicelib.dispatch.candidates import healthy
from chalicelib.dispatch.health import HealthBook
from chalicelib.dispatch.jobs import build_job
from chalicelib.dispatch.selection import Weights
from chalicelib.dispatch.send import send
from chalicelib.ingest.mpegts import check_segment
from chalicelib.jobs.models import job_id
from chalicelib.jobs.signing import sign_body
from chalicelib.payments.sender import Payer
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.media_keys import source_key
from chalicelib.segments.models import SegmentStatus
from chalicelib.segments.names import PlaylistName, parse_ingest_name, segment_durations
from chalicelib.segments.store import SegmentStore
from chalicelib.segments.tally import OrchestratorTally
from chalicelib.streams.lifecycle import NO_EVENTS, NO_SESSIONS, StreamEvents, StreamSessions, stream_started
from chalicelib.streams.models import StreamRecord
from chalicelib.streams.store import StreamStore

MAX_PLAYLIST_BYTES = 256 * 1024
MAX_DECLARED_DURATION_MS = 60_000


class IngestOutcome(ApiModel):
    """What happened to an upload: the 202 body of a push (every field present, null where none applies)."""

    model_config = ConfigDict(frozen=True)

    stream_id: str = Field(description="The id of the stream the stream key belongs to.")
    seq: int | None = Field(description="The segment's sequence number; null for a pushed playlist.")
    status: Literal["accepted", "duplicate", "playlist"] = Field(
        description="`accepted`: stored and sent to an orchestrator; `duplicate`: this sequence number was taken "
        "before (nothing changed); `playlist`: a pushed playlist, whose durations were noted."
    )
    orchestrator: str | None = Field(
        default=None, description="The address of the orchestrator transcoding the segment, when one was chosen."
    )

    def wire(self) -> dict[str, object]:
        """The JSON body: every field, null included (``seq`` is null for a playlist)."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass
class Gateway:
    """What ingest reads and writes: settings, the stream and segment stores, the media bucket, and
    the HTTP session and random source dispatch uses (tests pass their own)."""

    settings: Settings
    streams: StreamStore
    segments: SegmentStore
    media: MediaBucket
    http: requests.Session
    rng: random.Random
    # The orchestrators a segment may go to (configured, or the chain's active set at an acceptable price).
    candidates: Sequence[OrchestratorEndpoint] = ()
    # On-chain mode: pays each job with tickets (None in off-chain mode).
    payer: Payer | None = None
    # Strikes per orchestrator: ones that keep failing rest a while.
    health: HealthBook | None = None
    # Where the stream's lifecycle events go (stream.started: the webhooks).
    events: StreamEvents = NO_EVENTS
    # Where the stream's sessions are kept (opened here by a start; ``recordings``).
    sessions: StreamSessions = NO_SESSIONS
    # What each orchestrator took, and the tickets that paid it (the dashboard's numbers).
    tally: OrchestratorTally | None = None

    def signer(self) -> Callable[[bytes], str] | None:
        """Signs a job body with this gateway's key (orchestrators take signed jobs only); None without one."""
        key = self.settings.eth_private_key
        return None if key is None else partial(sign_body, private_key=key)


def parse_duration_header(value: str | None) -> int | None:
    """Parse ``Content-Duration`` (milliseconds); absent is None, nonsense is a 422."""
    if value is None or value == "":
        return None
    try:
        duration = int(value)
    except ValueError:
        raise Unprocessable("invalid_content_duration", "Content-Duration is a whole number of milliseconds") from None
    if not 0 <= duration <= MAX_DECLARED_DURATION_MS:
        raise Unprocessable("invalid_content_duration", "Content-Duration must be between 0 and 60000 ms")
    return duration


def ingest(gw: Gateway, stream_key: str, name: str, body: bytes, duration_header: str | None) -> IngestOutcome:
    """Handle ``PUT|POST /live/{streamKey}/{name}``: a segment or ffmpeg's pushed playlist."""
    target = parse_ingest_name(name)
    stream = gw.streams.by_stream_key(stream_key)
    if isinstance(target, PlaylistName):
        return _take_playlist(gw, stream, body)
    duration_ms = parse_duration_header(duration_header)
    check_segment(body, gw.settings.max_segment_bytes)
    _check_order(gw.settings, stream, target.seq)
    with log_context(stream_id=stream.id, seq=target.seq, job_id=job_id(stream.id, target.seq)):
        return _take_segment(gw, stream, target.seq, body, duration_ms)


def _check_order(settings: Settings, stream: StreamRecord, seq: int) -> None:
    jump = settings.max_sequence_jump
    if stream.max_seq is not None and seq > stream.max_seq + jump:
        raise Unprocessable(
            "sequence_out_of_order",
            f"sequence number {seq} is more than {jump} ahead of the newest ({stream.max_seq})",
        )
    if seq in stream.gaps:
        raise Conflict("segment_too_late", f"segment {seq} arrived after the playlists moved past it")


def _take_segment(gw: Gateway, stream: StreamRecord, seq: int, body: bytes, duration_ms: int | None) -> IngestOutcome:
    key = source_key(stream.id, seq)
    received_at = now_ms()
    # The first claim counts the source segment for the stream, in the same transaction.
    counted = gw.streams.count(stream.id, {"sourceSegments": 1, "sourceBytes": len(body)})
    if not gw.segments.claim(stream.id, seq, key, len(body), received_at, duration_ms, also=[counted]):
        existing = gw.segments.get(stream.id, seq)
        if existing is None or existing.status != SegmentStatus.RECEIVED:
            return IngestOutcome(
                stream_id=stream.id,
                seq=seq,
                status="duplicate",
                orchestrator=existing.orchestrator if existing else None,
            )
        # Claimed before but never sent (a crash, or no orchestrator took it): store and send now.
    gw.media.put(key, body)
    if gw.streams.touch(stream.id, seq, received_at, duration_ms):
        # The first segment since the stream was idle (or ever): one event per such transition.
        stream_started(gw.events, stream, received_at, seq, gw.sessions)
    chosen = send(
        lambda address: build_job(
            media=gw.media,
            stream_id=stream.id,
            seq=seq,
            size=len(body),
            duration_ms=duration_ms,
            profiles=stream.profiles,
            orchestrator=address,
            ttl_s=gw.settings.presign_ttl_s,
            created_at=received_at,
        ),
        healthy(gw.candidates, gw.health, received_at) if gw.health is not None else gw.candidates,
        preferred=stream.orchestrator,
        timeout_s=gw.settings.intake_timeout_s,
        http=gw.http,
        rng=gw.rng,
        sign=gw.signer(),
        payer=gw.payer,
        health=gw.health,
        max_attempts=gw.settings.max_dispatch_attempts,
        now_ms=received_at,
        weights=Weights(stake=gw.settings.selection_stake_weight, uniform=1 - gw.settings.selection_stake_weight),
    )
    tickets = gw.payer.tickets_paid(job_id(stream.id, seq)) if gw.payer is not None else None
    gw.segments.mark_dispatched(stream.id, seq, chosen.address, job_id(stream.id, seq), tickets)
    if gw.tally is not None:
        gw.tally.dispatched(chosen.address, tickets, now_ms())
    if stream.orchestrator != chosen.address:
        gw.streams.set_orchestrator(stream.id, chosen.address)
    logger.info("segment accepted", orchestrator=chosen.address, bytes=len(body))
    return IngestOutcome(stream_id=stream.id, seq=seq, status="accepted", orchestrator=chosen.address)


def _take_playlist(gw: Gateway, stream: StreamRecord, body: bytes) -> IngestOutcome:
    if len(body) > MAX_PLAYLIST_BYTES:
        raise Unprocessable("playlist_too_large", f"a pushed playlist may be at most {MAX_PLAYLIST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unprocessable("invalid_playlist", "the playlist is not UTF-8 text") from None
    if not text.lstrip().startswith("#EXTM3U"):
        raise Unprocessable("invalid_playlist", "a playlist starts with #EXTM3U")
    for seq, duration_ms in segment_durations(text).items():
        gw.segments.set_declared_duration(stream.id, seq, duration_ms)
    return IngestOutcome(stream_id=stream.id, seq=None, status="playlist")
