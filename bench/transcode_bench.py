"""Per-segment transcode time: the worker's ``transcode_segment`` against the ffmpeg CLI doing the same.

For the default ladder, from 2 s HLS segments of a 1080p30 and a 720p25 source (Big Buck Bunny cut by
the ffmpeg CLI, see tests/media.py), each repetition times both on every segment, alternating:

- worker: ``gpu_worker.transcode.transcode_segment`` on the segment's bytes, in memory;
- ffmpeg: ONE ``ffmpeg`` process with identical settings: decode once, ``-filter_complex`` split and
  scale (same scaler flags), the same encoder, preset, bitrates, maxrate/bufsize, GOP, audio copy,
  ``-copyts``, MPEG-TS outputs written to a tmpfs. Its process start is part of its time.

Medians are printed side by side with their ratio (worker / ffmpeg; target <= 1.0), plus CPU seconds,
and written as JSON with ``--json``. Run: ``python bench/transcode_bench.py [--reps 5] [--json out.json]``.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import av  # noqa: E402

from chalicelib.streams.profiles import DEFAULT_PROFILES, Profile  # noqa: E402
from gpu_worker.encoders import (  # noqa: E402
    BUFSIZE_SECONDS,
    KEYFRAME_INTERVAL_S,
    MAXRATE_FACTOR,
    EncoderChoice,
    libx264,
    select_encoder,
)
from gpu_worker.transcode import (  # noqa: E402
    AAC_BITRATE,
    PIX_FMT,
    SCALE_FLAGS,
    plan,
    transcode_segment,
)
from tests.media import FFMPEG, KINDS, make_segments, probe  # noqa: E402

SOURCES = ("1080p30", "720p")
SEGMENT_S = 2.0
# Wide enough for the table when printed to a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass
class Figures:
    """One source's timings, milliseconds per 2 s segment (CPU in seconds per segment)."""

    source: str
    width: int
    height: int
    fps: float
    renditions: list[str]
    segments: int
    reps: int
    worker_ms: list[float] = field(default_factory=list)
    ffmpeg_ms: list[float] = field(default_factory=list)
    worker_cpu_s: list[float] = field(default_factory=list)
    ffmpeg_cpu_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        worker = statistics.median(self.worker_ms)
        ffmpeg = statistics.median(self.ffmpeg_ms)
        return {
            "worker_median_ms": round(worker, 1),
            "ffmpeg_median_ms": round(ffmpeg, 1),
            "ratio": round(worker / ffmpeg, 3),
            "worker_cpu_median_s": round(statistics.median(self.worker_cpu_s), 3),
            "ffmpeg_cpu_median_s": round(statistics.median(self.ffmpeg_cpu_s), 3),
            "worker_realtime_x": round(SEGMENT_S * 1000 / worker, 2),
        }


def ffmpeg_command(
    segment: Path, profiles: list[tuple[Profile, int, int]], encoder: EncoderChoice, fps: float, out_dir: Path
) -> list[str]:
    """The ffmpeg CLI doing what transcode_segment does, with the same settings."""
    n = len(profiles)
    graph = [f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n))]
    for i, (profile, width, height) in enumerate(profiles):
        chain = f"[s{i}]scale={width}:{height}:flags={SCALE_FLAGS},format={PIX_FMT}"
        if profile.fps:
            chain += f",fps={profile.fps}"
        graph.append(f"{chain}[v{i}]")
    has_aac = probe(segment).audio_codec == "aac"
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-copyts", "-i", str(segment)]
    cmd += ["-filter_complex", ";".join(graph)]
    for i, (profile, _, _) in enumerate(profiles):
        rate = profile.fps or fps
        cmd += ["-map", f"[v{i}]", "-map", "0:a:0?", "-c:v", encoder.name]
        for key, value in encoder.options.items():
            cmd += [f"-{key}", value]
        cmd += [
            "-b:v", str(profile.bitrate),
            "-maxrate", str(int(profile.bitrate * MAXRATE_FACTOR)),
            "-bufsize", str(profile.bitrate * BUFSIZE_SECONDS),
            "-g", str(max(1, round(rate * KEYFRAME_INTERVAL_S))),
        ]  # fmt: skip
        cmd += ["-c:a", "copy"] if has_aac else ["-c:a", "aac", "-b:a", str(AAC_BITRATE)]
        cmd += ["-f", "mpegts", "-mpegts_copyts", "1", str(out_dir / f"{profile.name}.ts")]
    return cmd


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_worker(data: bytes, encoder: EncoderChoice) -> tuple[float, float]:
    """Run transcode_segment once; return (wall ms, CPU s)."""
    cpu, started = _cpu_self(), time.perf_counter()
    transcode_segment(data, DEFAULT_PROFILES, encoder)
    return (time.perf_counter() - started) * 1000, _cpu_self() - cpu


def time_ffmpeg(cmd: list[str]) -> tuple[float, float]:
    """Run the ffmpeg command once; return (wall ms, CPU s)."""
    cpu, started = _cpu_children(), time.perf_counter()
    subprocess.run(cmd, check=True)
    return (time.perf_counter() - started) * 1000, _cpu_children() - cpu


def _ffmpeg_version() -> str:
    out = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True, check=True).stdout
    return out.split("\n", 1)[0].replace("ffmpeg version ", "").split(" Copyright")[0]


def main(
    reps: Annotated[int, typer.Option(help="Repetitions per segment (after one warm-up).")] = 5,
    segments: Annotated[int, typer.Option(help="2 s segments per source.")] = 2,
    sources: Annotated[str, typer.Option(help="Comma-separated sources: 1080p30, 720p, 360p.")] = ",".join(SOURCES),
    encoder_name: Annotated[str, typer.Option("--encoder", help="auto (NVENC if it opens), nvenc, libx264.")] = "auto",
    preset: Annotated[str | None, typer.Option(help="libx264 preset (default: the worker's).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Time the worker against the ffmpeg CLI per 2 s segment and print the table."""
    encoder = libx264(preset) if encoder_name == "libx264" else select_encoder(encoder_name, preset)
    kinds = [k.strip() for k in sources.split(",") if k.strip()]
    with console.status("cutting the source segments with the ffmpeg CLI"):
        paths = {kind: make_segments(kind, n=segments, seconds=SEGMENT_S) for kind in kinds}
    tmp_root = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix="lp-bench-") as tmp, Progress(console=console) as progress:
        task = progress.add_task("transcoding", total=len(kinds) * segments * (reps + 1) * 2)
        for kind in kinds:
            width, height, fps = KINDS[kind]
            planned = plan(DEFAULT_PROFILES, width, height)
            figures = Figures(kind, width, height, fps, [p.name for p, _, _ in planned], segments, reps)
            for index, segment in enumerate(paths[kind]):
                out_dir = Path(tmp) / f"{kind}-{index}"
                out_dir.mkdir()
                cmd = ffmpeg_command(segment, planned, encoder, fps, out_dir)
                data = segment.read_bytes()
                for rep in range(reps + 1):  # rep 0 warms caches and thread pools up, and is dropped
                    progress.update(task, description=f"{kind} segment {index} rep {rep}/{reps}: worker")
                    worker = time_worker(data, encoder)
                    progress.advance(task)
                    progress.update(task, description=f"{kind} segment {index} rep {rep}/{reps}: ffmpeg")
                    ffmpeg = time_ffmpeg(cmd)
                    progress.advance(task)
                    if rep:
                        figures.worker_ms.append(worker[0])
                        figures.worker_cpu_s.append(worker[1])
                        figures.ffmpeg_ms.append(ffmpeg[0])
                        figures.ffmpeg_cpu_s.append(ffmpeg[1])
            results.append(figures)

    environment = {
        "encoder": encoder.name,
        "encoder_options": encoder.options,
        "pyav": av.__version__,
        "pyav_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
        "ffmpeg_cli": _ffmpeg_version(),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    table = Table(
        title=f"Per 2 s segment, default ladder, {encoder.name} {encoder.options} — median of "
        f"{reps} reps x {segments} segments on {environment['cpus']} CPUs",
        caption=f"worker: PyAV {environment['pyav']} (libavcodec {environment['pyav_libavcodec']}); "
        f"ffmpeg CLI {environment['ffmpeg_cli']}; ratio = worker / ffmpeg, target <= 1.0",
    )
    for column in (
        "source",
        "renditions",
        "worker ms",
        "ffmpeg ms",
        "ratio",
        "worker CPU s",
        "ffmpeg CPU s",
        "realtime",
    ):
        table.add_column(column, justify="left" if column in ("source", "renditions") else "right")
    for figures in results:
        s = figures.summary()
        style = "green" if s["ratio"] <= 1.0 else "red"
        table.add_row(
            f"{figures.width}x{figures.height}@{figures.fps:g}",
            "/".join(name.removesuffix("p0") for name in figures.renditions),
            f"{s['worker_median_ms']:.0f}",
            f"{s['ffmpeg_median_ms']:.0f}",
            f"[{style}]{s['ratio']:.2f}[/{style}]",
            f"{s['worker_cpu_median_s']:.2f}",
            f"{s['ffmpeg_cpu_median_s']:.2f}",
            f"{s['worker_realtime_x']:.2f}x",
        )
    console.print(table)
    if json_path is not None:
        payload = {
            "environment": environment,
            "segment_s": SEGMENT_S,
            "results": [{**asdict(f), **f.summary()} for f in results],
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"figures written to {json_path}")


if __name__ == "__main__":
    typer.run(main)
