"""The whole local stack (moto over HTTP, the gateway, two orchestrators and their workers), once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import LocalStack
from tests.support import moto_server, wait_for

__all__ = ["Api", "playlist_segments", "wait_for"]

# Short retry backoff and pending timeout so the failure paths finish within a test's patience.
STACK_ENV = {
    "LP_WORKER_RETRY_DELAY_S": "0.5",
    "LP_PENDING_TIMEOUT_S": "60",
    "LP_MISSING_TIMEOUT_S": "1",
}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's server in this process, on a free port, for one module's tests (the stack runs its own)."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("devstack")
    local = LocalStack.on_free_ports(state, extra_env=STACK_ENV)
    local.start()
    try:
        yield local
    finally:
        local.stop()
        _show_errors(local.logs_dir)


# Plain lines (moto, the front) and JSON lines (the app and the workers).
ERROR_MARKS = ("Traceback", " ERROR ", '"level":"ERROR"')


def _show_errors(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        lines = [line for line in text.splitlines() if any(m in line for m in ERROR_MARKS)]
        if lines:
            print(f"--- {log.name}: {len(lines)} error lines, first: {lines[0][:300]}")


@dataclass
class Api:
    """A client of the gateway's HTTP API, authenticated with the stack's dev API key."""

    base: str
    key: str
    http: requests.Session

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(path), headers=headers, timeout=30, **kwargs)

    def create_stream(self, name: str = "test", **fields: Any) -> dict[str, Any]:
        response = self.call("POST", "/stream", json={"name": name, **fields})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def push(self, stream_key: str, seq: int | str, body: bytes, **headers: str) -> requests.Response:
        name = f"{seq}.ts" if isinstance(seq, int) else seq
        return self.http.put(self.url(f"/live/{stream_key}/{name}"), data=body, headers=headers, timeout=60)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url(path), timeout=30)


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Api:
    return Api(stack.gateway_url, stack.api_key, requests.Session())


def playlist_segments(text: str) -> list[str]:
    """Return the segment URIs of a media playlist."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]
