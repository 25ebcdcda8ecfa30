"""What the dashboard shows, read from what the gateway keeps: its streams, its ledger, its tallies, its health
book and (on-chain mode) the chain's projections.

Reads are bounded: the caller's first ``MAX_STREAMS`` streams, the newest ``RECENT_SEGMENTS`` segments of the first
``MAX_RECENT_STREAMS`` live ones (one query each), every orchestrator's totals (one query) and the last
``WINDOW_MINUTES`` minutes of tallies (one query per hour they span). The caller's streams are found by the
streams table's owner scan, as ``GET /stream`` finds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from chalicelib.core.errors import Unavailable
from chalicelib.core.settings import OrchestratorEndpoint, Settings
from chalicelib.dashboard.models import (
    DashboardData,
    GatewayFunds,
    MinutePoint,
    OrchestratorPayments,
    OrchestratorStats,
    Payments,
    RecentSegments,
    StreamHealth,
)
from chalicelib.dispatch.health import HealthBook, Standing
from chalicelib.projections.models import OrchestratorView
from chalicelib.projections.view import ProjectedChainView
from chalicelib.segments.models import SegmentRecord, SegmentStatus
from chalicelib.segments.store import SegmentStore
from chalicelib.segments.tally import MINUTE_MS, MinuteTally, OrchestratorTally, Tally, minute_of
from chalicelib.streams.models import StreamRecord
from chalicelib.streams.store import StreamStore

#: The streams listed (the caller's live ones first, then the newest seen).
MAX_STREAMS = 50
#: The live streams whose newest segments are read, and how many of them.
MAX_RECENT_STREAMS = 20
RECENT_SEGMENTS = 30
#: The series' length: the last hour, minute by minute.
WINDOW_MINUTES = 60

State = Literal["live", "idle", "waiting", "suspended"]
Health = Literal["ok", "degraded", "failing"]


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard reads; ``chain`` and ``sender`` in on-chain mode only."""

    settings: Settings
    streams: StreamStore
    segments: SegmentStore
    tally: OrchestratorTally
    health: HealthBook
    chain: ProjectedChainView | None = None
    sender: str | None = None

    def data(self, owner: str, now_ms: int) -> DashboardData:
        """Everything the page shows to ``owner``: its own streams; the network as this gateway sees it."""
        notes: list[str] = []
        owned = order_streams(self.streams.list_owned(owner))
        listed = owned[:MAX_STREAMS]
        stall_ms = int(self.settings.pending_timeout_s * 1000)
        recent: dict[str, RecentSegments] = {}
        for record in [r for r in listed if r.is_active and not r.suspended][:MAX_RECENT_STREAMS]:
            recent[record.id] = recent_segments(self.segments.newest(record.id, RECENT_SEGMENTS), now_ms, stall_ms)
        if len(owned) > len(listed):
            notes.append(f"the first {len(listed)} of {len(owned)} streams are listed")

        on_chain = self.settings.mode == "onchain"
        views: list[OrchestratorView] = []
        if on_chain and self.chain is not None:
            try:
                views = self.chain.orchestrators()
            except Unavailable as error:
                notes.append(f"the chain is not shown: {error.message}")
        totals = self.tally.totals()
        rows = orchestrator_rows(
            [] if on_chain else self.settings.orchestrators, views, totals, self.health.standing(now_ms)
        )
        payments = self._payments(rows, views, totals) if on_chain else None
        minutes = self.tally.minutes(now_ms - (WINDOW_MINUTES - 1) * MINUTE_MS, now_ms)
        return DashboardData(
            generated_at=now_ms,
            mode=self.settings.mode,
            window_minutes=WINDOW_MINUTES,
            streams=[stream_health(r, recent.get(r.id)) for r in listed],
            streams_total=len(owned),
            orchestrators=rows,
            payments=payments,
            series=series(minutes, now_ms, WINDOW_MINUTES),
            notes=notes,
        )

    def _payments(
        self,
        rows: Sequence[OrchestratorStats],
        views: Sequence[OrchestratorView],
        totals: dict[str, Tally],
    ) -> Payments:
        credited = {v.address.lower(): v.credited for v in views}
        funds = None
        if self.chain is not None and self.sender is not None:
            state = self.chain.sender(self.sender)
            if state is not None:
                funds = GatewayFunds(
                    address=state.address,
                    deposit_wei=state.deposit,
                    reserve_wei=state.reserve,
                    withdraw_round=state.withdraw_round,
                )
        return Payments(
            sender=funds,
            orchestrators=[
                OrchestratorPayments(
                    address=row.address,
                    tickets_sent=totals.get(row.address.lower(), Tally(row.address.lower())).tickets,
                    credited_wei=credited.get(row.address.lower()),
                )
                for row in rows
            ],
        )


def order_streams(records: Iterable[StreamRecord]) -> list[StreamRecord]:
    """Live streams first, then by when they were last seen (never seen last), then the newest created."""
    return sorted(records, key=lambda r: (not r.is_active, -(r.last_seen or 0), -r.created_at))


def recent_segments(records: Sequence[SegmentRecord], now_ms: int, stall_ms: int) -> RecentSegments:
    """How ``records`` (a stream's newest segments) fared; a pending one is stalled after ``stall_ms``."""
    ready = [r for r in records if r.status is SegmentStatus.READY]
    pending = [r for r in records if not r.status.settled]
    timed = [r.transcode_ms for r in ready if r.transcode_ms is not None]
    return RecentSegments(
        segments=len(records),
        ready=len(ready),
        failed=sum(1 for r in records if r.status is SegmentStatus.FAILED),
        pending=len(pending),
        stalled=sum(1 for r in pending if now_ms - r.received_at > stall_ms),
        newest_seq=max((r.seq for r in records), default=None),
        mean_transcode_ms=sum(timed) / len(timed) if timed else None,
    )


def stream_health(record: StreamRecord, recent: RecentSegments | None) -> StreamHealth:
    """One stream's row: its state, its counters, and (live) how its newest segments fared."""
    state: State
    if record.suspended:
        state = "suspended"
    elif record.is_active:
        state = "live"
    else:
        state = "idle" if record.last_seen is not None else "waiting"
    health: Health | None = None
    if state == "live" and recent is not None:
        bad = recent.failed + recent.stalled
        health = "ok" if bad == 0 else ("failing" if 2 * bad >= max(recent.segments, 1) else "degraded")
    return StreamHealth(
        id=record.id,
        name=record.name,
        playback_id=record.playback_id,
        state=state,
        health=health,
        is_active=record.is_active,
        last_seen=record.last_seen,
        created_at=record.created_at,
        source_segments=record.source_segments,
        transcoded_segments=record.transcoded_segments,
        source_segments_duration=record.source_segments_duration,
        transcoded_bytes=record.transcoded_bytes,
        orchestrator=record.orchestrator,
        recent=recent,
    )


def orchestrator_rows(
    configured: Sequence[OrchestratorEndpoint],
    listed: Sequence[OrchestratorView],
    totals: dict[str, Tally],
    standing: dict[str, Standing],
) -> list[OrchestratorStats]:
    """One row per orchestrator: the chain's (largest stake first) or the configured ones, then any other this
    gateway sent work to or struck, most work first."""
    chain = {v.address.lower(): v for v in listed}
    config = {c.address.lower(): c for c in configured}
    known = [*chain, *(a for a in config if a not in chain)]
    others = sorted(
        (a for a in {*totals, *standing} if a not in chain and a not in config),
        key=lambda a: (-totals.get(a, Tally(a)).dispatched, a),
    )
    rows = []
    for address in [*known, *others]:
        view, endpoint = chain.get(address), config.get(address)
        tally = totals.get(address, Tally(address))
        strikes = standing.get(address)
        price = (
            Fraction(view.price_per_unit, view.pixels_per_unit) if view is not None and view.pixels_per_unit else None
        )
        rows.append(
            OrchestratorStats(
                address=view.address if view else endpoint.address if endpoint else address,
                url=(view.service_uri or None) if view else endpoint.url if endpoint else None,
                stake=view.stake if view else None,
                price_per_unit=view.price_per_unit if view else None,
                pixels_per_unit=view.pixels_per_unit if view else None,
                wei_per_pixel=float(price) if price is not None else None,
                active=view.active if view else None,
                resting=strikes.resting if strikes else False,
                strikes=strikes.strikes if strikes else 0,
                last_failure=strikes.last_failure if strikes else None,
                last_failure_reason=(strikes.reason or None) if strikes else None,
                dispatched=tally.dispatched,
                segments_served=tally.ok,
                failed=tally.failed,
                success_rate=tally.success_rate,
                mean_transcode_ms=tally.mean_transcode_ms,
                last_at=tally.last_at,
            )
        )
    return rows


def series(minutes: Iterable[MinuteTally], now_ms: int, length: int) -> list[MinutePoint]:
    """The last ``length`` minutes to the one ``now_ms`` falls in, every orchestrator summed, empty ones as 0."""
    last = minute_of(now_ms)
    starts = [last - (length - 1 - i) * MINUTE_MS for i in range(length)]
    sums = {at: [0, 0, 0, 0] for at in starts}
    for m in minutes:
        if m.minute in sums:
            counts = sums[m.minute]
            for i, amount in enumerate((m.tally.ok, m.tally.failed, m.tally.dispatched, m.tally.tickets)):
                counts[i] += amount
    return [MinutePoint(at=at, ok=c[0], failed=c[1], dispatched=c[2], tickets=c[3]) for at, c in sums.items()]
