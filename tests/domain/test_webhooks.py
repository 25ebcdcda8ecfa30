"""Webhooks: Studio's API, signed deliveries checked by an independent verifier, retries on an injected clock.

Receivers are real HTTP servers on 127.0.0.1 (loopback allowed by this test's configuration, as the local
stack allows it); names are resolved by an injected resolver, so that a name can change its answer between a
webhook's creation and its delivery. The delivery handler runs against moto's tables, queue and KMS key; where
a test follows retries it holds the queued attempts itself and steps the clock, instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.logs import logger
from chalicelib.streams.lifecycle import sweep_idle
from chalicelib.streams.models import StreamCreate
from chalicelib.webhooks.delivery import AttemptInFlight, Deliverer, Outcome, deliver
from chalicelib.webhooks.emitter import WebhookEvents
from chalicelib.webhooks.models import Delivery
from chalicelib.webhooks.retry import MAX_ATTEMPTS
from devstack.net import free_port
from tests.domain.conftest import Stage, run_worker
from tests.domain.footage import tiny_segments
from tests.media import scrambled

T0 = 1_800_000_000_000  # the injected clock's start (ms)
PUBLIC_ADDRESS = "93.184.215.14"
SECRET = "my-shared-secret-of-32-characters"


# --- an independent verifier, written from the documented format ------------------------------------------


def signature_is_valid(header: str | None, raw_body: bytes, secret: str) -> bool:
    """``Livepeer-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, raw body)>``, checked in constant time."""
    if not header:
        return False
    fields = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or "v1" not in fields:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(fields["v1"], expected)


def signed_at(header: str) -> int:
    return int(dict(part.split("=", 1) for part in header.split(","))["t"])


# --- a receiver: a real HTTP server on loopback -----------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (then 200), optionally after a pause."""

    url: str
    script: list[int] = field(default_factory=list)
    pause_s: float = 0.0
    received: list[Received] = field(default_factory=list)

    def answer(self) -> int:
        return self.script.pop(0) if self.script else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/lp")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            if state.pause_s:
                threading.Event().wait(state.pause_s)
            status = state.answer()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# --- the clock, the resolver and the held queue -----------------------------------------------------------


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Resolver:
    """Answers from a table that a test may change; literal addresses resolve to themselves."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = dict(answers or {})

    def __call__(self, host: str, port: int) -> list[str]:
        if host in self.answers:
            return [self.answers[host]]
        if host.replace(".", "").isdigit():
            return [host]
        raise OSError(f"{host}: no such name")


@dataclass
class HeldQueue:
    """The delivery queue, held by the test: what was queued, and with which delay."""

    sent: list[tuple[Delivery, int]] = field(default_factory=list)

    def send(self, deliveries: Sequence[Delivery], delay_s: int = 0) -> None:
        self.sent.extend((d, delay_s) for d in deliveries)

    def take(self) -> tuple[Delivery, int]:
        return self.sent.pop(0)


@dataclass
class Hooks:
    """The stage with loopback receivers allowed, its resolver, clock and held queue."""

    stage: Stage
    resolver: Resolver
    clock: Clock
    queue: HeldQueue

    def create(self, url: str, events: list[str] | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "app", "url": url, "events": events or ["stream.started", "stream.idle"], **fields}
        response = self.stage.call("POST", "/webhook", body)
        assert response.status_code == 201, response.body
        created: dict[str, Any] = response.json_body
        return created

    def deliverer(self) -> Deliverer:
        return dataclasses.replace(self.stage.app.wiring.webhook_deliverer(), queue=self.queue, clock=self.clock)

    def deliver(self, delivery: Delivery) -> Outcome:
        return deliver(self.deliverer(), delivery)

    def emit(self, stream_id: str, event: str = "stream.started", key: str = "1", payload: Any = None) -> None:
        """Emit an event of one of the stage's streams into the held queue, as ingest or the sweep would."""
        record = self.stage.app.wiring.streams().find(stream_id)
        assert record is not None
        events = WebhookEvents(self.stage.app.wiring.webhooks(), lambda: self.queue)
        events.emit(record, event, payload or {}, key=key, at_ms=self.clock())

    def log(self, webhook_id: str) -> list[dict[str, Any]]:
        response = self.stage.call("GET", f"/webhook/{webhook_id}/log")
        assert response.status_code == 200, response.body
        entries: list[dict[str, Any]] = response.json_body
        return entries

    def queued(self) -> list[dict[str, Any]]:
        """The messages on the stage's real webhooks queue (taken off it)."""
        return self.stage.receive("webhooks")

    def deliver_queued(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Hand real queue messages to the app's delivery handler, as Lambda would."""
        event = self.stage.sqs_event("webhooks", messages)
        answer: dict[str, Any] = self.stage.client.lambda_.invoke("on_webhook_delivery", event).payload
        return answer


@pytest.fixture
def hooks(stage: Stage) -> Iterator[Hooks]:
    wiring = stage.app.wiring
    saved = wiring.resolver, wiring.clock
    resolver, clock = Resolver(), Clock()
    wiring.resolver = resolver
    stage.configure(webhook_allow_loopback=True)
    try:
        yield Hooks(stage, resolver, clock, HeldQueue())
    finally:
        wiring.resolver, wiring.clock = saved


def stream_of(stage: Stage, name: str = "hooked", **fields: Any) -> dict[str, Any]:
    return stage.create_stream(name, **fields)


# --- the API ----------------------------------------------------------------------------------------------


def test_a_webhook_is_created_read_listed_patched_replaced_and_deleted_in_studios_shape(
    hooks: Hooks, receiver: Receiver
) -> None:
    stage = hooks.stage
    created = hooks.create(receiver.url)
    assert set(created) == {"id", "name", "url", "events", "createdAt", "status", "sharedSecret"}
    assert created["events"] == ["stream.started", "stream.idle"] and created["status"] == {}
    assert len(created["sharedSecret"]) >= 32  # generated, shown this once
    shown = {k: v for k, v in created.items() if k != "sharedSecret"}
    assert stage.call("GET", f"/webhook/{created['id']}").json_body == shown
    listed = stage.call("GET", "/webhook", **{"Content-Type": "application/octet-stream"})
    assert listed.status_code == 200 and listed.json_body == [shown]

    stream = stream_of(stage)
    patched = stage.call("PATCH", f"/webhook/{created['id']}", {"name": "renamed", "streamId": stream["id"]})
    assert patched.status_code == 204
    now = stage.call("GET", f"/webhook/{created['id']}").json_body
    assert (now["name"], now["streamId"], now["url"]) == ("renamed", stream["id"], receiver.url)
    assert stage.call("PATCH", f"/webhook/{created['id']}", {"streamId": None}).status_code == 204
    assert "streamId" not in stage.call("GET", f"/webhook/{created['id']}").json_body

    replaced = stage.call(
        "PUT", f"/webhook/{created['id']}", {"name": "put", "url": receiver.url, "events": ["stream.idle"]}
    )
    assert replaced.status_code == 200
    assert {k: replaced.json_body[k] for k in ("name", "events")} == {"name": "put", "events": ["stream.idle"]}
    assert "sharedSecret" not in replaced.json_body

    assert stage.call("DELETE", f"/webhook/{created['id']}").status_code == 204
    for method, path in (("GET", ""), ("GET", "/log"), ("PATCH", ""), ("DELETE", "")):
        gone = stage.call(method, f"/webhook/{created['id']}{path}", {} if method == "PATCH" else None)
        assert (gone.status_code, gone.json_body["error"]["code"]) == (404, "webhook_not_found")
    assert stage.call("GET", "/webhook").json_body == []


def test_webhooks_need_the_api_key_and_another_owners_are_invisible(hooks: Hooks, receiver: Receiver) -> None:
    stage = hooks.stage
    mine = hooks.create(receiver.url)
    assert stage.call("GET", "/webhook", Authorization="Bearer nope").status_code == 401
    stage.app.wiring.apikeys().register("key-of-mallory", "mallory")
    theirs = {"Authorization": "Bearer key-of-mallory"}
    assert stage.call("GET", f"/webhook/{mine['id']}", **theirs).status_code == 404
    assert stage.call("GET", f"/webhook/{mine['id']}/log", **theirs).status_code == 404
    assert stage.call("DELETE", f"/webhook/{mine['id']}", **theirs).status_code == 404
    assert stage.call("GET", "/webhook", **theirs).json_body == []
    # Nor may a webhook filter on someone else's stream.
    their_stream = stage.app.wiring.streams().create(StreamCreate(name="theirs"), "mallory")
    refused = stage.call("POST", "/webhook", {"name": "x", "url": receiver.url, "events": ["stream.started"],
                                              "streamId": their_stream.id})  # fmt: skip
    assert (refused.status_code, refused.json_body["error"]["code"]) == (404, "stream_not_found")


@pytest.mark.parametrize(
    ("events", "code"),
    [
        (["stream.started", "stream.exploded"], "unknown_webhook_event"),
        (["asset.ready"], "unsupported_webhook_event"),  # Studio's, not emitted here
    ],
)
def test_unknown_events_are_refused_with_a_code(hooks: Hooks, receiver: Receiver, events: list[str], code: str) -> None:
    refused = hooks.stage.call("POST", "/webhook", {"name": "x", "url": receiver.url, "events": events})
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, code)
    assert hooks.stage.call("GET", "/webhook").json_body == []


@pytest.mark.parametrize(
    ("url", "code", "reason"),
    [
        ("not a url", "invalid_webhook_url", "url_scheme_not_allowed"),
        ("ftp://hooks.example.com/x", "invalid_webhook_url", "url_scheme_not_allowed"),
        ("http://user:pw@hooks.example.com/x", "invalid_webhook_url", "url_malformed"),
        ("http://hooks.example.com:99999/x", "invalid_webhook_url", "url_malformed"),
        ("http://169.254.169.254/latest/meta-data/", "webhook_url_not_allowed", "url_host_not_allowed"),
        ("http://10.1.2.3/x", "webhook_url_not_allowed", "url_host_not_allowed"),
        ("http://metadata.google.internal/x", "webhook_url_not_allowed", "url_host_not_allowed"),
        ("https://nowhere.example.com/x", "webhook_url_not_allowed", "url_unresolvable"),
    ],
)
def test_malformed_non_http_and_private_urls_are_refused_with_a_code(
    hooks: Hooks, url: str, code: str, reason: str
) -> None:
    refused = hooks.stage.call("POST", "/webhook", {"name": "x", "url": url, "events": ["stream.started"]})
    assert refused.status_code == 422
    assert (refused.json_body["error"]["code"], refused.json_body["error"]["reason"]) == (code, reason)


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.7"])
def test_a_name_resolving_to_loopback_metadata_or_private_addresses_is_refused_at_creation(
    hooks: Hooks, address: str
) -> None:
    hooks.stage.configure(webhook_allow_loopback=False)  # production's default
    hooks.resolver.answers["hooks.example.com"] = address
    refused = hooks.stage.call(
        "POST", "/webhook", {"name": "x", "url": "https://hooks.example.com/lp", "events": ["stream.started"]}
    )
    assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "webhook_url_not_allowed")
    assert address in refused.json_body["errors"][0]
    # And a PATCH cannot bring the URL in either.
    hooks.resolver.answers["ok.example.com"] = PUBLIC_ADDRESS
    created = hooks.create("https://ok.example.com/lp")
    patched = hooks.stage.call("PATCH", f"/webhook/{created['id']}", {"url": "https://hooks.example.com/lp"})
    assert (patched.status_code, patched.json_body["error"]["code"]) == (422, "webhook_url_not_allowed")


def test_loopback_receivers_are_refused_unless_the_stage_allows_them(hooks: Hooks, receiver: Receiver) -> None:
    hooks.stage.configure(webhook_allow_loopback=False)
    for url in (receiver.url, "http://localhost:9/x", "http://[::1]:9/x"):
        refused = hooks.stage.call("POST", "/webhook", {"name": "x", "url": url, "events": ["stream.started"]})
        assert (refused.status_code, refused.json_body["error"]["code"]) == (422, "webhook_url_not_allowed")
    # An exact origin may be allowed instead of loopback as a whole.
    origin = receiver.url.removesuffix("/hooks/lp")
    hooks.stage.configure(webhook_allow_loopback=False, webhook_allowed_origins=[origin])
    assert (
        hooks.stage.call("POST", "/webhook", {"name": "x", "url": receiver.url, "events": ["stream.idle"]}).status_code
        == 201
    )
    # Allowing loopback never allows private or link-local addresses.
    hooks.stage.configure(webhook_allow_loopback=True)
    refused = hooks.stage.call(
        "POST", "/webhook", {"name": "x", "url": "http://169.254.169.254/", "events": ["stream.idle"]}
    )
    assert refused.status_code == 422


def test_a_given_shared_secret_is_sealed_by_kms_and_never_shown_back(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.create(receiver.url, sharedSecret=SECRET)
    assert "sharedSecret" not in created
    item = aws.table(hooks.stage.name("webhooks")).get_item(Key={"id": created["id"]})["Item"]
    sealed = str(item["sealedSecret"])
    assert sealed.startswith("kms:") and SECRET not in json.dumps(item, default=str)
    # The sealed secret opens for its own webhook only (KMS checks the encryption context).
    sealer = hooks.stage.app.wiring.webhook_sealer()
    assert sealer.open(sealed, created["id"]) == SECRET
    with pytest.raises(Exception, match=r"webhook secrets cannot be sealed or opened"):
        sealer.open(sealed, "another-webhook")


# --- delivery: signatures, retries, refusals --------------------------------------------------------------


def test_an_event_is_posted_with_studios_body_and_a_signature_an_independent_verifier_accepts(
    hooks: Hooks, receiver: Receiver
) -> None:
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url, sharedSecret=SECRET)
    hooks.emit(stream["id"], "stream.started", key="session-1")
    [(delivery, delay)] = hooks.queue.sent
    hooks.queue.sent.clear()
    assert delay == 0 and delivery.attempt == 1
    outcome = hooks.deliver(delivery)
    assert (outcome.status, outcome.status_code) == ("delivered", 200)
    [got] = receiver.received
    assert got.path == "/hooks/lp" and got.headers["Content-Type"] == "application/json"
    assert signature_is_valid(got.headers["Livepeer-Signature"], got.body, SECRET)
    assert not signature_is_valid(got.headers["Livepeer-Signature"], got.body + b" ", SECRET)
    assert not signature_is_valid(got.headers["Livepeer-Signature"], got.body, "another secret")
    body = got.json()
    assert set(body) == {"id", "webhookId", "createdAt", "timestamp", "event", "stream", "payload"}
    assert (body["webhookId"], body["event"], body["createdAt"]) == (hook["id"], "stream.started", T0)
    assert body["timestamp"] == signed_at(got.headers["Livepeer-Signature"]) == T0
    assert body["stream"]["id"] == stream["id"] and body["payload"] == {}
    [entry] = hooks.log(hook["id"])
    assert entry["success"] is True and entry["response"]["status"] == 200 and entry["eventId"] == body["id"]
    assert hooks.stage.call("GET", f"/webhook/{hook['id']}").json_body["status"] == {"lastTriggeredAt": T0}


def test_a_receiver_failing_three_times_gets_the_event_again_with_the_same_id_on_a_5_10_20_s_backoff(
    hooks: Hooks, receiver: Receiver
) -> None:
    receiver.script = [500, 502, 503, 200]
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url, sharedSecret=SECRET)
    hooks.emit(stream["id"])
    outcomes, delays, due = [], [], []
    while hooks.queue.sent:
        delivery, delay = hooks.queue.take()
        delays.append(delay)
        hooks.clock.now = delivery.due_at  # the queue's delay has passed: no sleeping
        due.append(delivery.due_at - T0)
        outcomes.append(hooks.deliver(delivery).status)
    assert outcomes == ["retrying", "retrying", "retrying", "delivered"]
    assert delays == [0, 5, 10, 20]
    assert due == [0, 5_000, 15_000, 35_000]
    bodies = [r.json() for r in receiver.received]
    assert len({b["id"] for b in bodies}) == 1  # the same event id on every attempt: receivers de-duplicate
    assert [b["timestamp"] - T0 for b in bodies] == due
    assert all(signature_is_valid(r.headers["Livepeer-Signature"], r.body, SECRET) for r in receiver.received)
    log = hooks.log(hook["id"])  # newest first
    assert [(e["attempt"], e["success"], e["response"]["status"]) for e in log] == [
        (4, True, 200),
        (3, False, 503),
        (2, False, 502),
        (1, False, 500),
    ]
    assert [e["nextAttemptAt"] - T0 for e in log[1:]] == [35_000, 15_000, 5_000]
    status = hooks.stage.call("GET", f"/webhook/{hook['id']}").json_body["status"]
    assert status["lastTriggeredAt"] == T0 + 35_000
    assert status["lastFailure"]["statusCode"] == 503 and status["lastFailure"]["timestamp"] == T0 + 15_000


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_a_4xx_or_redirecting_receiver_is_not_retried(hooks: Hooks, receiver: Receiver, status: int) -> None:
    receiver.script = [status]
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url)
    hooks.emit(stream["id"])
    outcome = hooks.deliver(hooks.queue.take()[0])
    assert (outcome.status, outcome.status_code, hooks.queue.sent) == ("failed", status, [])
    assert len(receiver.received) == 1  # a redirect is not followed
    [entry] = hooks.log(hook["id"])
    assert entry["success"] is False and "nextAttemptAt" not in entry and str(status) in entry["error"]


def test_a_network_error_is_retried(hooks: Hooks) -> None:
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}/nobody-listens"
    stream = stream_of(hooks.stage)
    hook = hooks.create(closed)
    hooks.emit(stream["id"])
    outcome = hooks.deliver(hooks.queue.take()[0])
    assert (outcome.status, outcome.status_code) == ("retrying", None)
    [(again, delay)] = hooks.queue.sent
    assert (again.attempt, delay, again.due_at) == (2, 5, T0 + 5_000)
    [entry] = hooks.log(hook["id"])
    assert "ConnectionError" in entry["error"] and "response" not in entry


def test_a_receiver_slower_than_the_timeout_is_retried(hooks: Hooks, receiver: Receiver) -> None:
    hooks.stage.configure(webhook_allow_loopback=True, webhook_timeout_s=0.2)
    receiver.pause_s = 1.0
    stream = stream_of(hooks.stage)
    hooks.create(receiver.url)
    hooks.emit(stream["id"])
    assert hooks.deliver(hooks.queue.take()[0]).status == "retrying"


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.7"])
def test_a_name_rebound_to_a_forbidden_address_after_creation_is_refused_at_delivery(
    hooks: Hooks, receiver: Receiver, address: str
) -> None:
    hooks.stage.configure(webhook_allow_loopback=False)
    port = receiver.url.split(":")[2].split("/")[0]
    hooks.resolver.answers["hooks.example.com"] = PUBLIC_ADDRESS
    stream = stream_of(hooks.stage)
    hook = hooks.create(f"http://hooks.example.com:{port}/hooks/lp")
    hooks.resolver.answers["hooks.example.com"] = address  # DNS changed since
    hooks.emit(stream["id"])
    outcome = hooks.deliver(hooks.queue.take()[0])
    assert (outcome.status, hooks.queue.sent, receiver.received) == ("failed", [], [])
    [entry] = hooks.log(hook["id"])
    assert entry["error"].startswith("url_host_not_allowed") and address in entry["error"]


def test_a_redelivered_attempt_posts_once_and_is_logged_once(hooks: Hooks, receiver: Receiver) -> None:
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url)
    hooks.emit(stream["id"])
    delivery = hooks.queue.take()[0]
    assert hooks.deliver(delivery).status == "delivered"
    assert hooks.deliver(delivery).status == "duplicate"  # SQS delivered the same message again
    assert len(receiver.received) == 1 and len(hooks.log(hook["id"])) == 1


def test_an_attempt_left_by_a_stopped_handler_is_taken_over_after_the_timeout_and_retried(
    hooks: Hooks, receiver: Receiver
) -> None:
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url)
    hooks.emit(stream["id"])
    delivery = hooks.queue.take()[0]
    # A handler claimed the attempt and stopped (a crash, a Lambda timeout) before closing it.
    hooks.stage.app.wiring.webhook_log().claim(hook["id"], delivery.event_id, 1, "the-stopped-one", T0)
    hooks.clock.now = T0 + 10_000
    with pytest.raises(AttemptInFlight):  # it might still be posting: the message comes back later
        hooks.deliver(delivery)
    hooks.clock.now = T0 + 60_000
    outcome = hooks.deliver(delivery)
    assert outcome.status == "retrying" and receiver.received == []  # whether it posted is unknown: try again
    [(following, _)] = hooks.queue.sent
    assert following.attempt == 2 and following.event_id == delivery.event_id
    [entry] = hooks.log(hook["id"])
    assert entry["error"].startswith("interrupted")


def test_backoffs_over_15_minutes_hop_through_sqs_and_wait_out_the_rest(hooks: Hooks, receiver: Receiver) -> None:
    receiver.script = [500]
    stream = stream_of(hooks.stage)
    hooks.create(receiver.url)
    hooks.emit(stream["id"])
    ninth = hooks.queue.take()[0].model_copy(update={"attempt": 9})
    assert hooks.deliver(ninth).status == "retrying"
    tenth, delay = hooks.queue.take()
    assert (tenth.due_at - T0, delay) == (1_280_000, 900)  # 5 × 2^8 s; SQS delays 900 s at most
    hooks.clock.now = T0 + 900_000  # it arrives early: put back for the time left
    assert hooks.deliver(tenth).status == "postponed"
    again, delay = hooks.queue.take()
    assert (again, delay) == (tenth, 380)
    hooks.clock.now = tenth.due_at
    assert hooks.deliver(again).status == "delivered" and len(receiver.received) == 2


def test_delivery_gives_up_after_the_last_attempt_and_says_so(hooks: Hooks, receiver: Receiver) -> None:
    receiver.script = [500]
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url)
    hooks.emit(stream["id"])
    last = hooks.queue.take()[0].model_copy(update={"attempt": MAX_ATTEMPTS})
    assert hooks.deliver(last).status == "gave_up" and hooks.queue.sent == []
    [entry] = hooks.log(hook["id"])
    assert entry["gaveUp"] is True and entry["attempt"] == MAX_ATTEMPTS


def test_a_deleted_webhook_gets_no_more_deliveries(hooks: Hooks, receiver: Receiver) -> None:
    stream = stream_of(hooks.stage)
    hook = hooks.create(receiver.url)
    hooks.emit(stream["id"])
    assert hooks.stage.call("DELETE", f"/webhook/{hook['id']}").status_code == 204
    assert hooks.deliver(hooks.queue.take()[0]).status == "dropped" and receiver.received == []


def test_the_secret_never_appears_in_logs_or_answers(
    hooks: Hooks, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    written = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(written)
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    try:
        receiver.script = [500]
        stream = stream_of(hooks.stage)
        hook = hooks.create(receiver.url, sharedSecret=SECRET)
        generated = hooks.create(receiver.url)
        hooks.emit(stream["id"])
        for delivery, _ in list(hooks.queue.sent):
            hooks.deliver(delivery)
        answers = [
            hooks.stage.call("GET", "/webhook").body,
            hooks.stage.call("GET", f"/webhook/{hook['id']}").body,
            hooks.stage.call("GET", f"/webhook/{hook['id']}/log").body,
            hooks.stage.call("GET", f"/webhook/{generated['id']}/log").body,
        ]
    finally:
        handler.setStream(previous)
    logged = written.getvalue() + caplog.text
    assert "webhook attempt" in logged  # the deliveries were logged...
    for secret in (SECRET, generated["sharedSecret"]):
        assert secret not in logged  # ...without the secrets
        assert not any(secret.encode() in answer for answer in answers)
    assert receiver.url not in logged  # a URL may carry a token: only its host is logged


# --- events: which are emitted, once, to whom -------------------------------------------------------------


def test_the_first_segment_emits_stream_started_and_recording_started_delivered_through_the_queue(
    hooks: Hooks, receiver: Receiver
) -> None:
    stage = hooks.stage
    hook = hooks.create(receiver.url, ["stream.started", "recording.started"], sharedSecret=SECRET)
    stream = stream_of(stage, "recorded", record=True)
    segments = tiny_segments(2)
    assert stage.push(stream["streamKey"], 0, segments[0]).status_code == 202
    assert stage.push(stream["streamKey"], 1, segments[1]).status_code == 202  # already active: nothing new
    assert stage.push(stream["streamKey"], 0, segments[0]).status_code == 202  # a repeated push: nothing new
    messages = hooks.queued()
    assert len(messages) == 2
    assert hooks.deliver_queued(messages) == {"batchItemFailures": []}
    bodies = sorted((r.json() for r in receiver.received), key=lambda b: str(b["event"]))
    assert [b["event"] for b in bodies] == ["recording.started", "stream.started"]
    assert all(signature_is_valid(r.headers["Livepeer-Signature"], r.body, SECRET) for r in receiver.received)
    assert all(b["stream"]["id"] == stream["id"] and b["stream"]["isActive"] is True for b in bodies)
    assert all(b["webhookId"] == hook["id"] for b in bodies)
    assert len(hooks.log(hook["id"])) == 2


def test_a_stream_going_idle_emits_stream_idle_once_and_its_next_segment_a_new_stream_started(hooks: Hooks) -> None:
    stage = hooks.stage
    stream = stream_of(stage)
    hooks.create("http://127.0.0.1:9/unused")
    segments = tiny_segments(2)
    assert stage.push(stream["streamKey"], 0, segments[0]).status_code == 202
    stage.configure(webhook_allow_loopback=True, stream_idle_after_s=0)
    tick = stage.client.events.generate_cw_event("aws.events", "Scheduled Event", {}, ["arn:aws:events:rule/sweep"])
    stage.client.lambda_.invoke("sweep_idle_streams", tick)
    stage.client.lambda_.invoke("sweep_idle_streams", tick)  # a second sweep finds it idle already
    assert sweep_idle(stage.app.wiring.streams(), stage.app.wiring.stream_events(), 10**13, 0) == []
    assert stage.push(stream["streamKey"], 1, segments[1]).status_code == 202  # live again: a new session
    events = [json.loads(m["Body"]) for m in hooks.queued()]
    assert sorted(e["event"] for e in events) == ["stream.idle", "stream.started", "stream.started"]
    [idle] = [e for e in events if e["event"] == "stream.idle"]
    assert idle["stream"]["isActive"] is False and idle["streamId"] == stream["id"]
    assert len({e["eventId"] for e in events}) == 3  # each transition is its own event


def test_events_go_only_to_the_owners_webhooks_that_subscribe_to_them(hooks: Hooks, receiver: Receiver) -> None:
    stage = hooks.stage
    stream, other = stream_of(stage, "one"), stream_of(stage, "other")
    everything = hooks.create(receiver.url, ["stream.started", "stream.idle"])
    this_stream = hooks.create(receiver.url, ["stream.started"], streamId=stream["id"])
    hooks.create(receiver.url, ["stream.started"], streamId=other["id"])  # another stream
    hooks.create(receiver.url, ["stream.idle"])  # another event
    stage.app.wiring.apikeys().register("key-of-mallory", "mallory")
    theirs = {"Authorization": "Bearer key-of-mallory"}
    body = {"name": "x", "url": receiver.url, "events": ["stream.started"]}
    assert stage.call("POST", "/webhook", body, **theirs).status_code == 201  # another owner
    hooks.emit(stream["id"], "stream.started")
    assert sorted(d.webhook_id for d, _ in hooks.queue.sent) == sorted([everything["id"], this_stream["id"]])
    assert len({d.event_id for d, _ in hooks.queue.sent}) == 1


def test_the_same_transition_reported_twice_is_the_same_event(hooks: Hooks, receiver: Receiver) -> None:
    stream = stream_of(hooks.stage)
    hooks.create(receiver.url)
    hooks.emit(stream["id"], key="1000")
    hooks.emit(stream["id"], key="1000")
    hooks.emit(stream["id"], key="9000")  # a later session
    ids = [d.event_id for d, _ in hooks.queue.sent]
    assert ids[0] == ids[1] != ids[2]


def test_no_webhook_no_message_and_a_failing_queue_never_fails_the_segment(hooks: Hooks) -> None:
    stage = hooks.stage
    stream = stream_of(stage)
    segment = tiny_segments(1)[0]
    assert stage.push(stream["streamKey"], 0, segment).status_code == 202
    assert hooks.queued() == []  # nobody subscribed: nothing sent
    hooks.create("http://127.0.0.1:9/unused")
    aws.sqs().delete_queue(QueueUrl=stage.queue_url("webhooks"))
    other = stream_of(stage, "second")
    assert stage.push(other["streamKey"], 0, segment).status_code == 202


def test_a_segment_that_failed_for_good_emits_transcode_failed_with_the_reason(
    hooks: Hooks, receiver: Receiver
) -> None:
    stage = hooks.stage
    hooks.create(receiver.url, ["transcode.failed"])
    stream = stream_of(stage, "undecodable")
    assert stage.push(stream["streamKey"], 0, scrambled(tiny_segments()[0])).status_code == 202
    run_worker(stage)  # three failed attempts, the last final
    assert stage.deliver_results() == {"batchItemFailures": []}
    [message] = hooks.queued()
    failed = json.loads(message["Body"])
    assert failed["event"] == "transcode.failed" and failed["streamId"] == stream["id"]
    assert failed["payload"]["seq"] == 0 and failed["payload"]["code"] == "undecodable_source"
    assert failed["payload"]["reason"] and failed["payload"]["attempts"] == 3
    assert hooks.deliver_queued([message]) == {"batchItemFailures": []}
    assert receiver.received[0].json()["payload"] == failed["payload"]
