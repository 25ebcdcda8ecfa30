"""Chain events → projections: after polls, reorgs and poller crashes, the projections equal a fresh read of the chain.

The real contracts on the session's Anvil; DynamoDB and the FIFO queue are moto's in-process ``mock_aws``
(the pipeline through moto's server and the event pump is tests/integration/test_projections_pipeline.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from web3.exceptions import ContractLogicError

from chalicelib.chain.protocol import Protocol
from chalicelib.payments.rpcview import RpcChainView
from chalicelib.projections.cursor import CursorStore
from chalicelib.projections.models import ChainMessage, OrchestratorView
from chalicelib.projections.poller import PollResult, poll
from chalicelib.projections.projector import project_chain_events
from chalicelib.projections.queue import ChainEventQueue
from chalicelib.projections.store import ProjectionStore
from chalicelib.projections.view import ProjectedChainView
from devstack.aws import provision
from devstack.pump import lambda_sqs_record
from tests.contracts.conftest import ETH, LPT, Chain

STAGE = "proj"
REGION = "us-east-1"


class Crash(Exception):
    """The poller 'stops' in the middle of sending."""


class CrashingQueue:
    """Sends the first ``keep`` messages of a poll, then crashes (a poller killed mid-send)."""

    def __init__(self, queue: ChainEventQueue, keep: int) -> None:
        self.queue, self.keep = queue, keep

    def send(self, messages: Sequence[tuple[ChainMessage, str]]) -> None:
        self.queue.send(messages[: self.keep])
        raise Crash


@dataclass
class Pipeline:
    """The poller, the FIFO queue and the projector over one in-process AWS."""

    protocol: Protocol
    confirmations: int = 0
    sqs: Any = None
    url: str = ""
    arn: str = ""
    tables: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> ProjectionStore:
        return ProjectionStore(self.tables["projections"])

    def poll(self, crash_after: int | None = None) -> PollResult | None:
        """One poll by a freshly started poller (nothing kept in memory between polls); None if it crashed."""
        queue: Any = ChainEventQueue(self.sqs, self.url)
        if crash_after is not None:
            queue = CrashingQueue(queue, crash_after)
        cursors = CursorStore(self.tables["chaincursor"])
        with suppress(Crash):
            return poll(self.protocol, cursors, queue, self.store, confirmations=self.confirmations, max_blocks=10_000)
        return None

    def project(self) -> int:
        """Deliver what is queued to the projector, ten at a time, as Lambda does; return how many."""
        delivered = 0
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return delivered
            event = {"Records": [lambda_sqs_record(m, self.arn, REGION) for m in got]}
            result = project_chain_events(event, self.store)
            assert not result.get("batchItemFailures"), result
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )
            delivered += len(got)

    def sync(self) -> None:
        """Poll up to the confirmed head (however long the session's chain is) and project it all."""
        while True:
            result = self.poll()
            assert result is not None
            self.project()
            if result.to_block >= self.protocol.w3.eth.block_number - self.confirmations:
                return


@contextmanager
def pipeline(chain: Chain, monkeypatch: pytest.MonkeyPatch, confirmations: int = 0) -> Iterator[Pipeline]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        made = provision(STAGE, ["gateway", "orchestrator"], None)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        queue = made.queues["chainevents"]
        yield Pipeline(
            Protocol(chain.w3, chain.deployment),
            confirmations,
            boto3.client("sqs", region_name=REGION),
            queue.url,
            queue.arn,
            {logical: dynamodb.Table(name) for logical, name in made.tables.items()},
        )


# --- the fresh read the projections must equal -----------------------------------------------------


def fresh_orchestrators(chain: Chain, addresses: Sequence[str]) -> list[OrchestratorView]:
    views = []
    for a in addresses:
        cut, share, _, _ = chain.bonding.functions.getTranscoderTerms(a).call()
        price, pixels = chain.registry.functions.getPrice(a).call()
        views.append(
            OrchestratorView(
                address=a,
                stake=chain.bonding.functions.transcoderTotalStake(a).call(),
                reward_cut=cut,
                fee_share=share,
                service_uri=chain.registry.functions.getServiceURI(a).call(),
                price_per_unit=price,
                pixels_per_unit=pixels,
                active=chain.bonding.functions.activeSetInfo(a).call()[0],
                credited=chain.broker.functions.recipientCredit(a).call()[0],
            )
        )
    return sorted(views, key=lambda v: (-v.stake, v.address.lower()))


def assert_projection_is_fresh(chain: Chain, p: Pipeline, orchestrators: Sequence[str], senders: Sequence[str]) -> None:
    """Everything the projections answer equals what the contracts answer now."""
    rpc, projected = RpcChainView(p.protocol), ProjectedChainView(p.store)
    assert projected.current_round() == rpc.current_round()
    assert projected.ticket_validity_period() == rpc.ticket_validity_period()
    for s in senders:
        for o in [*orchestrators, chain.owner]:
            assert projected.sender_funds(s, o) == rpc.sender_funds(s, o), (s, o)
    expected = fresh_orchestrators(chain, orchestrators)
    assert [v for v in projected.orchestrators() if v.address in set(orchestrators)] == expected
    assert [v for v in projected.active_orchestrators() if v.address in set(orchestrators)] == [
        v for v in expected if v.active
    ]


# --- examples -------------------------------------------------------------------------------------------


def test_orchestrators_and_rounds_are_projected(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    with pipeline(chain, monkeypatch) as p:
        p.sync()
        assert ProjectedChainView(p.store).active_orchestrators() == []
        assert_projection_is_fresh(chain, p, [], [])
        o = chain.register(1000 * LPT, reward_cut=50_000, fee_share=300_000)
        chain.tx(chain.registry.functions.setServiceURI("https://o.example:8935"), o.address)
        chain.tx(chain.registry.functions.setPrice(1200, 1000), o.address)
        p.sync()
        [seen] = ProjectedChainView(p.store).orchestrators()
        assert (seen.service_uri, seen.price_per_unit, seen.pixels_per_unit) == ("https://o.example:8935", 1200, 1000)
        assert not seen.active  # active from the next round
        assert_projection_is_fresh(chain, p, [o.address], [])
        chain.next_round()
        p.sync()
        [active] = ProjectedChainView(p.store).active_orchestrators()
        assert active.address == o.address and active.stake == 1000 * LPT
        assert_projection_is_fresh(chain, p, [o.address], [])


def test_the_round_moves_on_with_the_blocks_before_any_new_round_event(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pipeline(chain, monkeypatch) as p:
        p.sync()
        before = ProjectedChainView(p.store).current_round()
        chain.next_round(initialize=False)
        p.sync()  # no NewRound: only the head moved
        now = ProjectedChainView(p.store).current_round()
        assert now.number == before.number + 1 and not now.initialized
        # Tickets are still made in the last initialized round, with its block hash.
        assert (now.last_initialized, now.last_initialized_block_hash) == (
            before.number,
            before.last_initialized_block_hash,
        )
        assert any(now.last_initialized_block_hash)
        assert_projection_is_fresh(chain, p, [], [])


def test_reserve_allocation_follows_claims_and_round_changes(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    with pipeline(chain, monkeypatch) as p:
        a = chain.active_orchestrator(1000 * LPT)
        b = chain.active_orchestrator(500 * LPT)
        chain.next_round()  # both in the active set when the round began: the reserve splits in two
        s = chain.new_account()
        chain.tx(chain.broker.functions.fundDepositAndReserve(10**15, 4 * 10**16), s.address, value=10**15 + 4 * 10**16)
        ticket, sig, rand = chain.make_ticket(s, a.address, 10**15 + 5 * 10**15)  # 5e15 from the reserve
        chain.redeem(ticket, sig, rand)
        p.sync()
        funds = ProjectedChainView(p.store).sender_funds(s.address, a.address)
        assert funds.deposit == 0 and funds.reserve_allocation == 2 * 10**16 - 5 * 10**15
        # The redemption credits its recipient the whole face value, deposit and reserve alike.
        credited = {v.address: v.credited for v in ProjectedChainView(p.store).orchestrators()}
        assert (credited[a.address], credited[b.address]) == (6 * 10**15, 0)
        assert_projection_is_fresh(chain, p, [a.address, b.address], [s.address])
        chain.next_round()
        p.sync()
        assert_projection_is_fresh(chain, p, [a.address, b.address], [s.address])
        chain.next_round(initialize=False)  # a new round the poller hears of from the blocks alone
        p.sync()
        assert_projection_is_fresh(chain, p, [a.address, b.address], [s.address])


def test_unconfirmed_blocks_are_not_projected(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    # Anvil keeps no state of blocks from before an evm_revert (the fixture's), so start a few blocks later.
    chain.mine(4)
    with pipeline(chain, monkeypatch, confirmations=3) as p:
        p.sync()
        s = chain.new_account()
        chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
        p.sync()
        assert ProjectedChainView(p.store).sender_funds(s.address, chain.owner).deposit == 0
        chain.mine(3)
        p.sync()
        assert ProjectedChainView(p.store).sender_funds(s.address, chain.owner).deposit == ETH


def test_a_reorg_is_undone(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    with pipeline(chain, monkeypatch) as p:
        o = chain.register(1000 * LPT)
        s = chain.new_account()
        p.sync()
        fork = chain.rpc("evm_snapshot", [])
        chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
        chain.tx(chain.registry.functions.setServiceURI("https://orphaned.example"), o.address)
        p.sync()
        assert ProjectedChainView(p.store).sender_funds(s.address, o.address).deposit == ETH
        assert chain.rpc("evm_revert", [fork]) is True
        chain.tx(chain.broker.functions.fundReserve(), s.address, value=2 * ETH)  # another fork, other events
        chain.mine(1)
        p.sync()
        assert ProjectedChainView(p.store).sender_funds(s.address, o.address).deposit == 0
        assert_projection_is_fresh(chain, p, [o.address], [s.address])


def test_a_poller_stopped_mid_send_neither_skips_nor_repeats(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    with pipeline(chain, monkeypatch) as p:
        p.sync()
        s = chain.new_account()
        for _ in range(3):
            chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
        p.poll(crash_after=1)
        p.project()
        p.sync()  # a restarted poller
        assert ProjectedChainView(p.store).sender_funds(s.address, chain.owner).deposit == 3 * ETH
        p.sync()  # and once more: nothing applied twice
        assert ProjectedChainView(p.store).sender_funds(s.address, chain.owner).deposit == 3 * ETH


# --- the property ---------------------------------------------------------------------------------


@dataclass
class Fork:
    """A snapshot of the chain and of the accounts it knew then (a reorg back to it forgets the later ones)."""

    snapshot: Any
    orchestrators: list[LocalAccount]
    senders: list[LocalAccount]


@dataclass
class World:
    """The accounts an example's operations act on: those the chain knows now, and every one it ever made."""

    orchestrators: list[LocalAccount] = field(default_factory=list)
    senders: list[LocalAccount] = field(default_factory=list)
    forks: list[Fork] = field(default_factory=list)
    # Orphaned ones too: the projections must answer for them as a fresh read does (they are strangers now).
    ever_orchestrators: list[LocalAccount] = field(default_factory=list)
    ever_senders: list[LocalAccount] = field(default_factory=list)


def _try(chain: Chain, fn: Any, sender: str, value: int = 0) -> None:
    """Send a transaction the example may have made impossible (a revert is a no-op, as on a real chain)."""
    with suppress(ContractLogicError, AssertionError, ValueError):
        chain.tx(fn, sender, value)


def apply(op: tuple[Any, ...], chain: Chain, p: Pipeline, w: World) -> None:
    kind = op[0]
    if kind == "register" and len(w.orchestrators) < 3:
        w.orchestrators.append(chain.register(op[1] * LPT, reward_cut=op[2], fee_share=op[3]))
        w.ever_orchestrators.append(w.orchestrators[-1])
    elif kind == "sender" and len(w.senders) < 2:
        w.senders.append(chain.new_account())
        w.ever_senders.append(w.senders[-1])
    elif kind == "delegate" and w.orchestrators:
        d = chain.new_account(lpt=op[2] * LPT)
        _try(
            chain,
            chain.bonding.functions.bond(op[2] * LPT, w.orchestrators[op[1] % len(w.orchestrators)].address),
            d.address,
        )
    elif kind == "terms" and w.orchestrators:
        o = w.orchestrators[op[1] % len(w.orchestrators)]
        _try(chain, chain.bonding.functions.reward(), o.address)
        _try(chain, chain.bonding.functions.transcoder(op[2], op[3]), o.address)
    elif kind == "advertise" and w.orchestrators:
        o = w.orchestrators[op[1] % len(w.orchestrators)]
        _try(chain, chain.registry.functions.setPrice(op[2], 1000), o.address)
        _try(chain, chain.registry.functions.setServiceURI(f"https://o{op[2]}.example"), o.address)
    elif kind == "unbond" and w.orchestrators:
        o = w.orchestrators[op[1] % len(w.orchestrators)]
        _try(chain, chain.bonding.functions.unbond(op[2] * LPT), o.address)
    elif kind == "fund" and w.senders:
        s = w.senders[op[1] % len(w.senders)]
        fn = chain.broker.functions.fundDeposit() if op[2] else chain.broker.functions.fundReserve()
        _try(chain, fn, s.address, op[3] * 10**15)
    elif kind == "unlock" and w.senders:
        _try(chain, chain.broker.functions.unlock(), w.senders[op[1] % len(w.senders)].address)
    elif kind == "redeem" and w.senders and w.orchestrators:
        s, o = w.senders[op[1] % len(w.senders)], w.orchestrators[op[2] % len(w.orchestrators)]
        ticket, sig, rand = chain.make_ticket(s, o.address, op[3] * 10**15, nonce=chain.w3.eth.block_number)
        _try(chain, chain.broker.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand), o.address)
    elif kind == "round":
        chain.next_round(initialize=op[1])
        if not op[1]:
            _try(chain, chain.rounds.functions.initializeRound(), chain.owner)
    elif kind == "fork":
        w.forks.append(Fork(chain.rpc("evm_snapshot", []), list(w.orchestrators), list(w.senders)))
    elif kind == "reorg" and w.forks:
        fork = w.forks.pop()
        assert chain.rpc("evm_revert", [fork.snapshot]) is True
        chain.mine(1)
        w.orchestrators, w.senders = fork.orchestrators, fork.senders
    elif kind == "poll":
        p.sync()
        check(chain, p, w)
    elif kind == "crash":
        p.poll(crash_after=op[1])
        if op[2]:
            p.project()


def check(chain: Chain, p: Pipeline, w: World) -> None:
    """The projections equal a fresh read, for the accounts the chain knows and for those only an orphaned fork
    knew (no orchestrator listed, no funds)."""
    orchestrators = [o.address for o in w.orchestrators]
    assert_projection_is_fresh(chain, p, orchestrators, [s.address for s in w.senders])
    gone = {o.address for o in w.ever_orchestrators} - set(orchestrators)
    gone_senders = {s.address for s in w.ever_senders} - {s.address for s in w.senders}
    rpc, projected = RpcChainView(p.protocol), ProjectedChainView(p.store)
    assert [v for v in projected.orchestrators() if v.address in gone] == []
    for s in gone_senders:
        for o in [*orchestrators, *gone]:
            assert projected.sender_funds(s, o) == rpc.sender_funds(s, o), (s, o)


small = st.integers(min_value=0, max_value=7)
OPS = st.one_of(
    st.tuples(st.just("register"), st.integers(1, 9), st.sampled_from([0, 100_000]), st.sampled_from([0, 500_000])),
    st.tuples(st.just("sender")),
    st.tuples(st.just("delegate"), small, st.integers(1, 5)),
    st.tuples(st.just("terms"), small, st.sampled_from([0, 250_000]), st.sampled_from([0, 750_000])),
    st.tuples(st.just("advertise"), small, st.integers(1, 5000)),
    st.tuples(st.just("unbond"), small, st.integers(1, 3)),
    st.tuples(st.just("fund"), small, st.booleans(), st.integers(1, 20)),
    st.tuples(st.just("unlock"), small),
    st.tuples(st.just("redeem"), small, small, st.integers(1, 30)),
    st.tuples(st.just("round"), st.booleans()),
    st.tuples(st.just("fork")),
    st.tuples(st.just("reorg")),
    st.tuples(st.just("poll")),
    st.tuples(st.just("crash"), st.integers(0, 3), st.booleans()),
)


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.lists(OPS, min_size=2, max_size=8),
    orphaned=st.lists(OPS, min_size=1, max_size=6),
    after=st.lists(OPS, min_size=0, max_size=6),
)
# An orchestrator registered only on the orphaned branch: never projected (the poll before it crashed) ...
@example(
    before=[("fork",), ("unbond", 2, 1)],
    orphaned=[("crash", 2, False), ("register", 2, 0, 0), ("reorg",)],
    after=[("fund", 6, True, 7)],
)
# ... and projected, then orphaned (re-read as the contracts' zero state).
@example(
    before=[("poll",), ("round", True)],
    orphaned=[("register", 2, 100_000, 500_000), ("advertise", 1, 1200), ("sender",), ("fund", 1, True, 5), ("poll",)],
    after=[("round", True)],
)
def test_projections_equal_a_fresh_read_after_any_history(
    chain: Chain,
    monkeypatch: pytest.MonkeyPatch,
    before: list[tuple[Any, ...]],
    orphaned: list[tuple[Any, ...]],
    after: list[tuple[Any, ...]],
) -> None:
    """Random operations, polls and poller crashes, with a fork whose branch was projected and then reorged away."""
    # Something to act on from the start, so that few examples still reach the interesting states.
    setup = [("register", 5, 0, 0), ("sender",), ("fund", 0, False, 40), ("round", True)]
    history = [*setup, *before, ("fork",), *orphaned, ("poll",), ("reorg",), *after, ("poll",)]
    with chain.isolated(), pipeline(chain, monkeypatch) as p:
        world = World()
        for op in history:
            apply(op, chain, p, world)
