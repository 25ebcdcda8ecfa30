"""The rendition ladder: a profile, the default ladder, and how a profile fits a source.

A rendition keeps the source's aspect ratio (the profile's height bounds it, the width follows)
and is never larger than its source. The worker shares these definitions with the gateway.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from chalicelib.core.models import ApiModel

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
#: The name under which the untouched source is played; no profile may take it.
SOURCE_RENDITION = "source"
#: Studio's ``gop`` value for a rendition made only of keyframes.
INTRA = "intra"
#: The longest keyframe interval a profile may ask for, in seconds.
MAX_GOP_S = 60
#: Studio's ``quality`` range (constant quality: higher is smaller and worse).
MAX_QUALITY = 44
#: The highest frame rate a profile may ask for (fps/fpsDen): NTSC rates come as fps=60000, fpsDen=1001.
MAX_FPS = 120
#: The ``encoder`` values the worker makes; Studio also names HEVC, VP8 and VP9.
SUPPORTED_ENCODERS = ("H.264",)
H264Profile = Literal["H264Baseline", "H264Main", "H264High", "H264ConstrainedHigh"]


class Profile(ApiModel):
    """A rendition of the ladder: its bounding height, nominal width and bitrate (bits/s), and how to encode it.

    The optional fields are Livepeer Studio's ``ffmpeg-profile`` ones; absent, the worker chooses.
    """

    name: str = Field(
        description=f"The rendition's name, in its playlist's path: 1-32 letters, digits, `_`, `.`, `-`; "
        f"not `{SOURCE_RENDITION}`, and unique in the ladder.",
        json_schema_extra={"pattern": PROFILE_NAME.pattern, "not": {"const": SOURCE_RENDITION}},
    )
    width: Annotated[int, Field(ge=16, le=7680, description="The rendition's widest width, in pixels.")]
    height: Annotated[int, Field(ge=16, le=4320, description="Its height in pixels; the source's aspect is kept.")]
    bitrate: Annotated[int, Field(ge=10_000, le=50_000_000, description="Its video bitrate, in bits/s.")]
    fps: Annotated[int, Field(ge=0, le=MAX_FPS * 1001)] = Field(
        default=0, description="The frame-rate cap is `fps/fpsDen`; 0 keeps the source's frame rate."
    )
    fps_den: Annotated[int, Field(ge=1, le=1001)] | None = Field(
        default=None, description="The frame-rate cap's denominator (1001 for NTSC rates); absent, 1."
    )
    # Numbers are taken and kept as the string Studio keeps.
    gop: Annotated[
        str | None,
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}, mode="validation"),
    ] = Field(
        default=None,
        description=f"Seconds between keyframes (more than 0, at most {MAX_GOP_S}), or `{INTRA}` for keyframes only.",
    )
    profile: H264Profile | None = Field(default=None, description="The H.264 profile; absent, the worker chooses.")
    quality: Annotated[int, Field(ge=0, le=MAX_QUALITY)] | None = Field(
        default=None,
        description=f"Constant quality, 0-{MAX_QUALITY} (libx264's CRF, NVENC's CQ); the bitrate then caps it.",
    )
    # Validated here as text; what the worker cannot make is refused with its own code (streams.support).
    encoder: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        default=None, description="`H.264` (the only one made here); absent, H.264."
    )

    @field_validator("name")
    @classmethod
    def _name_is_path_safe(cls, value: str) -> str:
        if value == SOURCE_RENDITION or not PROFILE_NAME.match(value):
            raise ValueError(
                "profile names are 1-32 characters of letters, digits, '_', '.', '-' "
                f"and may not be {SOURCE_RENDITION!r}"
            )
        return value

    @field_validator("gop", mode="before")
    @classmethod
    def _gop_is_seconds_or_intra(cls, value: object) -> object:
        # Studio types gop as a string but clients also send numbers: keep the text they meant.
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if value is None or value == INTRA:
            return value
        if not isinstance(value, str):
            raise ValueError(f"gop is a number of seconds or {INTRA!r}")
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"gop is a number of seconds or {INTRA!r}") from None
        if not 0 < seconds <= MAX_GOP_S:
            raise ValueError(f"gop must be more than 0 and at most {MAX_GOP_S} seconds")
        return value

    @model_validator(mode="after")
    def _frame_rate_is_bounded(self) -> Profile:
        rate = self.frame_rate()
        if rate is not None and rate > MAX_FPS:
            raise ValueError(f"fps/fpsDen may be at most {MAX_FPS}")
        return self

    def frame_rate(self) -> Fraction | None:
        """The frame-rate cap fps/fpsDen, or None to keep the source's."""
        return Fraction(self.fps, self.fps_den or 1) if self.fps else None

    def gop_seconds(self) -> float | None:
        """The keyframe interval asked for in seconds; 0 for intra-only; None when not asked."""
        if self.gop is None:
            return None
        return 0.0 if self.gop == INTRA else float(self.gop)


def output_rate(profile: Profile, source_rate: Fraction) -> Fraction:
    """The rendition's frame rate: the profile's fps/fpsDen as a cap, never above the source's (as Livepeer)."""
    cap = profile.frame_rate()
    return cap if cap is not None and cap < source_rate else source_rate


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

    The rendition keeps the source's aspect ratio inside the profile's box: its height is the profile's,
    unless the source is wider than the box, when its width is the profile's (so a rendition is never larger
    than its profile, which is what a paid job's pixels are counted from). Both are rounded to even numbers
    (H.264 with 4:2:0 chroma needs them even).
    """
    height = _even(profile.height)
    if height > source_height:
        return None
    width = _even(source_width * height / source_height)
    widest = max(2, profile.width - profile.width % 2)
    if width > widest:
        width, height = widest, _even(source_height * widest / source_width)
    if width > source_width:
        return None
    return width, height
