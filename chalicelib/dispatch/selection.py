"""Choosing an orchestrator: weighted random over stake share and a uniform share (DESIGN.md)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.core.settings import OrchestratorEndpoint

STAKE_WEIGHT = 0.7
UNIFORM_WEIGHT = 0.3


@dataclass(frozen=True)
class Weights:
    """How much stake share and a uniform share count in the draw."""

    stake: float = STAKE_WEIGHT
    uniform: float = UNIFORM_WEIGHT


def selection_weights(candidates: Sequence[OrchestratorEndpoint], weights: Weights = Weights()) -> list[float]:
    """Return each candidate's selection probability: stake × share of stake + uniform / n."""
    total_stake = sum(c.stake for c in candidates)
    n = len(candidates)
    result = []
    for c in candidates:
        stake_share = c.stake / total_stake if total_stake else 1 / n
        result.append(weights.stake * stake_share + weights.uniform / n)
    return result


def rank(
    candidates: Sequence[OrchestratorEndpoint],
    rng: random.Random,
    preferred: str | None = None,
    weights: Weights = Weights(),
) -> list[OrchestratorEndpoint]:
    """Return all candidates in the order to try them: ``preferred`` first, then weighted draws.

    Drawing without replacement gives the failover order: if the first choice does not take the
    job, the next is the one a fresh draw among the rest would have picked.
    """
    pool = list(candidates)
    order: list[OrchestratorEndpoint] = []
    if preferred is not None:
        for c in pool:
            if c.address.lower() == preferred.lower():
                order.append(c)
                pool.remove(c)
                break
    while pool:
        chosen = rng.choices(pool, weights=selection_weights(pool, weights), k=1)[0]
        order.append(chosen)
        pool.remove(chosen)
    return order
