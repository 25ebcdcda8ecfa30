"""``make demo``: the local stack, a stream, real footage pushed live by ffmpeg, and what came out."""

from __future__ import annotations

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
from boto3.dynamodb.types import TypeDeserializer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from devstack.footage import bigbuckbunny
from devstack.stack import LocalStack

console = Console()
CLIP_SECONDS = 5.3
SEGMENT_SECONDS = 2


@contextmanager
def running_stack(state_dir: Path) -> Iterator[LocalStack]:
    """Use the stack `make up` started, or start one for the demo and stop it afterwards."""
    stack = LocalStack(state_dir)
    try:
        requests.get(stack.gateway_url + "/health", timeout=2).raise_for_status()
        alive = any(p.alive for p in stack.status())
    except requests.RequestException:
        alive = False
    if alive:
        console.print(f"using the running local stack at {stack.gateway_url}")
        yield stack
        return
    with console.status("starting the local stack (moto, gateway, 2 orchestrators, 2 workers)"):
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


def segment_items(stack: LocalStack, stream_id: str) -> list[dict[str, Any]]:
    """Return every segment record of a stream (the demo reads the table directly)."""
    ddb = stack.client("dynamodb")
    pages = ddb.get_paginator("query").paginate(
        TableName=stack.settings(stack.gateway.name).name("segments"),
        KeyConditionExpression="streamId = :s",
        ExpressionAttributeValues={":s": {"S": stream_id}},
        ConsistentRead=True,
    )
    decode = TypeDeserializer().deserialize
    return [{k: decode(v) for k, v in item.items()} for page in pages for item in page["Items"]]


def rendition_table(items: list[dict[str, Any]]) -> Table:
    """One row per rendition: resolution, measured bitrate, segments, mean transcode time."""
    ready = [i for i in items if i.get("status") == "ready"]
    ladder = [int(i["transcodeMs"]) for i in items if i.get("status") == "ready" and i.get("transcodeMs")]
    caption = f"mean transcode of the whole ladder per segment: {mean(ladder):.0f} ms" if ladder else None
    table = Table(title="renditions", caption=caption)
    for column in ("rendition", "resolution", "bitrate (kbps)", "segments", "mean encode (ms)"):
        table.add_column(column, justify="right" if column != "rendition" else "left")
    if not ready:
        return table
    durations = [float(i.get("durationMs") or i["sourceInfo"]["durationMs"]) / 1000 for i in ready]
    source = ready[-1]["sourceInfo"]
    source_kbps = sum(int(i["sourceBytes"]) for i in ready) * 8 / sum(durations) / 1000
    table.add_row("source", f"{source['width']}x{source['height']}", f"{source_kbps:.0f}", str(len(ready)), "-")
    names = sorted(
        {n for i in ready for n in i.get("renditions", {})},
        key=lambda n: -int(ready[-1]["renditions"].get(n, {}).get("height", 0)),
    )
    for name in names:
        having = [(i, d) for i, d in zip(ready, durations, strict=True) if name in i.get("renditions", {})]
        last = having[-1][0]["renditions"][name]
        kbps = sum(int(i["renditions"][name]["bytes"]) for i, _ in having) * 8 / sum(d for _, d in having) / 1000
        encode = [int(i["renditions"][name].get("encodeMs") or i.get("transcodeMs") or 0) for i, _ in having]
        table.add_row(name, f"{last['width']}x{last['height']}", f"{kbps:.0f}", str(len(having)), f"{mean(encode):.0f}")
    return table


def run(state_dir: Path, exit_when_done: bool, loops: int) -> None:
    """The whole demo."""
    with running_stack(state_dir) as stack:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {stack.api_key}"
        response = http.post(stack.gateway_url + "/stream", json={"name": "demo"}, timeout=30)
        response.raise_for_status()
        stream = response.json()
        playback = f"{stack.gateway_url}/hls/{stream['playbackId']}/index.m3u8"
        console.print(f"stream [bold]{stream['id']}[/bold]: key {stream['streamKey']}, playback {playback}")

        expected = push_footage(f"{stack.gateway_url}/live/{stream['streamKey']}/index.m3u8", loops)
        deadline = time.monotonic() + 60
        with console.status("waiting for the last segments to be transcoded"):
            while time.monotonic() < deadline:
                items = segment_items(stack, stream["id"])
                if len(items) >= expected and all(i.get("status") in ("ready", "failed") for i in items):
                    break
                time.sleep(0.5)
        items = segment_items(stack, stream["id"])
        console.print(rendition_table(items))
        failed = [int(i["seq"]) for i in items if i.get("status") == "failed"]
        if failed:
            console.print(f"[red]failed segments: {failed}[/red]")
        encoders = sorted({str(i.get("encoder")) for i in items if i.get("encoder")})
        orchestrators = sorted({str(i.get("resultOrchestrator")) for i in items if i.get("resultOrchestrator")})
        console.print(f"encoder: {', '.join(encoders) or '?'}; transcoded by {', '.join(orchestrators) or '?'}")
        console.print(f"\nplay it: [bold]{playback}[/bold]\n  e.g. ffplay {playback}")
        if exit_when_done:
            return
        console.print("serving until Ctrl-C")
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
