"""On-chain mode end to end: Anvil with the protocol, two orchestrators registered on it with their own keys,
stakes and prices, a funded gateway, moto over HTTP, the event pump and real workers.

Segments are paid with tickets; the orchestrators' redeemers get the winning ones paid on chain. Whatever
happens on the way (a winning ticket's message delivered again, an orchestrator's functions stopped while
its queue holds winners, then started again), the ETH the TicketBroker credits each orchestrator equals
the face values of the winning tickets it redeemed, and no ticket is redeemed twice. The operator's dashboard
shows the same network and payments: the stakes and credits of the chain, the gateway's funds, the tickets sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from web3 import Web3

from chalicelib.chain.protocol import Protocol
from chalicelib.core import timing
from devstack import network
from devstack.net import free_port
from devstack.payments import OrchestratorPayments, payments_report, wait_for_payments
from devstack.stack import LocalStack
from tests.integration.conftest import STACK_ENV, Api, playlist_segments, wait_for
from tests.media import segment_bytes

pytestmark = pytest.mark.slow

#: One ticket in two wins here (face value twice the expected value), so a few segments win for sure.
FACE_VALUE = 2 * network.TICKET_EV_WEI


@pytest.fixture(scope="module")
def onchain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    env = {**STACK_ENV, "LP_TICKET_FACE_VALUE_WEI": str(FACE_VALUE)}
    local = LocalStack.on_free_ports(
        tmp_path_factory.mktemp("onchain"), onchain=True, chain_port=free_port(), extra_env=env
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def api(onchain: LocalStack) -> Api:
    return Api(onchain.gateway_url, onchain.api_key, requests.Session())


def _protocol(stack: LocalStack) -> Protocol:
    return Protocol.from_file(Web3(Web3.HTTPProvider(stack.chain_url)), stack.deployment_file)


def _ready(api: Api, stream: dict[str, Any], seqs: range) -> None:
    """Wait until every segment in ``seqs`` is listed in the stream's 240p0 playlist (transcoded)."""

    def listed() -> bool:
        names = playlist_segments(api.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8").text)
        return all(any(n.endswith(f"/{seq}.ts") or n == f"{seq}.ts" for n in names) for seq in seqs)

    wait_for(listed, 90, what=f"segments {list(seqs)} of {stream['id']} listed")


def _redeemed_on_chain(protocol: Protocol, recipient: str) -> list[str]:
    """The hashes of the tickets the TicketBroker paid to ``recipient`` (one event per payment)."""
    events = protocol.broker.events.WinningTicketRedeemed().get_logs(
        from_block=protocol.deployment.block_number, argument_filters={"recipient": recipient}
    )
    return [json.dumps({k: str(v) for k, v in dict(e["args"]).items()}, sort_keys=True) for e in events]


def _check_books(stack: LocalStack, report: list[OrchestratorPayments]) -> None:
    protocol = _protocol(stack)
    for o in report:
        assert o.unsettled == 0, o
        assert o.credited == o.redeemed_face_value, o  # the chain paid exactly what the ledger says it redeemed
        paid = _redeemed_on_chain(protocol, o.address)
        assert len(paid) == len(set(paid)) == o.redeemed, o  # each redeemed ticket paid once


def _send_again(stack: LocalStack, o: OrchestratorPayments) -> int:
    """Deliver every winning ticket's redemption message once more (new deduplication ids); return how many."""
    ddb = stack.session().resource("dynamodb", endpoint_url=stack.endpoint_url)
    items = ddb.Table(stack.settings(o.name).name("tickets")).scan(ConsistentRead=True)["Items"]
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.settings(o.name).queue_name("redemptions"))["QueueUrl"]
    sent = 0
    for item in items:
        if item.get("won"):
            sqs.send_message(
                QueueUrl=url,
                MessageBody=str(item["message"]),
                MessageGroupId=o.address,
                MessageDeduplicationId=f"again-{item['id']}".replace(":", "-")[:128],
            )
            sent += 1
    wait_for(lambda: _queue_empty(sqs, url), 60, what=f"{o.name}'s redemption queue drained")
    return sent


def _settled_charges(stack: LocalStack, jobs: int) -> list[dict[str, Any]] | None:
    """Every orchestrator's charges, once ``jobs`` of them are all settled."""
    ddb = stack.session().resource("dynamodb", endpoint_url=stack.endpoint_url)
    charges = [
        item
        for o in stack.orchestrators
        for item in ddb.Table(stack.settings(o.name).name("charges")).scan(ConsistentRead=True)["Items"]
    ]
    return charges if len(charges) >= jobs and all("settledPixels" in c for c in charges) else None


def _lp_status(stack: LocalStack, stage: str) -> dict[str, Any]:
    """``lp status --json`` as a stage's operator runs it (``eval $(python -m devstack env STAGE)``): one row per
    recipient, by address."""
    env = {**os.environ, **stack.env_for(stage)}
    done = subprocess.run(
        [sys.executable, "-m", "lpcli", "status", "--json", "--stage", stage],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {row["address"]: row for row in json.loads(done.stdout)["tickets"]["by_recipient"]}


def _queue_empty(sqs: Any, url: str) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(attributes[n] == "0" for n in names)


def test_paid_segments_credit_each_orchestrator_the_face_value_of_its_redeemed_tickets(
    onchain: LocalStack, api: Api
) -> None:
    segments = segment_bytes("360p", n=3)
    streams = [api.create_stream(f"paid-{i}") for i in range(3)]
    for stream in streams:
        for seq, body in enumerate(segments):
            response = api.push(stream["streamKey"], seq, body)
            assert response.status_code == 202, response.text
            # What the payment took (the gateway's tickets, the orchestrator's check) and the orchestrator's
            # queueing, as the 202 says it
            spent = timing.durations(response.headers.get(timing.HEADER))
            assert spent.keys() == {timing.TICKETS, *timing.FROM_ORCHESTRATOR}, spent
            assert all(v > 0 for v in spent.values()), spent
    for stream in streams:
        _ready(api, stream, range(len(segments)))
    report = wait_for_payments(onchain, timeout_s=90)
    # Each worker reported what its jobs made: every job is charged for that, not the bound charged ahead.
    charges = wait_for(lambda: _settled_charges(onchain, 9), 60, what="every job settled")
    assert all(0 < int(c["settledPixels"]) <= int(c["pixels"]) and int(c["settledBack"]) >= 0 for c in charges)
    sent, received = sum(o.sent for o in report), sum(o.received for o in report)
    # Every segment was paid, with at least a ticket, and the intakes took every ticket that paid one (they
    # may have taken more: a job whose answer timed out at the gateway was paid again elsewhere).
    assert 9 <= sent <= received
    assert sum(o.won for o in report) > 0 and sum(o.redeemed for o in report) == sum(o.won for o in report)
    assert all(o.minted > 0 for o in report)  # each orchestrator called reward() in its first active round
    _check_books(onchain, report)
    # `lp status` shows what each stage counted beside what the chain paid: the gateway the tickets it sent each
    # orchestrator (its tallies: at least what the segments' records say), each orchestrator what it received,
    # won and redeemed.
    gateway = _lp_status(onchain, onchain.gateway.name)  # no row for an orchestrator it sent nothing
    sent_to = {o.address: (gateway[o.address]["sent"] if o.address in gateway else 0) for o in report}
    assert sum(sent_to.values()) <= received
    for o in report:
        assert sent_to[o.address] >= o.sent
        assert o.address not in gateway or gateway[o.address]["won"] is None  # a gateway cannot know which won
        own = _lp_status(onchain, o.name)[o.address]
        assert (own["received"], own["won"], own["redeemed"]) == (o.received, o.won, o.redeemed), own
        assert own["sent"] is None
    env = {**os.environ, **onchain.env_for(onchain.gateway.name), "LP_STAGE": "nosuch"}
    nosuch = [sys.executable, "-m", "lpcli", "status", "--stage", "nosuch"]
    done = subprocess.run(nosuch, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "stage nosuch has no tables here" in " ".join(done.stderr.split()), done.stderr
    # Every winner's message delivered again: nothing more is paid.
    for o in report:
        _send_again(onchain, o)
    again = payments_report(onchain)
    assert [(o.credited, o.redeemed) for o in again] == [(o.credited, o.redeemed) for o in report]
    _check_books(onchain, again)


def test_the_dashboard_shows_the_network_and_the_payments_as_the_chain_and_the_ledgers_have_them(
    onchain: LocalStack, api: Api
) -> None:
    stream = api.create_stream("watched")
    for seq, body in enumerate(segment_bytes("360p", n=2)):
        assert api.push(stream["streamKey"], seq, body).status_code == 202
    _ready(api, stream, range(2))
    report = {o.address: o for o in wait_for_payments(onchain, timeout_s=90)}
    protocol = _protocol(onchain)

    def caught_up() -> dict[str, Any] | None:  # the projections follow the chain a poll behind
        response = api.call("GET", "/dashboard/data")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        credited = {o["address"]: int(o["creditedWei"] or 0) for o in data["payments"]["orchestrators"]}
        stakes = {o["address"]: int(o["stake"] or 0) for o in data["orchestrators"]}
        chain = {a: protocol.bonding.functions.transcoderTotalStake(a).call() for a in report}  # reward() mints
        same = all(credited.get(a) == o.credited and stakes.get(a) == chain[a] for a, o in report.items())
        return data if same else None

    data = wait_for(caught_up, 60, what="the dashboard's credits and stakes equal the chain's")
    assert data["mode"] == "onchain" and not data["notes"], data["notes"]
    assert stream["id"] in {s["id"] for s in data["streams"]}
    gateway = onchain.address_of(onchain.gateway.name)
    funds = data["payments"]["sender"]
    deposit, _, reserve, _ = protocol.broker.functions.getSenderInfo(gateway).call()
    assert (funds["address"], int(funds["depositWei"]), int(funds["reserveWei"])) == (gateway, deposit, reserve)
    shown = {o["address"]: o for o in data["orchestrators"]}
    sent = {o["address"]: o["ticketsSent"] for o in data["payments"]["orchestrators"]}
    for address, o in report.items():
        assert shown[address]["active"] is True and int(shown[address]["stake"]) > 0
        assert sent[address] >= o.sent  # the gateway's tallies: at least what its segments' records say


def test_an_orchestrator_down_loses_no_segment_and_its_redeemer_resumes_its_queue(
    onchain: LocalStack, api: Api
) -> None:
    stream = api.create_stream("failover")
    segments = segment_bytes("360p", n=4)
    first = api.push(stream["streamKey"], 0, segments[0])
    assert first.status_code == 202, first.text
    chosen = first.json()["orchestrator"]
    name = next(o.name for o in onchain.orchestrators if onchain.address_of(o.name) == chosen)
    onchain.stop_stage(name)  # its intake and its redeemer go down, its queue stays
    try:
        for seq in range(1, len(segments)):
            response = api.push(stream["streamKey"], seq, segments[seq])
            assert response.status_code == 202, response.text
            assert response.json()["orchestrator"] != chosen  # the other one took it
    finally:
        onchain.start_stage(name)
    _ready(api, stream, range(len(segments)))
    _check_books(onchain, wait_for_payments(onchain, timeout_s=90))
