"""The chain-event pipeline as deployed: a scheduled poller → the FIFO queue on moto's server → the projector,
delivered by the local stack's event pump, with a reorg on the way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice import Chalice, Rate
from chalice.app import SQSEvent

from chalicelib.chain.protocol import Protocol
from chalicelib.payments.rpcview import RpcChainView
from chalicelib.projections.cursor import CursorStore
from chalicelib.projections.poller import poll_until_caught_up
from chalicelib.projections.projector import project_chain_events
from chalicelib.projections.queue import ChainEventQueue
from chalicelib.projections.store import ProjectionStore
from chalicelib.projections.view import NotProjectedYet, ProjectedChainView
from devstack import aws
from devstack.pump import Pump, PumpConfig
from tests import support
from tests.contracts.conftest import ETH, LPT, Chain
from tests.support import moto_server

STAGE = "pipe"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _app(protocol: Protocol, made: aws.StageResources, endpoint: str) -> tuple[Chalice, ProjectionStore]:
    """The two handlers of app.py, over this test's chain and moto server."""
    session = aws.session()
    ddb = session.resource("dynamodb", endpoint_url=endpoint)
    sqs = aws.client(session, "sqs", endpoint)
    store = ProjectionStore(ddb.Table(made.tables["projections"]))
    cursors = CursorStore(ddb.Table(made.tables["chaincursor"]))
    queue = ChainEventQueue(sqs, made.queues["chainevents"].url)
    app = Chalice("projections-pipeline")

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def poll_chain(event: Any) -> None:
        poll_until_caught_up(protocol, cursors, queue, store, confirmations=0, max_blocks=10_000)

    fifo_name = made.queues["chainevents"].url.rsplit("/", 1)[-1]

    @app.on_sqs_message(queue=fifo_name, batch_size=10)
    def on_chain_events(event: SQSEvent) -> dict[str, Any]:
        return dict(project_chain_events(event.to_dict(), store))

    return app, store


def test_events_reach_the_projections_through_the_fifo_queue_and_a_reorg_is_undone(
    chain: Chain, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.endpoint_env(endpoint).items():
        monkeypatch.setenv(name, value)
    made = aws.provision(STAGE, ["gateway", "orchestrator"], endpoint)
    assert made.queues["chainevents"].url.endswith(".fifo") and made.queues["chainevents"].dlq_url.endswith(".fifo")
    protocol = Protocol(chain.w3, chain.deployment)
    app, store = _app(protocol, made, endpoint)
    rpc, projected = RpcChainView(protocol), ProjectedChainView(store)

    def caught_up() -> bool:
        try:
            return projected.current_round() == rpc.current_round()
        except NotProjectedYet:
            return False

    o = chain.active_orchestrator(1000 * LPT)
    s = chain.new_account()
    with Pump(app, endpoint, PumpConfig(schedule_every=0.3, wait_time_s=1, stage=STAGE)):
        support.wait_for(caught_up, 30, 0.1, "the first projection")
        fork = chain.rpc("evm_snapshot", [])
        chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
        support.wait_for(lambda: projected.sender_funds(s.address, o.address).deposit == ETH, 30, 0.1, "the deposit")
        assert chain.rpc("evm_revert", [fork]) is True
        chain.tx(chain.broker.functions.fundReserve(), s.address, value=2 * ETH)
        chain.mine(1)
        support.wait_for(
            lambda: projected.sender_funds(s.address, o.address) == rpc.sender_funds(s.address, o.address),
            30,
            0.1,
            "the reorg undone",
        )
    assert projected.sender_funds(s.address, o.address).deposit == 0
    [active] = projected.active_orchestrators()
    assert active.address == o.address and active.stake == 1000 * LPT
