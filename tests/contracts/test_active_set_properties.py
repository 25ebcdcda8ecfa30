"""Property test of the active set: whatever the hints, the list stays sorted, bounded and summed right."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .conftest import LPT, Chain

pytestmark = pytest.mark.slow  # each example drives the chain through many transactions

ZERO = "0x" + "00" * 20
MAX_ACTIVE = 4


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    stakes=st.lists(st.integers(min_value=1, max_value=50), min_size=6, max_size=6),
    ops=st.lists(
        st.tuples(
            st.sampled_from(["bond", "unbond"]),
            st.integers(min_value=0, max_value=5),  # orchestrator
            st.integers(min_value=1, max_value=40),  # amount, LPT
            st.integers(min_value=-1, max_value=5),  # prev hint: -1 = none, else an orchestrator (often wrong)
            st.integers(min_value=-1, max_value=5),  # next hint
        ),
        min_size=3,
        max_size=12,
    ),
)
def test_active_set_stays_sorted_bounded_and_summed(
    chain_session: Chain, stakes: list[int], ops: list[tuple[str, int, int, int, int]]
) -> None:
    chain = chain_session
    with chain.isolated():
        chain.tx(chain.bonding.functions.setNumActiveTranscoders(MAX_ACTIVE), chain.owner)
        orchestrators = [chain.register(s * LPT) for s in stakes]
        addresses = [o.address for o in orchestrators]
        delegator = chain.new_account(lpt=40 * 12 * LPT)

        def hint(i: int) -> str:
            return ZERO if i < 0 else addresses[i]

        for op, which, amount, prev, nxt in ops:
            target = addresses[which]
            if op == "bond":
                fn = chain.bonding.functions.bondWithHint(amount * LPT, target, ZERO, ZERO, hint(prev), hint(nxt))
                current = chain.bonding.functions.getDelegator(delegator.address).call()[0]
                if current not in (ZERO, target):
                    continue  # moving the delegator's stake is covered elsewhere; keep the sums simple
                chain.tx(fn, delegator.address)
            else:
                staked = chain.bonding.functions.pendingStake(delegator.address).call()
                if staked == 0:
                    continue
                chain.tx(
                    chain.bonding.functions.unbondWithHint(min(staked, amount * LPT), hint(prev), hint(nxt)),
                    delegator.address,
                )

        pool, cur = [], chain.bonding.functions.getFirstTranscoderInPool().call()
        while cur != ZERO:
            pool.append(cur)
            cur = chain.bonding.functions.getNextTranscoderInPool(cur).call()
        totals = [chain.bonding.functions.transcoderTotalStake(a).call() for a in pool]
        assert totals == sorted(totals, reverse=True)
        assert len(pool) == chain.bonding.functions.getTranscoderPoolSize().call() <= MAX_ACTIVE
        assert chain.bonding.functions.nextRoundTotalActiveStake().call() == sum(totals)
        # every registration tries to join: anyone left outside means the set is full
        outsiders = [a for a in addresses if a not in pool]
        assert len(pool) == MAX_ACTIVE or not outsiders
