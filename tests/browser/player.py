"""Play an HLS stream in a real headless Chromium (hls.js) and get a typed report back.

A thin wrapper around ``tests/browser/play_hls.mjs``: it runs the node script with the repo's
``node_modules`` (playwright-core + hls.js) and Debian's ``/usr/bin/chromium``, and parses the one
JSON line it prints into a :class:`PlayerReport`::

    from tests.browser.player import browser_available, play_hls

    if browser_available():
        report = play_hls("http://127.0.0.1:8000/live/key/index.m3u8", seconds=6)
        assert report.ok, report.summary()

The server under test must send ``Access-Control-Allow-Origin: *``: the player page is served from
its own 127.0.0.1 origin, so every playlist and segment request is cross-origin.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = Path(__file__).resolve().parent / "play_hls.mjs"
NODE_MODULES = REPO_ROOT / "node_modules"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium")


class PlayerProbeError(RuntimeError):
    """The probe itself broke (node missing, script crashed, no JSON): not a verdict on the stream."""


@dataclass(frozen=True)
class Level:
    """One rendition as hls.js parsed it from the master playlist."""

    width: int
    height: int
    bitrate: int
    codecs: str | None = None
    name: str | None = None

    @property
    def resolution(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True)
class PlayerError:
    """An hls.js ERROR event (or a <video> element error, type ``mediaElementError``)."""

    type: str
    details: str
    fatal: bool
    reason: str | None = None
    url: str | None = None
    response_code: int | None = None


@dataclass(frozen=True)
class Sample:
    t: float
    current_time: float
    level: int
    paused: bool


@dataclass
class PlayerReport:
    ok: bool
    levels: list[Level]
    current_level: int
    current_time_start: float | None
    current_time_end: float | None
    advanced_seconds: float
    errors: list[PlayerError]
    fatal_error: PlayerError | None
    video_width: int
    video_height: int
    playing: bool
    h264_supported: bool | None
    buffered: list[tuple[float, float]]
    samples: list[Sample]
    timed_out: bool
    probe_error: str | None
    elapsed_ms: int
    exit_code: int
    raw: dict[str, Any] = field(repr=False)
    stderr: str = field(default="", repr=False)

    @property
    def resolutions(self) -> list[tuple[int, int]]:
        return [level.resolution for level in self.levels]

    def summary(self) -> str:
        """One line for assertion messages."""
        fatal = (
            f"{self.fatal_error.type}/{self.fatal_error.details}: {self.fatal_error.reason}"
            if self.fatal_error
            else None
        )
        return (
            f"ok={self.ok} advanced={self.advanced_seconds}s playing={self.playing} "
            f"video={self.video_width}x{self.video_height} levels={self.resolutions} "
            f"fatal={fatal} errors={[f'{e.type}/{e.details}' for e in self.errors]} "
            f"timed_out={self.timed_out} probe_error={self.probe_error}"
        )

    @classmethod
    def from_json(cls, data: dict[str, Any], exit_code: int, stderr: str = "") -> PlayerReport:
        fatal = data.get("fatalError")
        return cls(
            ok=bool(data.get("ok")),
            levels=[_level(item) for item in data.get("levels") or []],
            current_level=int(data.get("currentLevel", -1)),
            current_time_start=_opt_float(data.get("currentTimeStart")),
            current_time_end=_opt_float(data.get("currentTimeEnd")),
            advanced_seconds=float(data.get("advancedSeconds") or 0.0),
            errors=[_error(item) for item in data.get("errors") or []],
            fatal_error=_error(fatal) if isinstance(fatal, dict) else None,
            video_width=int(data.get("videoWidth") or 0),
            video_height=int(data.get("videoHeight") or 0),
            playing=bool(data.get("playing")),
            h264_supported=None if data.get("h264Supported") is None else bool(data["h264Supported"]),
            buffered=[(float(start), float(end)) for start, end in data.get("buffered") or []],
            samples=[
                Sample(
                    t=float(s["t"]),
                    current_time=float(s["currentTime"]),
                    level=int(s["level"]),
                    paused=bool(s["paused"]),
                )
                for s in data.get("samples") or []
            ],
            timed_out=bool(data.get("timedOut")),
            probe_error=data.get("probeError"),
            elapsed_ms=int(data.get("elapsedMs") or 0),
            exit_code=exit_code,
            raw=data,
            stderr=stderr,
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _level(item: dict[str, Any]) -> Level:
    return Level(
        width=int(item.get("width") or 0),
        height=int(item.get("height") or 0),
        bitrate=int(item.get("bitrate") or 0),
        codecs=item.get("codecs"),
        name=item.get("name"),
    )


def _error(item: dict[str, Any]) -> PlayerError:
    code = item.get("responseCode")
    return PlayerError(
        type=str(item.get("type")),
        details=str(item.get("details")),
        fatal=bool(item.get("fatal")),
        reason=item.get("reason"),
        url=item.get("url"),
        response_code=int(code) if code is not None else None,
    )


def _node() -> str | None:
    return shutil.which("node")


def browser_unavailable_reason() -> str | None:
    """Why :func:`play_hls` cannot run here, or None when it can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if _node() is None:
        return "node is not on PATH"
    if not (NODE_MODULES / "playwright-core" / "package.json").is_file():
        return f"playwright-core missing from {NODE_MODULES} (npm ci)"
    if not (NODE_MODULES / "hls.js" / "dist" / "hls.min.js").is_file():
        return f"hls.js missing from {NODE_MODULES} (npm ci)"
    return None


def browser_available() -> bool:
    """True when Chromium, node and node_modules/{playwright-core,hls.js} are all present."""
    return browser_unavailable_reason() is None


def play_hls(
    url: str,
    seconds: float = 6,
    timeout_s: float = 90,
    screenshot: str | Path | None = None,
) -> PlayerReport:
    """Play ``url`` (a master or media playlist) for ``seconds`` once playback starts, and report.

    ``report.ok`` is True when playback advanced by at least 1 s with no fatal error. The node script
    gets an overall budget a little under ``timeout_s`` so that it reports before being killed; if it
    still overruns, its whole process group (node and Chromium) is killed and PlayerProbeError raised.
    """
    reason = browser_unavailable_reason()
    if reason is not None:
        raise PlayerProbeError(reason)
    inner_timeout_ms = inner_timeout(timeout_s)
    args = [url, "--seconds", str(seconds), "--timeout-ms", str(inner_timeout_ms)]
    if screenshot is not None:
        args += ["--screenshot", str(screenshot)]
    data, exit_code, stderr = run_probe(SCRIPT, args, timeout_s)
    return PlayerReport.from_json(data, exit_code=exit_code, stderr=stderr)


def inner_timeout(timeout_s: float) -> int:
    """The budget (ms) a probe script gets: a little under ``timeout_s``, so that it reports before being killed."""
    return int((timeout_s - min(10.0, max(2.0, timeout_s * 0.15))) * 1000)


def run_probe(script: Path, args: list[str], timeout_s: float) -> tuple[dict[str, Any], int, str]:
    """Run a node probe script with the repo's node_modules and Chromium; return its JSON line, exit code, stderr.

    If it overruns ``timeout_s``, its whole process group (node and Chromium) is killed and PlayerProbeError raised.
    """
    node = _node()
    assert node is not None
    env = dict(os.environ, CHROMIUM_PATH=str(CHROMIUM))
    proc = subprocess.Popen(
        [node, str(script), *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so a timeout can take Chromium down with node
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise PlayerProbeError(f"{script.name} ran past {timeout_s} s; stderr tail: {stderr[-2000:]}") from None
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith("{")), None)
    if line is None:
        raise PlayerProbeError(
            f"{script.name} exited {proc.returncode} without a JSON report; stderr tail: {stderr[-2000:]}"
        )
    try:
        data: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PlayerProbeError(f"{script.name} printed invalid JSON: {line[:500]}") from exc
    return data, proc.returncode, stderr
