"""Orchestrator selection: 0.7 × stake share + 0.3 × uniform, preferred first, failover order."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from chalicelib.core.settings import OrchestratorEndpoint
from chalicelib.dispatch.selection import rank, selection_weights

ORCHS = [
    OrchestratorEndpoint(address="0xA", url="http://a", stake=600),
    OrchestratorEndpoint(address="0xB", url="http://b", stake=300),
    OrchestratorEndpoint(address="0xC", url="http://c", stake=100),
]


def test_weights_mix_stake_share_and_uniform() -> None:
    assert selection_weights(ORCHS) == pytest.approx([0.7 * 0.6 + 0.1, 0.7 * 0.3 + 0.1, 0.7 * 0.1 + 0.1])
    assert sum(selection_weights(ORCHS)) == pytest.approx(1.0)


def test_no_stake_at_all_means_uniform() -> None:
    zero = [o.model_copy(update={"stake": 0}) for o in ORCHS]
    assert selection_weights(zero) == pytest.approx([1 / 3] * 3)


def test_draws_follow_the_weights() -> None:
    rng = random.Random(7)
    firsts = Counter(rank(ORCHS, rng)[0].address for _ in range(20_000))
    for orch, weight in zip(ORCHS, selection_weights(ORCHS), strict=True):
        assert firsts[orch.address] / 20_000 == pytest.approx(weight, abs=0.015)


def test_preferred_orchestrator_comes_first_and_every_one_is_a_fallback() -> None:
    order = rank(ORCHS, random.Random(1), preferred="0xc")
    assert order[0].address == "0xC"
    assert sorted(o.address for o in order) == ["0xA", "0xB", "0xC"]
