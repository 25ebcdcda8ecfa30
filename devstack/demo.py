"""``make demo``: the local stack, a stream, real footage pushed live by ffmpeg, and what came out."""

from __future__ import annotations

import contextlib
import math
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import mean
from typing import Any

import requests
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from chalicelib.playback.links import hls_url, player_url
from chalicelib.segments.models import SegmentRecord, SegmentStatus
from chalicelib.segments.store import SegmentStore
from devstack.footage import bigbuckbunny
from devstack.payments import payments_table, wait_for_payments
from devstack.stack import ONCHAIN_SCHEDULE_S, LocalStack

console = Console()
CLIP_SECONDS = 5.3
SEGMENT_SECONDS = 2
# More segments than a demo of at most 50 loops pushes, so that one query returns them all.
MAX_SEGMENTS = 1000
# The stream goes idle three segments after the push ends and the demo's stack sweeps every few seconds (a stack
# `make up --offchain` started sweeps every minute): the recording is ready well within this.
RECORDING_WAIT_S = 120


@contextmanager
def running_stack(state_dir: Path, onchain: bool) -> Iterator[LocalStack]:
    """Use the stack `make up` started, or start one for the demo and stop it afterwards."""
    running = LocalStack.from_state(state_dir)
    try:
        alive = any(p.alive for p in running.status()) and requests.get(running.gateway_url + "/health", timeout=2).ok
    except requests.RequestException:
        alive = False
    if alive:
        console.print(f"using the running local stack at {running.gateway_url}")
        yield running
        return
    # Schedules (the idle sweep among them) every few seconds, on chain or off: the recording follows the push.
    stack = LocalStack(state_dir, onchain=onchain, schedule_every=ONCHAIN_SCHEDULE_S)
    what = "Anvil with the protocol, 2 orchestrators registered on chain" if onchain else "2 orchestrators"
    with console.status(f"starting the local stack (moto, {what}, a gateway, 2 workers)"):
        stack.start()
    try:
        yield stack
    finally:
        with console.status("stopping the local stack"):
            stack.stop()


def push_footage(ingest_url: str, loops: int) -> int:
    """Push Big Buck Bunny, looped, in real time with ffmpeg's HLS muxer over HTTP PUT; return segments."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is not installed (make deps installs Debian's)")
    total_s = CLIP_SECONDS * loops
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-stream_loop", str(loops - 1), "-i", str(bigbuckbunny()),
        "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "96k",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "4",
        "-method", "PUT", "-progress", "pipe:1", "-nostats", ingest_url,
    ]  # fmt: skip
    columns = (
        TextColumn("pushing live"),
        BarColumn(),
        TextColumn("{task.fields[segments]} segments"),
        TextColumn("{task.completed:.1f}/{task.total:.1f} s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("push", total=total_s, segments=0)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit():
                done = min(int(value) / 1e6, total_s)
                progress.update(task, completed=done, segments=int(done // SEGMENT_SECONDS))
        if process.wait() != 0:
            raise SystemExit(f"ffmpeg failed with exit code {process.returncode}")
        progress.update(task, completed=total_s, segments=math.ceil(total_s / SEGMENT_SECONDS - 0.05))
    return math.ceil(total_s / SEGMENT_SECONDS - 0.05)


def segments_of(stack: LocalStack, stream_id: str) -> list[SegmentRecord]:
    """Return the stream's segment records (the demo reads the gateway's table directly)."""
    name = stack.settings(stack.gateway.name).name("segments")
    table = stack.session().resource("dynamodb", endpoint_url=stack.endpoint_url).Table(name)
    return SegmentStore(table).newest(stream_id, MAX_SEGMENTS)


def rendition_table(records: list[SegmentRecord]) -> Table:
    """One row per rendition: resolution, measured bitrate, segments, mean encode time."""
    ready = [r for r in records if r.status is SegmentStatus.READY]
    ladder = [r.transcode_ms for r in ready if r.transcode_ms]
    caption = f"mean transcode of the whole ladder per segment: {mean(ladder):.0f} ms" if ladder else None
    table = Table(title="renditions", caption=caption)
    for column in ("rendition", "resolution", "bitrate (kbps)", "segments", "mean encode (ms)"):
        table.add_column(column, justify="right" if column != "rendition" else "left")
    if not ready:
        return table
    durations = [r.duration_s() for r in ready]
    source = ready[-1].source_info
    if source is not None:
        source_kbps = sum(r.source_bytes for r in ready) * 8 / sum(durations) / 1000
        table.add_row("source", f"{source.width}x{source.height}", f"{source_kbps:.0f}", str(len(ready)), "-")
    last = ready[-1].renditions
    for name in sorted({n for r in ready for n in r.renditions}, key=lambda n: -(last[n].height if n in last else 0)):
        having = [
            (r.renditions[name], d, r.transcode_ms)
            for r, d in zip(ready, durations, strict=True)
            if name in r.renditions
        ]
        kbps = sum(out.bytes for out, _, _ in having) * 8 / sum(d for _, d, _ in having) / 1000
        encode = mean(out.encode_ms or ladder_ms or 0 for out, _, ladder_ms in having)
        newest = having[-1][0]
        table.add_row(name, f"{newest.width}x{newest.height}", f"{kbps:.0f}", str(len(having)), f"{encode:.0f}")
    return table


def wait_for_recording(http: requests.Session, gateway_url: str, stream_id: str) -> dict[str, Any] | None:
    """Wait for the stream's session to go idle and its recording to be made; return the session (None: not yet)."""
    deadline = time.monotonic() + RECORDING_WAIT_S
    while time.monotonic() < deadline:
        response = http.get(f"{gateway_url}/stream/{stream_id}/sessions", timeout=30)
        response.raise_for_status()
        sessions = response.json()
        if sessions and sessions[0].get("recordingStatus") in ("ready", "failed"):
            found: dict[str, Any] = sessions[0]
            return found
        time.sleep(1)
    return None


def show_recording(http: requests.Session, gateway_url: str, stream_id: str) -> None:
    """Print the recording's links once the stream went idle and its MP4 was made."""
    with console.status("waiting for the recording: the stream goes idle, then its VOD playlists and MP4 are made"):
        session = wait_for_recording(http, gateway_url, stream_id)
    if session is None:
        console.print(f"the recording is not ready yet: GET {gateway_url}/stream/{stream_id}/sessions lists it")
    elif session["recordingStatus"] == "failed":
        console.print(f"[red]the recording failed: {session.get('recordingError')}[/red]")
    else:
        console.print(f"recorded: [bold]{session['recordingUrl']}[/bold] (VOD) and [bold]{session['mp4Url']}[/bold]")
        console.print(f"  its player page: {player_url(gateway_url, session['id'])}")


def run(state_dir: Path, exit_when_done: bool, loops: int, onchain: bool = True) -> None:
    """The whole demo."""
    with running_stack(state_dir, onchain) as stack:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {stack.api_key}"
        response = http.post(stack.gateway_url + "/stream", json={"name": "demo", "record": True}, timeout=30)
        response.raise_for_status()
        stream = response.json()
        playback = hls_url(stack.gateway_url, stream["playbackId"])
        watch = player_url(stack.gateway_url, stream["playbackId"])
        console.print(f"stream [bold]{stream['id']}[/bold]: key {stream['streamKey']}, playback {playback}")
        console.print(f"share it: [bold]{watch}[/bold] (the player page: it plays as soon as the stream is live)")

        expected = push_footage(f"{stack.gateway_url}/live/{stream['streamKey']}/index.m3u8", loops)
        deadline = time.monotonic() + 60
        with console.status("waiting for the last segments to be transcoded"):
            while time.monotonic() < deadline:
                records = segments_of(stack, stream["id"])
                if len(records) >= expected and all(r.status.settled for r in records):
                    break
                time.sleep(0.5)
        records = segments_of(stack, stream["id"])
        console.print(rendition_table(records))
        if failed := [r.seq for r in records if r.status is SegmentStatus.FAILED]:
            console.print(f"[red]failed segments: {failed}[/red]")
        encoders = sorted({r.encoder for r in records if r.encoder})
        orchestrators = sorted({r.result_orchestrator for r in records if r.result_orchestrator})
        console.print(f"encoder: {', '.join(encoders) or '?'}; transcoded by {', '.join(orchestrators) or '?'}")
        if stack.onchain:
            with console.status("waiting for the winning tickets to be redeemed and the round's rewards"):
                report = wait_for_payments(stack)
            console.print(payments_table(report))
        console.print(f"\nwatch it: [bold]{watch}[/bold] (the player page a broadcaster shares)")
        console.print(f"play it: [bold]{playback}[/bold]\n  e.g. ffplay {playback}")
        console.print(f"the dashboard: [bold]{stack.gateway_url}/dashboard[/bold] (the API key: {stack.api_key})")
        show_recording(http, stack.gateway_url, stream["id"])
        if exit_when_done:
            return
        console.print("serving until Ctrl-C")
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # so that SIGTERM also stops the stack
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                signal.pause()
