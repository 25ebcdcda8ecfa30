"""Open the app's dashboard (``/dashboard``) in headless Chromium, enter an API key, and get a report back.

A thin wrapper around ``tests/browser/dashboard_page.mjs`` (Chromium and node as for :mod:`tests.browser.player`)::

    report = open_dashboard(f"{base}/dashboard", key, stream_id=..., orchestrator=..., out=tmp_path)
    assert report.ok, report.summary()
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.player import PlayerProbeError, browser_unavailable_reason, inner_timeout, run_probe

SCRIPT = Path(__file__).resolve().parent / "dashboard_page.mjs"


@dataclass
class DashboardReport:
    """What the page showed at each step (the script's JSON views), the URLs it asked for, screenshots, errors."""

    ok: bool
    locked: dict[str, Any] | None  # before a key: the form
    refused: dict[str, Any] | None  # after a wrong key: the form again, with the code
    shown: dict[str, Any] | None  # after the right key: the tables and the plot
    refreshed: dict[str, Any] | None  # the next refresh
    requests: list[str]
    key_in_any_url: bool | None
    screenshots: list[Path]
    page_errors: list[str]
    probe_error: str | None
    exit_code: int
    raw: dict[str, Any] = field(repr=False)
    stderr: str = field(default="", repr=False)

    def summary(self) -> str:
        """The report for an assertion message, with the probe's stderr tail."""
        shown = {k: self.raw.get(k) for k in ("ok", "refused", "refreshed", "pageErrors", "probeError")}
        return json.dumps(shown)[:4000] + "\nstderr tail:\n" + self.stderr[-2000:]


def open_dashboard(
    url: str, key: str, stream_id: str, orchestrator: str, out: Path | None = None, timeout_s: float = 45
) -> DashboardReport:
    """Open ``url``, try a wrong key, then ``key``; wait for the stream's and the orchestrator's rows and the plot."""
    reason = browser_unavailable_reason()
    if reason is not None:
        raise PlayerProbeError(reason)
    # --name=value: a value may begin with "-" (an API key can), which Node's parser would take for an option
    args = [f"--url={url}", f"--key={key}", f"--stream={stream_id}", f"--orchestrator={orchestrator}"]
    args.append(f"--timeout-ms={inner_timeout(timeout_s)}")
    if out is not None:
        args.append(f"--out={out}")
    data, exit_code, stderr = run_probe(SCRIPT, args, timeout_s)
    return DashboardReport(
        ok=bool(data.get("ok")),
        locked=data.get("locked"),
        refused=data.get("refused"),
        shown=data.get("shown"),
        refreshed=data.get("refreshed"),
        requests=list(data.get("requests") or []),
        key_in_any_url=data.get("keyInAnyUrl"),
        screenshots=[Path(p) for p in data.get("screenshots") or []],
        page_errors=list(data.get("pageErrors") or []),
        probe_error=data.get("probeError"),
        exit_code=exit_code,
        raw=data,
        stderr=stderr,
    )
