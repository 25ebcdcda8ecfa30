"""Sending a job: the weighted first choice, and failover over real HTTP when it cannot take it."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from chalicelib.core.errors import Unavailable
from chalicelib.core.settings import OrchestratorEndpoint
from chalicelib.dispatch.send import INTAKE_PATH, IntakeRefused, send
from devstack.net import free_port


class _Intake(BaseHTTPRequestHandler):
    status = 202
    received: list[dict[str, object]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "job": json.loads(body)})
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def _serve(status: int) -> tuple[ThreadingHTTPServer, list[dict[str, object]]]:
    handler = type("Intake", (_Intake,), {"status": status, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler.received


Intakes = dict[int, tuple[str, list[dict[str, object]]]]


@pytest.fixture
def intakes() -> Iterator[Intakes]:
    servers = {status: _serve(status) for status in (202, 503, 422)}
    yield {status: (f"http://127.0.0.1:{s.server_address[1]}", got) for status, (s, got) in servers.items()}
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
