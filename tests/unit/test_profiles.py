"""Renditions keep the source's aspect ratio, are even-sized and never larger than the source."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.streams.profiles import DEFAULT_PROFILES, Profile, fit, output_rate


def test_default_ladder_from_1080p_matches_livepeer_sizes() -> None:
    sizes = [fit(p, 1920, 1080) for p in DEFAULT_PROFILES]
    assert sizes == [(426, 240), (640, 360), (854, 480), (1280, 720)]


def test_profiles_taller_than_the_source_are_skipped() -> None:
    sizes = {p.name: fit(p, 640, 360) for p in DEFAULT_PROFILES}
    assert sizes == {"240p0": (426, 240), "360p0": (640, 360), "480p0": None, "720p0": None}


def test_four_by_three_source_keeps_its_aspect_ratio() -> None:
    assert fit(DEFAULT_PROFILES[1], 1440, 1080) == (480, 360)


def test_portrait_source_is_bounded_by_the_profile_height() -> None:
    assert fit(DEFAULT_PROFILES[3], 720, 1280) == (404, 720)


def test_a_source_wider_than_the_profile_is_bounded_by_the_profile_width() -> None:
    assert fit(DEFAULT_PROFILES[0], 2560, 1080) == (426, 180)  # 21:9 in the 426x240 box
    assert fit(DEFAULT_PROFILES[0], 7680, 240) == (426, 14)  # a strip: never wider than what was paid for


@given(width=st.integers(16, 4096), height=st.integers(16, 2304))
def test_every_rendition_is_even_and_never_larger_than_its_source(width: int, height: int) -> None:
    for profile in DEFAULT_PROFILES:
        size = fit(profile, width, height)
        if size is None:
            continue
        w, h = size
        assert w % 2 == 0 and h % 2 == 0
        assert w <= width and h <= height
        assert w <= profile.width and h <= profile.height  # inside the profile's box: what a job pays for
        assert h == profile.height or w >= profile.width - 1  # one side fills the box
        # the source's aspect ratio, within one pixel of rounding to even on either side
        assert abs(w * height - h * width) <= max(width, height)


# --- Studio's encoding fields -------------------------------------------------------------------------

BASE = {"name": "p", "width": 640, "height": 360, "bitrate": 800_000}


def test_fps_over_fps_den_is_a_cap_that_never_raises_the_source_rate() -> None:
    ntsc = Profile.model_validate({**BASE, "fps": 30000, "fpsDen": 1001})
    assert ntsc.frame_rate() == Fraction(30000, 1001)
    assert output_rate(ntsc, Fraction(60)) == Fraction(30000, 1001)
    assert output_rate(ntsc, Fraction(25)) == Fraction(25)  # a slower source keeps its own rate
    assert output_rate(Profile.model_validate(BASE), Fraction(50)) == Fraction(50)  # fps 0: the source's


def test_a_frame_rate_over_the_limit_is_refused() -> None:
    with pytest.raises(ValidationError):
        Profile.model_validate({**BASE, "fps": 240})
    assert Profile.model_validate({**BASE, "fps": 120_000, "fpsDen": 1001}).frame_rate() == Fraction(120_000, 1001)


@pytest.mark.parametrize(
    ("gop", "kept", "seconds"), [("2", "2", 2.0), (0.5, "0.5", 0.5), (3, "3", 3.0), ("intra", "intra", 0.0)]
)
def test_gop_is_seconds_or_intra_kept_as_studios_string(gop: object, kept: str, seconds: float) -> None:
    profile = Profile.model_validate({**BASE, "gop": gop})
    assert (profile.gop, profile.gop_seconds()) == (kept, seconds)


@pytest.mark.parametrize("gop", ["", "fast", "0", "-1", "61", True, "nan"])
def test_a_gop_that_is_not_a_duration_is_refused(gop: object) -> None:
    with pytest.raises(ValidationError):
        Profile.model_validate({**BASE, "gop": gop})


def test_studio_fields_are_camel_case_on_the_wire_and_absent_when_unset() -> None:
    wire = {**BASE, "fps": 30, "fpsDen": 1, "gop": "2", "profile": "H264High", "quality": 23, "encoder": "H.264"}
    assert Profile.model_validate(wire).wire() == wire
    assert Profile.model_validate(BASE).wire() == {**BASE, "fps": 0}
