"""Ports and liveness checks shared by the local stack, the tests and the benchmarks."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def endpoint_answers(url: str, timeout: float = 1.0) -> bool:
    """Tell whether anything answers HTTP at ``url`` (any status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until(ready: Callable[[], bool], timeout: float, what: str, gave_up: Callable[[], str | None]) -> None:
    """Poll ``ready`` until it holds; raise once ``gave_up`` names a reason (a process died) or time runs out."""
    deadline = time.monotonic() + timeout
    while not ready():
        if (reason := gave_up()) is not None:
            raise RuntimeError(f"{what}: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not answer within {timeout:.0f} s")
        time.sleep(0.1)
