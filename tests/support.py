"""Small helpers every test folder uses: waiting for a condition, loading a test app from its file."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

PUMP_APP = Path(__file__).resolve().parent / "integration" / "pump_app" / "app.py"


def wait_for(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def load_module(path: Path, name: str) -> ModuleType:
    """Import the file ``path`` as a fresh module called ``name`` (each caller gets its own state)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in this process on a free port (real HTTP, as the stack's processes reach it); yield its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
