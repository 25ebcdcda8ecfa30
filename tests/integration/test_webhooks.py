"""Webhooks on the local stack: a real receiver on loopback hears stream.started and stream.idle, signed.

The stack is this module's own (one orchestrator, no workers: the events come from ingest and the idle
sweep, not from transcoding), with the idle sweep firing every second and streams idle after 5 s (long enough
that a busy machine's two pushes in a row never look like two sessions). The
receiver's exact origin is allowed explicitly, and loopback as a whole is not: the policy the test runs under
is the narrowest that lets it work.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import LocalStack
from tests.domain.footage import tiny_segments
from tests.integration.conftest import Api, wait_for


def signature_is_valid(header: str, raw_body: bytes, secret: str) -> bool:
    """``t=<ms>,v1=<hex HMAC-SHA256(secret, raw body)>``, recomputed from the documented format."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return fields.get("t", "").isdigit() and hmac.compare_digest(fields.get("v1", ""), expected)


class Receiver(ThreadingHTTPServer):
    """An app's webhook endpoint: keeps every POST (headers and raw body) and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/webhooks/livepeer"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def hooked_api(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Api]:
    origin = receiver.url.removesuffix("/webhooks/livepeer")
    env = {
        "LP_STREAM_IDLE_AFTER_S": "5",
        "LP_WEBHOOK_ALLOW_LOOPBACK": "false",
        "LP_WEBHOOK_ALLOWED_ORIGINS": json.dumps([origin]),
    }
    stack = LocalStack.on_free_ports(
        tmp_path_factory.mktemp("webhooks"), ("orch-a",), workers=False, schedule_every=1.0, extra_env=env
    )
    with stack:
        yield Api(stack.gateway_url, stack.api_key, requests.Session())


def test_the_local_stack_allows_loopback_receivers_by_its_own_explicit_setting(tmp_path: Path) -> None:
    stack = LocalStack.on_free_ports(tmp_path, ())
    assert stack.env_for("dev")["LP_WEBHOOK_ALLOW_LOOPBACK"] == "true"  # the app's default is false


def test_a_receiver_hears_stream_started_then_stream_idle_signed_and_the_log_shows_both(
    hooked_api: Api, receiver: Receiver
) -> None:
    api = hooked_api
    made = api.call("POST", "/webhook", json={"name": "my app", "url": receiver.url,
                                             "events": ["stream.started", "stream.idle"]})  # fmt: skip
    assert made.status_code == 201, made.text
    hook, secret = made.json(), made.json()["sharedSecret"]
    assert "sharedSecret" not in api.call("GET", f"/webhook/{hook['id']}").json()

    stream = api.create_stream("webhooked")
    for seq, segment in enumerate(tiny_segments(2)):
        assert api.push(stream["streamKey"], seq, segment).status_code == 202
    wait_for(lambda: [e for e in receiver.events() if e["event"] == "stream.idle"], 30, what="stream.idle")

    assert [e["event"] for e in receiver.events()] == ["stream.started", "stream.idle"]
    for headers, body in receiver.received:
        assert signature_is_valid(headers["Livepeer-Signature"], body, secret)
    started, idle = receiver.events()
    assert started["stream"]["id"] == idle["stream"]["id"] == stream["id"]
    assert started["webhookId"] == hook["id"] and started["id"] != idle["id"]
    assert idle["stream"]["isActive"] is False
    assert api.call("GET", f"/stream/{stream['id']}").json()["isActive"] is False

    log = api.call("GET", f"/webhook/{hook['id']}/log").json()
    assert [(e["event"], e["response"]["status"], e["success"]) for e in log] == [
        ("stream.idle", 200, True),
        ("stream.started", 200, True),
    ]
    assert [e["eventId"] for e in log] == [idle["id"], started["id"]]
    assert all(e["duration"] >= 0 and e["createdAt"] > 0 for e in log)
