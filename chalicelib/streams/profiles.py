"""The rendition ladder: a profile, the default ladder, and how a profile fits a source.

A rendition keeps the source's aspect ratio (the profile's height bounds it, the width follows)
and is never larger than its source. The worker shares these definitions with the gateway.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from chalicelib.core.models import ApiModel

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
#: The name under which the untouched source is played; no profile may take it.
SOURCE_RENDITION = "source"


class Profile(ApiModel):
    """A rendition of the ladder: its bounding height, nominal width and bitrate (bits/s)."""

    name: str
    width: Annotated[int, Field(ge=16, le=7680)]
    height: Annotated[int, Field(ge=16, le=4320)]
    bitrate: Annotated[int, Field(ge=10_000, le=50_000_000)]
    # 0 keeps the source's frame rate.
    fps: Annotated[int, Field(ge=0, le=120)] = 0

    @field_validator("name")
    @classmethod
    def _name_is_path_safe(cls, value: str) -> str:
        if value == SOURCE_RENDITION or not PROFILE_NAME.match(value):
            raise ValueError(
                "profile names are 1-32 characters of letters, digits, '_', '.', '-' "
                f"and may not be {SOURCE_RENDITION!r}"
            )
        return value


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
