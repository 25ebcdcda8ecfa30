"""Imports go one way (docs/architecture.md): handlers → wiring → domain → core; the worker shares payloads only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "chalicelib"

# Which capability packages each one may import (every package may import itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "auth": {"core"},
    "streams": {"core"},
    "jobs": {"core", "streams"},
    "segments": {"core", "jobs"},
    "dispatch": {"core", "jobs", "payments", "segments", "streams"},  # projections: only their shape, as a Protocol
    "ingest": {"core", "dispatch", "jobs", "payments", "segments", "streams"},
    "intake": {"core", "jobs", "payments"},
    "results": {"core", "jobs", "segments", "streams"},  # a settled segment moves its stream's counters
    "playback": {"core", "segments", "streams"},
    "chain": {"core"},
    "payments": {"chain", "core", "jobs", "streams"},
    "projections": {"chain", "core", "payments"},
    "webhooks": {"core", "streams"},  # subscriptions to streams' events; the rest reach it as streams.lifecycle
    # Sessions (opened and ended through streams.lifecycle's seam), VOD playlists from the ledger, the MP4's job.
    "recordings": {"core", "playback", "segments", "streams"},
    # The API's description: the payload models of every capability an operation reads or answers.
    "openapi": {
        "core",
        "dashboard",
        "ingest",
        "intake",
        "payments",
        "playback",
        "recordings",
        "segments",
        "streams",
        "webhooks",
    },
    # What the operator sees: the caller's streams, the ledger and tallies, health strikes, the chain's projections.
    "dashboard": {"core", "dispatch", "payments", "projections", "segments", "streams"},
}
# What the worker (a separate container) and the recorder may take from the library: payloads, names and the log.
# (and the job URL policy and its checked HTTP session: the worker enforces at connect time what the intake
# checked as written)
WORKER_MAY_IMPORT = ("chalicelib.jobs.models", "chalicelib.jobs.pixels", "chalicelib.jobs.urls",
                     "chalicelib.core.outbound", "chalicelib.streams.profiles", "chalicelib.core.resources",
                     "chalicelib.core.logs",
                     # The recorder (gpu_worker.recorder, the gateway's own process): its job and manifest.
                     "chalicelib.recordings.remux")  # fmt: skip


def imports(path: Path) -> set[str]:
    """The absolute module names a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def library_packages(names: set[str]) -> set[str]:
    return {n.split(".")[1] for n in names if n.startswith("chalicelib.") and n.count(".") >= 1}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package: str) -> None:
    for path in sorted((LIBRARY / package).glob("*.py")):
        used = library_packages(imports(path)) - {package}
        assert used <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(used - ALLOWED[package])}"


def test_every_package_has_its_place_in_the_layering() -> None:
    packages = {p.name for p in LIBRARY.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


def test_the_handlers_only_delegate() -> None:
    used = imports(ROOT / "app.py")
    assert not {n for n in used if n.split(".")[0] in ("boto3", "botocore", "web3", "av")}
    assert "chain" not in library_packages(used)


def test_the_worker_shares_payload_models_only() -> None:
    for path in sorted((ROOT / "gpu_worker").glob("*.py")):
        shared = {n for n in imports(path) if n.startswith("chalicelib")}
        assert shared <= set(WORKER_MAY_IMPORT), f"{path.name} imports {sorted(shared - set(WORKER_MAY_IMPORT))}"
