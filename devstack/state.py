"""The local stack's state file: its config, one Ethereum key per stage, the dev API key, the processes.

It lives in ``<state_dir>/state.json`` (git-ignored), readable by the owner only: it holds private keys.
``down``, ``status`` and ``env`` run in later processes and find the stack there.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from eth_account import Account

STATE_FILE = "state.json"


def load(state_dir: Path) -> dict[str, Any]:
    """Return the saved state (empty when there is none)."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def save(state_dir: Path, state: dict[str, Any]) -> None:
    """Write the state atomically, mode 0600."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=".state-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=2, sort_keys=True)
        os.replace(tmp, state_dir / STATE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stage_key(state: dict[str, Any], stage: str) -> str:
    """Return the stage's Ethereum private key (``0x`` hex), creating and recording one on first use."""
    keys = state.setdefault("eth_keys", {})
    if stage not in keys:
        keys[stage] = "0x" + bytes(Account.create().key).hex()
    return str(keys[stage])


def address_of(private_key: str) -> str:
    """Return the checksummed address of a private key."""
    return str(Account.from_key(private_key).address)
