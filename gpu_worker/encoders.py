"""Which H.264 encoder this worker uses: NVENC when a GPU opens it, else libx264 on the CPU.

The choice is made once at start-up by really encoding a few frames, because NVENC is compiled
into PyAV's FFmpeg whether or not a GPU is present: only opening it tells (without a GPU it raises
``PermissionError``, with a GPU lacking NVENC, e.g. H100, another FFmpeg error).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction

import av
from av.video.frame import VideoFrame

from chalicelib.streams.profiles import Profile
from gpu_worker.logs import log

NVENC = "h264_nvenc"
X264 = "libx264"
# Same preset on both sides of the benchmark (bench/transcode_bench.py): veryfast keeps a 2 s
# 1080p segment's four renditions well inside real time on a small CPU box.
DEFAULT_X264_PRESET = "veryfast"
DEFAULT_NVENC_PRESET = "p4"
X264_PRESET_ENV = "LP_WORKER_X264_PRESET"
ENCODER_ENV = "LP_WORKER_ENCODER"

# A keyframe every 2 s unless a profile's gop says otherwise: each 2 s segment is one GOP, longer
# ones stay seekable every 2 s.
KEYFRAME_INTERVAL_S = 2
# VBV: peaks may reach 1.2x the profile's bitrate, smoothed over 2 s of it.
MAXRATE_FACTOR = Fraction(6, 5)
BUFSIZE_SECONDS = 2
# Studio's profile names → (the encoders' profile option, whether B-frames are allowed). Constrained
# High is High without B-frames; both encoders name the same three profiles.
H264_PROFILES: dict[str, tuple[str, bool]] = {
    "H264Baseline": ("baseline", False),
    "H264Main": ("main", True),
    "H264High": ("high", True),
    "H264ConstrainedHigh": ("high", False),
}


@dataclass(frozen=True)
class EncoderChoice:
    """The H.264 encoder to use, its private options, and why it was chosen."""

    name: str
    options: dict[str, str] = field(default_factory=dict)
    hardware: bool = False
    reason: str = ""


def libx264(preset: str | None = None) -> EncoderChoice:
    """Return libx264 with ``preset`` (default: ``$LP_WORKER_X264_PRESET`` or ``veryfast``)."""
    preset = preset or os.environ.get(X264_PRESET_ENV) or DEFAULT_X264_PRESET
    # No tune=zerolatency: it drops B-frames and lookahead, costing quality per bit, and a
    # segment-at-a-time live path already has a segment of latency to spend.
    return EncoderChoice(name=X264, options={"preset": preset})


def nvenc(preset: str = DEFAULT_NVENC_PRESET) -> EncoderChoice:
    """Return h264_nvenc with a low-latency tuning; forced keyframes become IDR frames."""
    return EncoderChoice(
        name=NVENC,
        options={"preset": preset, "tune": "ll", "forced-idr": "1"},
        hardware=True,
    )


def rendition_options(choice: EncoderChoice, profile: Profile, rate: Fraction) -> dict[str, str]:
    """The encoder's options for one rendition at ``rate`` fps: bitrate and VBV, GOP, H.264 profile, quality.

    ``gop`` seconds become a keyframe interval in frames (``intra``: every frame); ``quality`` is
    libx264's CRF or NVENC's CQ, with the profile's bitrate as the VBV cap.
    """
    options = {
        **choice.options,
        "b": str(profile.bitrate),
        "maxrate": str(int(profile.bitrate * MAXRATE_FACTOR)),
        "bufsize": str(profile.bitrate * BUFSIZE_SECONDS),
    }
    gop_s = profile.gop_seconds()
    frames = 1 if gop_s == 0 else round(rate * Fraction(gop_s if gop_s is not None else KEYFRAME_INTERVAL_S))
    options["g"] = str(max(1, frames))
    b_frames = frames > 1
    if profile.profile is not None:
        name, allows_b = H264_PROFILES[profile.profile]
        options["profile"] = name
        b_frames = b_frames and allows_b
    if not b_frames:
        options["bf"] = "0"
    if profile.quality is not None:
        if choice.name == NVENC:
            # Constant quality with the bitrate only as a ceiling: no average target.
            options |= {"rc": "vbr", "cq": str(profile.quality), "b": "0"}
        else:
            options["crf"] = str(profile.quality)
    return options


def try_open(choice: EncoderChoice, frames: int = 3) -> None:
    """Encode a few tiny frames with ``choice``; raise (av.FFmpegError, OSError...) if it cannot."""
    ctx = av.CodecContext.create(choice.name, "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt = 256, 144, "yuv420p"
    ctx.time_base = Fraction(1, 25)
    ctx.framerate = Fraction(25)
    ctx.options = dict(choice.options)
    ctx.open()
    for i in range(frames):
        frame = VideoFrame(256, 144, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([16 * i]) * plane.buffer_size)
        frame.pts = i
        ctx.encode(frame)
    ctx.encode(None)


def select_encoder(prefer: str | None = None, x264_preset: str | None = None) -> EncoderChoice:
    """Choose the encoder: ``prefer`` (or ``$LP_WORKER_ENCODER``: nvenc, libx264, auto) if it opens.

    ``auto`` (the default) tries NVENC, then falls back to libx264; the chosen encoder and the
    reason are logged.
    """
    prefer = (prefer or os.environ.get(ENCODER_ENV) or "auto").lower()
    if prefer in ("libx264", "x264", "cpu"):
        choice = libx264(x264_preset)
        try_open(choice)
        return _chosen(choice, "libx264 requested")
    candidate = nvenc()
    try:
        try_open(candidate)
    except (av.FFmpegError, OSError, ValueError) as error:
        if prefer in ("nvenc", NVENC, "gpu"):
            raise
        reason = f"h264_nvenc did not open ({type(error).__name__}: {error}); using the CPU"
        return _chosen(libx264(x264_preset), reason)
    return _chosen(candidate, "h264_nvenc opened and encoded test frames")


def _chosen(choice: EncoderChoice, reason: str) -> EncoderChoice:
    chosen = EncoderChoice(choice.name, choice.options, choice.hardware, reason)
    log.info("encoder %s %s: %s", chosen.name, chosen.options, reason)
    return chosen
