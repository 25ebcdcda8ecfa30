"""Sending a job: the weighted first choice, and failover over real HTTP when it cannot take it."""

from __future__ import annotations

import functools
import json
import random
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests
from eth_account import Account
from moto import mock_aws
from pydantic import SecretStr

from chalicelib.core.errors import Unavailable
from chalicelib.core.settings import OrchestratorEndpoint
from chalicelib.dispatch.candidates import healthy, on_chain_candidates
from chalicelib.dispatch.health import REST_MS, STRIKES_TO_REST, HealthBook
from chalicelib.dispatch.send import INTAKE_PATH, IntakeRefused, send
from chalicelib.jobs.signing import SIGNATURE_HEADER, sign_body, signer_of
from chalicelib.projections.models import OrchestratorView
from devstack.net import free_port


class _Intake(BaseHTTPRequestHandler):
    status = 202
    received: list[dict[str, object]]
    signatures: list[tuple[bytes, str | None]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "job": json.loads(body)})
        type(self).signatures.append((body, self.headers.get(SIGNATURE_HEADER)))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def _serve(status: int) -> tuple[ThreadingHTTPServer, type[_Intake]]:
    handler = type("Intake", (_Intake,), {"status": status, "received": [], "signatures": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


Intakes = dict[int, tuple[str, list[dict[str, object]]]]
_HANDLERS: dict[int, type[_Intake]] = {}  # the running intakes' handlers, by the status they answer


@pytest.fixture
def intakes() -> Iterator[Intakes]:
    servers = {status: _serve(status) for status in (202, 503, 422, 401, 403)}
    _HANDLERS.update({status: h for status, (_, h) in servers.items()})
    yield {status: (f"http://127.0.0.1:{s.server_address[1]}", h.received) for status, (s, h) in servers.items()}
    _HANDLERS.clear()
    for server, _ in servers.values():
        server.shutdown()


def _closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"


def _job(address: str) -> object:
    class Job:
        def wire(self) -> dict[str, str]:
            return {"orchestrator": address}

    return Job()


def test_an_unreachable_or_overloaded_orchestrator_is_skipped_for_the_next(intakes: Intakes) -> None:
    good_url, good_received = intakes[202]
    busy_url, busy_received = intakes[503]
    candidates = [
        OrchestratorEndpoint(address="0xdown", url=_closed_port(), stake=1),
        OrchestratorEndpoint(address="0xbusy", url=busy_url, stake=1),
        OrchestratorEndpoint(address="0xgood", url=good_url, stake=1),
    ]
    chosen = send(_job, candidates, preferred="0xdown", timeout_s=2, http=requests.Session(), rng=random.Random(3))
    assert chosen.address == "0xgood"
    assert good_received == [{"path": INTAKE_PATH, "job": {"orchestrator": "0xgood"}}]
    assert len(busy_received) in (0, 1)  # tried before the good one or not, by the draw


def test_a_job_refused_as_invalid_is_not_sent_elsewhere(intakes: Intakes) -> None:
    bad_url, _ = intakes[422]
    good_url, good_received = intakes[202]
    candidates = [
        OrchestratorEndpoint(address="0xbad", url=bad_url),
        OrchestratorEndpoint(address="0xgood", url=good_url),
    ]
    with pytest.raises(IntakeRefused):
        send(_job, candidates, preferred="0xbad", timeout_s=2, http=requests.Session(), rng=random.Random(1))
    assert good_received == []


def test_no_orchestrator_taking_the_job_is_a_503_naming_each_failure() -> None:
    candidates = [OrchestratorEndpoint(address="0xdown", url=_closed_port())]
    with pytest.raises(Unavailable) as caught:
        send(_job, candidates, preferred=None, timeout_s=1, http=requests.Session(), rng=random.Random(1))
    assert caught.value.code == "orchestrators_unavailable"
    assert "0xdown" in caught.value.details["tried"][0]


def test_the_job_is_signed_and_an_orchestrator_that_refuses_this_gateway_is_skipped(intakes: Intakes) -> None:
    key = Account.create()
    good_url, good_received = intakes[202]
    candidates = [
        OrchestratorEndpoint(address="0xunknown", url=intakes[401][0]),
        OrchestratorEndpoint(address="0xforbids", url=intakes[403][0]),
        OrchestratorEndpoint(address="0xgood", url=good_url),
    ]
    sign = functools.partial(sign_body, private_key=SecretStr(key.key.hex()))
    http = requests.Session()
    chosen = send(_job, candidates, preferred="0xunknown", timeout_s=2, http=http, rng=random.Random(5), sign=sign)
    assert chosen.address == "0xgood" and good_received == [{"path": INTAKE_PATH, "job": {"orchestrator": "0xgood"}}]
    assert len(_HANDLERS[401].received) == 1  # the preferred one, tried first: it does not know this gateway
    [(body, signature)] = _HANDLERS[202].signatures
    assert signature is not None and signer_of(body, signature) == key.address  # what the intake recovers


# --- health and bounded attempts ------------------------------------------------------------------


@pytest.fixture
def health(monkeypatch: pytest.MonkeyPatch) -> Iterator[HealthBook]:
    """The ``health`` table in moto's in-process DynamoDB."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name="us-east-1")
        table = ddb.create_table(
            TableName="health",
            KeySchema=[{"AttributeName": "address", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "address", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield HealthBook(table)


def test_a_failing_orchestrators_segments_all_land_elsewhere_and_none_is_lost(
    intakes: Intakes, health: HealthBook
) -> None:
    good_url, good_received = intakes[202]
    busy_url, busy_received = intakes[503]
    candidates = [
        OrchestratorEndpoint(address="0xbusy", url=busy_url, stake=1_000),  # drawn first nearly always
        OrchestratorEndpoint(address="0xgood", url=good_url, stake=1),
    ]
    rng, http = random.Random(11), requests.Session()
    for seq in range(40):
        now = 1_000_000 + seq * 100  # 4 s of segments: well inside the busy one's rest
        fit = healthy(candidates, health, now)
        chosen = send(_job, fit, preferred=None, timeout_s=2, http=http, rng=rng, health=health, now_ms=now)
        assert chosen.address == "0xgood"
    assert len(good_received) == 40  # every segment placed
    assert len(busy_received) == STRIKES_TO_REST  # then it rests, and is not asked again
    assert health.resting({"0xbusy", "0xgood"}, 1_004_000) == {"0xbusy"}
    assert health.resting({"0xbusy"}, 1_004_000 + REST_MS) == set()  # after its rest it is tried again
    health.clear("0xbusy")
    assert health.resting({"0xbusy"}, 1_004_000) == set()


def test_when_every_orchestrator_rests_they_are_all_still_tried(health: HealthBook) -> None:
    candidates = [OrchestratorEndpoint(address=f"0x{i}", url=_closed_port()) for i in range(2)]
    for _ in range(STRIKES_TO_REST):
        for c in candidates:
            health.strike(c.address, "timeout", 0)
    assert healthy(candidates, health, 1) == candidates


def test_a_segment_is_offered_to_at_most_max_attempts_orchestrators(intakes: Intakes) -> None:
    busy_url, busy_received = intakes[503]
    candidates = [OrchestratorEndpoint(address=f"0x{i}", url=busy_url) for i in range(5)]
    with pytest.raises(Unavailable) as caught:
        send(
            _job, candidates, preferred=None, timeout_s=2, http=requests.Session(), rng=random.Random(2), max_attempts=3
        )
    assert len(busy_received) == 3 and len(caught.value.details["tried"]) == 3


def test_on_chain_candidates_are_active_reachable_and_within_the_price() -> None:
    def listed(address: str, **changes: object) -> OrchestratorView:
        base = dict(address=address, stake=10, reward_cut=0, fee_share=0, service_uri=f"https://{address}.example",
                    price_per_unit=1, pixels_per_unit=1, active=True)  # fmt: skip
        return OrchestratorView.model_validate({**base, **changes})

    views = [
        listed("0xa"),
        listed("0xinactive", active=False),
        listed("0xnouri", service_uri=""),
        listed("0xdear", price_per_unit=11, pixels_per_unit=1),
        listed("0xunpriced", price_per_unit=0, pixels_per_unit=0),
        listed("0xfraction", price_per_unit=19, pixels_per_unit=2),  # 9.5 wei per pixel
    ]
    chosen = on_chain_candidates(views, Decimal(10))
    assert [(c.address, c.url, c.stake) for c in chosen] == [
        ("0xa", "https://0xa.example", 10),
        ("0xunpriced", "https://0xunpriced.example", 10),
        ("0xfraction", "https://0xfraction.example", 10),
    ]
