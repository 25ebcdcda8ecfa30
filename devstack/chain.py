"""The local chain: Anvil from npm, and the protocol contracts built and deployed on it.

One launcher for the local stack (whose supervisor runs ``anvil_command``), the contract tests and
the gas benchmark (``with anvil(extra_args) as url: ...``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devstack.net import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent


def anvil_binary() -> Path:
    """Return the platform's Anvil binary that npm installed as an optional dependency."""
    # Not node_modules/.bin/anvil: that node shim's command line would not match what the state
    # file records, so `down` could not recognise the process.
    found = sorted((REPO_ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if not found:
        raise RuntimeError("Anvil is not installed under node_modules/@foundry-rs: run `make deps`")
    return found[0]


#: Recent block states Anvil keeps (in memory). Without a limit it writes every older state to
#: ~/.foundry/anvil/tmp and never deletes it: about 5 GB for one contract-test session, and without end for
#: a local stack that mines a block a second. Calls at the latest blocks are all the code makes.
HISTORY_STATES = 256


def anvil_command(port: int, host: str = "127.0.0.1", extra_args: Sequence[str] = ()) -> list[str]:
    """Return the command line of an Anvil serving JSON-RPC on ``host:port``."""
    return [
        str(anvil_binary()),
        "--host",
        host,
        "--port",
        str(port),
        "--silent",
        "--prune-history",
        str(HISTORY_STATES),
        *extra_args,
    ]


def rpc(url: str, method: str, *params: Any, timeout: float = 10.0) -> Any:
    """Call one JSON-RPC method and return its result (``RuntimeError`` on an error answer)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        reply = json.loads(answer.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def answers_rpc(url: str) -> bool:
    """Tell whether a node answers JSON-RPC at ``url``."""
    try:
        rpc(url, "eth_chainId", timeout=0.5)
        return True
    except (OSError, ValueError, RuntimeError):
        return False


@contextmanager
def anvil(extra_args: Sequence[str] = (), host: str = "127.0.0.1") -> Iterator[str]:
    """Run an Anvil of this process's own on a free port, and yield its URL once it answers JSON-RPC."""
    port = free_port(host)
    url = f"http://{host}:{port}"
    out = subprocess.DEVNULL
    process = subprocess.Popen(anvil_command(port, host, extra_args), stdin=out, stdout=out, stderr=out)

    def exited() -> str | None:
        return None if process.poll() is None else f"exited with {process.returncode}"

    try:
        wait_until(lambda: answers_rpc(url), 30, f"anvil at {url}", exited)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")


def build_contracts() -> None:
    """Compile the contracts with solcjs (a no-op while the sources' hash is unchanged)."""
    _run(["node", str(REPO_ROOT / "contracts" / "build.mjs")])


def deploy_protocol(url: str, out: Path) -> None:
    """Build and deploy the protocol to the node at ``url`` (a block per transaction) and write the
    deployment to ``out``."""
    build_contracts()
    _run([sys.executable, "-m", "contracts.deploy", "--rpc", url, "--out", str(out)])


def mine_every_second(url: str) -> None:
    """From now on also mine a block a second, so that rounds (roundLength blocks) advance while the stack
    idles, as on a real chain."""
    rpc(url, "evm_setIntervalMining", 1)
