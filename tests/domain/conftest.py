"""In-process tests of the domain packages: moto's ``mock_aws`` and ``chalice.test.Client``, no subprocess.

One stage, ``unit``, plays both roles (gateway and orchestrator), so a pushed segment goes through the
gateway's ingest and dispatch into the same app's orchestrator intake (``ChaliceAdapter``), onto its
jobs queue, through the real worker and back through the results handler, all in this process.
"""

from __future__ import annotations

import importlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from chalice.test import Client, HTTPResponse
from eth_account import Account
from moto import mock_aws

from chalicelib.core import aws
from chalicelib.core.settings import settings
from chalicelib.jobs.models import TranscodeResult
from devstack.aws import provision
from gpu_worker.encoders import libx264
from gpu_worker.worker import JobQueue, Worker
from tests.domain.inprocess import ChaliceAdapter

STAGE = "unit"
ROLES = ("gateway", "orchestrator")
ORCHESTRATOR_KEY = "0x" + "4c" * 32
ORCHESTRATOR = Account.from_key(ORCHESTRATOR_KEY).address
ORCHESTRATOR_URL = "http://orchestrator.test"
STAGE_ENV = {
    "LP_STAGE": STAGE,
    "LP_ROLES": json.dumps(list(ROLES)),
    "LP_ETH_PRIVATE_KEY": ORCHESTRATOR_KEY,
    "LP_ORCHESTRATORS": json.dumps([{"address": ORCHESTRATOR, "url": ORCHESTRATOR_URL}]),
    # The stage is its own gateway: its intake takes the jobs its key signs.
    "LP_ALLOWED_GATEWAYS": json.dumps([ORCHESTRATOR]),
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Unset, so that boto3 aims at AWS's own endpoints, which mock_aws intercepts.
UNSET = ("AWS_ENDPOINT_URL", "AWS_PROFILE")


@pytest.fixture(scope="session")
def app_module() -> Iterator[ModuleType]:
    """``app.py`` imported with the ``unit`` stage's environment (the app names its queues at import)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in STAGE_ENV.items():
            env.setenv(name, value)
        for name in UNSET:
            env.delenv(name, raising=False)
        settings.cache_clear()
        yield importlib.import_module("app")
    settings.cache_clear()


@pytest.fixture
def mocked_aws(app_module: ModuleType) -> Iterator[None]:
    """A fresh in-process AWS with the stage's buckets, tables and queues from resources.json.

    The app's cached boto3 clients stay: moto intercepts every client made after it was imported,
    whenever a mock is active, and a new mock starts from empty state.
    """
    with mock_aws():
        provision(STAGE, ROLES, None)
        yield


@dataclass
class Stage:
    """The app under test, its chalice test client, and shortcuts to what it stores."""

    app: ModuleType
    client: Client
    api_key: str

    def configure(self, **changes: Any) -> None:
        """Run the app with some settings changed (for this test only)."""
        current = settings()
        changed = type(current).model_validate({**current.model_dump(), **changes})
        self.app.wiring.settings_source = lambda: changed

    # --- HTTP, as a client of the API would call it
    def call(self, method: str, path: str, body: Any = None, **headers: str) -> HTTPResponse:
        data = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        if body is not None and not isinstance(body, bytes):
            headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Authorization", f"Bearer {self.api_key}")
        return self.client.http.request(method, path, headers=headers, body=data)

    def create_stream(self, name: str = "test", **fields: Any) -> dict[str, Any]:
        response = self.call("POST", "/stream", {"name": name, **fields})
        assert response.status_code == 201, response.body
        created: dict[str, Any] = response.json_body
        return created

    def push(self, stream_key: str, name: str | int, body: bytes, **headers: str) -> HTTPResponse:
        headers.setdefault("Content-Type", "video/mp2t")
        path = f"/live/{stream_key}/{name}.ts" if isinstance(name, int) else f"/live/{stream_key}/{name}"
        return self.client.http.request("PUT", path, headers=headers, body=body)

    def get(self, path: str, **headers: str) -> HTTPResponse:
        # Players send Accept: */*; without it Chalice refuses a binary (video/mp2t) response.
        headers.setdefault("Accept", "*/*")
        return self.client.http.get(path, headers=headers)

    # --- what the stage stores
    def name(self, logical: str) -> str:
        return settings().name(logical)

    def queue_url(self, logical: str) -> str:
        return aws.queue_url(self.name(logical))

    def receive(self, logical: str, max_messages: int = 10) -> list[dict[str, Any]]:
        """Take every message waiting on one of the stage's queues."""
        taken: list[dict[str, Any]] = []
        while True:
            got = aws.sqs().receive_message(
                QueueUrl=self.queue_url(logical),
                MaxNumberOfMessages=max_messages,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            if not got.get("Messages"):
                return taken
            taken.extend(dict(m) for m in got["Messages"])

    def sqs_event(self, logical: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The Lambda SQS event Lambda would build from received messages."""
        event = self.client.events.generate_sqs_event([m["Body"] for m in messages], self.name(logical))
        for record, message in zip(event["Records"], messages, strict=True):
            record["messageId"] = message["MessageId"]
            record["receiptHandle"] = message["ReceiptHandle"]
        return event

    def deliver_results(self) -> dict[str, Any]:
        """Hand whatever is on the results queue (S3 notifications) to the results handler."""
        messages = self.receive("results")
        if not messages:
            return {"batchItemFailures": []}
        answer: dict[str, Any] = self.client.lambda_.invoke("on_result", self.sqs_event("results", messages)).payload
        return answer

    def media(self, key: str) -> bytes:
        return aws.s3().get_object(Bucket=self.name("media"), Key=key)["Body"].read()

    def put_media(self, key: str, body: bytes) -> None:
        aws.s3().put_object(Bucket=self.name("media"), Key=key, Body=body)

    def segment(self, stream_id: str, seq: int) -> dict[str, Any] | None:
        item = aws.table(self.name("segments")).get_item(Key={"streamId": stream_id, "seq": seq}).get("Item")
        return None if item is None else dict(item)


@pytest.fixture
def stage(app_module: ModuleType, mocked_aws: None, tmp_path: Path) -> Iterator[Stage]:
    """The ``unit`` stage on a fresh in-process AWS, with an API key and its intake reachable in-process."""
    # An empty project folder: chalice.test would otherwise apply .chalice/config.json's dev stage.
    client = Client(app_module.app, stage_name=STAGE, project_dir=str(tmp_path))
    wiring = app_module.wiring
    saved = wiring.http, wiring.rng, wiring.settings_source
    wiring.http = requests.Session()
    wiring.http.mount(ORCHESTRATOR_URL, ChaliceAdapter(app_module.app, client))
    wiring.rng = random.Random(7)
    key = "test-key-" + os.urandom(6).hex()
    wiring.apikeys().register(key, "tester")
    try:
        yield Stage(app_module, client, key)
    finally:
        wiring.http, wiring.rng, wiring.settings_source = saved


def run_worker(stage: Stage) -> list[TranscodeResult]:
    """Run the real worker over every job waiting on the stage's jobs queue; return the results."""
    queue = JobQueue(aws.sqs(), stage.queue_url("jobs"))
    worker = Worker(queue, libx264("ultrafast"), requests.Session(), wait_time_s=0, retry_delay_s=0, worker_id="unit")
    results = []
    while (message := queue.receive(0)) is not None:
        result = worker.handle(message)
        if result is not None:
            results.append(result)
    return results
