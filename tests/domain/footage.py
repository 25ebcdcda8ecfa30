"""Tiny real MPEG-TS segments made in-process with PyAV (no ffmpeg CLI, no download).

H.264 (keyframe first, one GOP per segment) and AAC audio, 426x240 at 10 fps, with timestamps that
run on from one segment to the next, as a broadcaster's HLS muxer cuts them.
"""

from __future__ import annotations

import io
import math
from array import array
from fractions import Fraction
from functools import cache

import av

WIDTH, HEIGHT, FPS = 426, 240, 10
SAMPLE_RATE = 48_000


@cache
def tiny_segments(n: int = 3, seconds: int = 1) -> tuple[bytes, ...]:
    """Return ``n`` segments of ``seconds`` each (made once per test session)."""
    return tuple(_segment(index, seconds) for index in range(n))


def _picture(number: int) -> av.VideoFrame:
    """A gradient that moves every frame, so that the encoder has real work to do."""
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    for plane_index, plane in enumerate(frame.planes):
        rows = HEIGHT if plane_index == 0 else HEIGHT // 2
        row = bytes((x + 4 * number * (plane_index + 1)) % 256 for x in range(plane.line_size))
        plane.update(row * rows)
    return frame


def _segment(index: int, seconds: int) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mpegts") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "ultrafast", "g": str(FPS * seconds), "bf": "0"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        first_frame = index * seconds * FPS
        for number in range(first_frame, first_frame + seconds * FPS):
            frame = _picture(number)
            frame.pts, frame.time_base = number, Fraction(1, FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        first_sample, samples = index * seconds * SAMPLE_RATE, seconds * SAMPLE_RATE
        tone = array(
            "f", (0.1 * math.sin(2 * math.pi * 440 * (first_sample + i) / SAMPLE_RATE) for i in range(samples))
        )
        sound = av.AudioFrame(format="flt", layout="mono", samples=samples)
        sound.planes[0].update(tone.tobytes())
        sound.sample_rate, sound.pts, sound.time_base = SAMPLE_RATE, first_sample, Fraction(1, SAMPLE_RATE)
        container.mux(audio.encode(sound))
        container.mux(audio.encode())
    return out.getvalue()
