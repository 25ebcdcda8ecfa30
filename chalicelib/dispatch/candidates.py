"""Which orchestrators a segment may go to: from configuration (off-chain mode) or from the chain's
projections (on-chain mode: active, with a service URI, at a price the gateway pays), then healthy ones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from chalicelib.core.settings import OrchestratorEndpoint
from chalicelib.dispatch.health import HealthBook


class Listed(Protocol):
    """An orchestrator as the chain's projections list it (``projections.models.OrchestratorView``)."""

    @property
    def address(self) -> str: ...
    @property
    def stake(self) -> int: ...
    @property
    def service_uri(self) -> str: ...
    @property
    def price_per_unit(self) -> int: ...
    @property
    def pixels_per_unit(self) -> int: ...
    @property
    def active(self) -> bool: ...


def advertised_price(listed: Listed) -> Fraction | None:
    """Wei per pixel the orchestrator advertises on chain; None if it advertised none."""
    return Fraction(listed.price_per_unit, listed.pixels_per_unit) if listed.pixels_per_unit else None


def on_chain_candidates(listed: Iterable[Listed], max_price_per_pixel: Decimal) -> list[OrchestratorEndpoint]:
    """The active orchestrators with a service URI whose advertised price is within the gateway's maximum.

    One that advertises no price is kept: its quote says what it asks, and the gateway checks that too.
    """
    cap = Fraction(max_price_per_pixel)
    chosen = []
    for o in listed:
        price = advertised_price(o)
        if o.active and o.service_uri.startswith(("http://", "https://")) and (price is None or price <= cap):
            chosen.append(OrchestratorEndpoint(address=o.address, url=o.service_uri, stake=o.stake))
    return chosen


def healthy(candidates: Sequence[OrchestratorEndpoint], health: HealthBook, now_ms: int) -> list[OrchestratorEndpoint]:
    """The candidates not resting after repeated failures; all of them if every one is resting (trying a
    resting orchestrator beats refusing the segment)."""
    resting = health.resting({c.address for c in candidates}, now_ms)
    fit = [c for c in candidates if c.address.lower() not in resting]
    return fit or list(candidates)
