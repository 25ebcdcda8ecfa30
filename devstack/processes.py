"""The local stack's background processes: started with a log, recognised by their command line, stopped.

Every process is recorded (pid, command, log, URL) in the state file, so that ``down`` in another
process can stop it. A recorded pid counts as ours only while ``/proc/<pid>/cmdline`` still shows
the command we started: pids get reused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.net import wait_until

log = logging.getLogger("devstack.processes")


@dataclass(frozen=True)
class ProcessInfo:
    """A process the stack started, as ``status`` reports it."""

    name: str
    pid: int
    alive: bool
    url: str | None
    log: str


def is_running(entry: Mapping[str, Any]) -> bool:
    """Tell whether a recorded process still runs the command it was started with (a zombie does not)."""
    try:
        raw = Path(f"/proc/{int(entry['pid'])}/cmdline").read_bytes()
    except OSError:
        return False
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p] == list(entry["cmd"])


class Supervisor:
    """Starts processes into ``records`` (a part of the state), and stops what they name."""

    def __init__(self, logs_dir: Path, cwd: Path, records: dict[str, Any], changed: Callable[[], None]) -> None:
        self.logs_dir = logs_dir
        self.cwd = cwd
        self.records = records
        self._changed = changed
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, cmd: list[str], env: Mapping[str, str] | None = None, url: str | None = None) -> None:
        """Start ``cmd`` in its own session, logging to ``<logs_dir>/<name>.log``, with ``env`` added."""
        full_env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
        full_env.update(env or {})
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.cwd), full_env.get("PYTHONPATH", "")) if p)
        log_path = self.logs_dir / f"{name}.log"
        with log_path.open("ab") as out:
            child = subprocess.Popen(
                cmd,
                cwd=self.cwd,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._children[name] = child
        self.records[name] = {"pid": child.pid, "cmd": cmd, "log": str(log_path), "url": url}
        self._changed()

    def exited(self, name: str) -> str | None:
        """Say how a child started here ended, with its log's tail; None while it runs."""
        child = self._children.get(name)
        if child is None or child.poll() is None:
            return None
        tail = Path(self.records[name]["log"]).read_text(errors="replace")[-3000:]
        return f"{name} exited with {child.returncode}:\n{tail}"

    def wait_until(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        """Wait until ``ready()`` holds; fail early if the process dies."""
        wait_until(ready, timeout, name, lambda: self.exited(name))

    def stop_one(self, name: str, grace_s: float = 5.0) -> None:
        """Stop one recorded process (SIGTERM, then SIGKILL after ``grace_s``) and forget it."""
        self._terminate([name], grace_s)
        del self.records[name]
        self._changed()

    def stop(self, last: Collection[str] = (), grace_s: float = 5.0) -> None:
        """Stop every recorded process, ``last`` after the others: SIGTERM, then SIGKILL after ``grace_s``."""
        self._terminate([n for n in self.records if n not in last], grace_s)
        self._terminate([n for n in self.records if n in last], grace_s)
        self.records.clear()
        self._changed()

    def _terminate(self, group: list[str], grace_s: float) -> None:
        """SIGTERM every process of ``group``, then SIGKILL those still running after ``grace_s``; reap them."""
        for name in group:
            if is_running(self.records[name]):
                _signal(int(self.records[name]["pid"]), signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for name in group:
            if not self._gone(name, deadline):
                log.warning("%s did not stop: SIGKILL", name)
                _signal(int(self.records[name]["pid"]), signal.SIGKILL)
                # Not necessarily our child (``down`` runs in another process): wait it out.
                self._gone(name, time.monotonic() + 2)
            child = self._children.pop(name, None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(2)

    def _gone(self, name: str, deadline: float) -> bool:
        while is_running(self.records[name]):
            if time.monotonic() > deadline:
                return False
            child = self._children.get(name)
            if child is not None:
                child.poll()  # reaps it, so that it does not linger as a zombie
            time.sleep(0.05)
        return True

    def status(self) -> list[ProcessInfo]:
        """The recorded processes and whether each still runs."""
        return [
            ProcessInfo(name, int(e["pid"]), is_running(e), e.get("url"), str(e["log"]))
            for name, e in self.records.items()
        ]


def _signal(pid: int, signum: int) -> None:
    # Each process leads its own session: signal its group, so that its children stop too.
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
