"""``GET /dashboard/data``: the caller's streams with their health, the orchestrators, payments and a series to plot.

Every field is present in the JSON, ``null`` where it does not apply (an off-chain gateway has no stake or
payments to show), so the page reads one shape. Amounts of wei and LPT are uint256 decimal strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.payments.models import WireUint


class _Shown(ApiModel):
    def wire(self) -> dict[str, object]:
        """The JSON body: every field, null included."""
        return self.model_dump(mode="json", by_alias=True)


class RecentSegments(_Shown):
    """How a live stream's newest segments fared (the ledger's last few, read for active streams only)."""

    segments: int = Field(description="How many of the newest segments were looked at.")
    ready: int = Field(description="Of them, transcoded.")
    failed: int = Field(description="Of them, failed on their last attempt.")
    pending: int = Field(description="Of them, still waiting for their result.")
    stalled: int = Field(description="Of the pending ones, waiting longer than the playlists wait for a segment.")
    newest_seq: int | None = Field(description="The newest sequence number received.")
    mean_transcode_ms: float | None = Field(description="The workers' mean transcode time of the transcoded ones.")


class StreamHealth(_Shown):
    """One of the caller's streams: its state, Studio's counters, and how its newest segments fared."""

    id: str = Field(description="The stream's id.")
    name: str = Field(description="Its name.")
    playback_id: str = Field(description="Its playback id.")
    state: Literal["live", "idle", "waiting", "suspended"] = Field(
        description="`live`: segments are arriving (`isActive`); `idle`: it was live and stopped; `waiting`: never "
        "pushed to; `suspended`: its stream key is refused."
    )
    health: Literal["ok", "degraded", "failing"] | None = Field(
        description="For a live stream, from its newest segments: `ok` when none failed or stalled, `failing` when "
        "half of them or more did, `degraded` between; null otherwise."
    )
    is_active: bool = Field(description="Studio's `isActive`.")
    last_seen: int | None = Field(description="When its newest segment arrived (ms since the epoch).")
    created_at: int = Field(description="When it was created (ms since the epoch).")
    source_segments: int = Field(description="Source segments received.")
    transcoded_segments: int = Field(description="Segments transcoded.")
    source_segments_duration: float = Field(description="Seconds of source the workers measured.")
    transcoded_bytes: int = Field(description="The bytes of all renditions made.")
    orchestrator: str | None = Field(description="The orchestrator its newest segment went to.")
    recent: RecentSegments | None = Field(description="Its newest segments (live streams only).")


class OrchestratorStats(_Shown):
    """An orchestrator as this gateway knows it: from the chain (on-chain mode), its health, and its outcomes."""

    address: str = Field(description="Its Ethereum address.")
    url: str | None = Field(description="Its intake: the service URI on chain, or the configured URL off chain.")
    stake: WireUint | None = Field(description="Its total stake in LPT wei (on-chain mode).")
    price_per_unit: WireUint | None = Field(description="Its advertised price: wei per `pixelsPerUnit` pixels.")
    pixels_per_unit: WireUint | None = Field(description="The pixels its price is for.")
    wei_per_pixel: float | None = Field(description="Its advertised price per pixel, for display.")
    active: bool | None = Field(description="In the active set this round (on-chain mode).")
    resting: bool = Field(description="Left out of selection for a while after repeated failures.")
    strikes: int = Field(description="Refusals, timeouts and failures since its last success.")
    last_failure: int | None = Field(description="When the newest strike was (ms since the epoch).")
    last_failure_reason: str | None = Field(description="Why.")
    dispatched: int = Field(description="Jobs it took from this gateway.")
    segments_served: int = Field(description="Segments it transcoded.")
    failed: int = Field(description="Segments that failed on their last attempt.")
    success_rate: float | None = Field(description="Transcoded of settled (0 to 1); null before any settled.")
    mean_transcode_ms: float | None = Field(description="The workers' mean transcode time of a transcoded segment.")
    last_at: int | None = Field(description="When it last took or settled a segment (ms since the epoch).")


class OrchestratorPayments(_Shown):
    """What this gateway paid an orchestrator, and what the chain credited it."""

    address: str = Field(description="The orchestrator's address.")
    tickets_sent: int = Field(description="Tickets this gateway sent it with the jobs it took.")
    credited_wei: WireUint | None = Field(
        description="Wei the TicketBroker credited it for winning tickets, from every sender (the projections)."
    )


class GatewayFunds(_Shown):
    """This gateway's funds in the TicketBroker, as projected."""

    address: str = Field(description="The gateway's (the tickets' sender's) address.")
    deposit_wei: WireUint = Field(description="Its deposit: winning tickets are paid from it first.")
    reserve_wei: WireUint = Field(description="Its reserve: what active orchestrators may claim once it is gone.")
    withdraw_round: int = Field(description="The round it may withdraw from (0: not unlocking).")


class Payments(_Shown):
    """On-chain mode: tickets per orchestrator and the chain's credit."""

    sender: GatewayFunds | None = Field(description="This gateway's funds; null until the chain saw it fund them.")
    orchestrators: list[OrchestratorPayments] = Field(description="Per orchestrator, in the orchestrators' order.")


class MinutePoint(_Shown):
    """One minute of this gateway's work, every orchestrator together."""

    at: int = Field(description="The minute's start (ms since the epoch).")
    ok: int = Field(description="Segments transcoded in it.")
    failed: int = Field(description="Segments that failed on their last attempt in it.")
    dispatched: int = Field(description="Jobs orchestrators took in it.")
    tickets: int = Field(description="Tickets sent with them.")


class DashboardData(_Shown):
    """What the dashboard page shows."""

    generated_at: int = Field(description="When this was read (ms since the epoch).")
    mode: Literal["offchain", "onchain"] = Field(description="Whether segments are paid with tickets on chain.")
    window_minutes: int = Field(description="The length of `series`.")
    streams: list[StreamHealth] = Field(description="The caller's streams, live ones first, then the newest seen.")
    streams_total: int = Field(description="How many streams the caller has (`streams` lists the first ones).")
    orchestrators: list[OrchestratorStats] = Field(
        description="Every orchestrator this gateway knows of: on chain or configured, or one it sent work to."
    )
    payments: Payments | None = Field(description="On-chain mode only.")
    series: list[MinutePoint] = Field(description="The last `windowMinutes` minutes, oldest first.")
    notes: list[str] = Field(description="What could not be read this time, and why.")
