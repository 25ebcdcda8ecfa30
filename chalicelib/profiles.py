"""The rendition ladder and how a profile fits a source (aspect ratio kept, never upscaled)."""

from __future__ import annotations

from chalicelib.models import Profile

# Livepeer Studio's default ladder (DESIGN.md); fps 0 keeps the source's frame rate.
DEFAULT_PROFILES: tuple[Profile, ...] = (
    Profile(name="240p0", width=426, height=240, bitrate=250_000, fps=0),
    Profile(name="360p0", width=640, height=360, bitrate=800_000, fps=0),
    Profile(name="480p0", width=854, height=480, bitrate=1_600_000, fps=0),
    Profile(name="720p0", width=1280, height=720, bitrate=3_000_000, fps=0),
)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def fit(profile: Profile, source_width: int, source_height: int) -> tuple[int, int] | None:
    """Return the (width, height) of ``profile`` for a source, or None when it would upscale.

    The profile's height bounds the rendition, the width follows the source's aspect ratio, and
    both are rounded to even numbers (H.264 with 4:2:0 chroma needs them even).
    """
    height = _even(profile.height)
    if height > source_height:
        return None
    width = _even(source_width * height / source_height)
    if width > source_width:
        return None
    return width, height
