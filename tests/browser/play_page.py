"""Open the app's own player page (``/play/{playbackId}``) in headless Chromium and get a report back.

A thin wrapper around ``tests/browser/play_page.mjs`` (Chromium and node as for :mod:`tests.browser.player`)::

    report = open_player_pages(live=f"{base}/play/{live_id}", offline=f"{base}/play/{idle_id}", out=tmp_path)
    assert report.ok, report.summary()

The page loads hls.js and its script from the app under the app's Content-Security-Policy; nothing is injected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.player import PlayerProbeError, browser_unavailable_reason, inner_timeout, run_probe

SCRIPT = Path(__file__).resolve().parent / "play_page.mjs"


@dataclass
class PageReport:
    """What each page showed (the script's JSON, one dict per page), screenshots and errors."""

    ok: bool
    live: dict[str, Any] | None
    offline: dict[str, Any] | None
    ended: dict[str, Any] | None
    screenshots: list[Path]
    page_errors: list[str]
    probe_error: str | None
    exit_code: int
    raw: dict[str, Any] = field(repr=False)
    stderr: str = field(default="", repr=False)

    def summary(self) -> str:
        """The report for an assertion message (the page views trimmed), with the probe's stderr tail."""
        shown = {k: self.raw.get(k) for k in ("ok", "live", "offline", "ended", "pageErrors", "probeError")}
        return json.dumps(shown)[:4000] + "\nstderr tail:\n" + self.stderr[-2000:]


def open_player_pages(
    live: str | None = None,
    go_file: Path | None = None,
    offline: str | None = None,
    ended: str | None = None,
    out: Path | None = None,
    timeout_s: float = 60,
) -> PageReport:
    """Open the given player pages (a live stream's, an offline one's, a deleted one's) and report.

    With ``go_file``, the live stream's page must first say it is offline; the probe then creates ``go_file``
    (the broadcaster's cue to start pushing) and the page must start playing by itself.
    """
    reason = browser_unavailable_reason()
    if reason is not None:
        raise PlayerProbeError(reason)
    # --name=value: a value may begin with "-", which Node's parser would take for an option
    args = [f"--timeout-ms={inner_timeout(timeout_s)}"]
    for flag, value in (("live", live), ("offline", offline), ("ended", ended), ("go-file", go_file), ("out", out)):
        if value is not None:
            args.append(f"--{flag}={value}")
    data, exit_code, stderr = run_probe(SCRIPT, args, timeout_s)
    return PageReport(
        ok=bool(data.get("ok")),
        live=data.get("live"),
        offline=data.get("offline"),
        ended=data.get("ended"),
        screenshots=[Path(p) for p in data.get("screenshots") or []],
        page_errors=list(data.get("pageErrors") or []),
        probe_error=data.get("probeError"),
        exit_code=exit_code,
        raw=data,
        stderr=stderr,
    )
