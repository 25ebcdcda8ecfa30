"""Renditions keep the source's aspect ratio, are even-sized and never larger than the source."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.streams.profiles import DEFAULT_PROFILES, fit


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


@given(width=st.integers(16, 4096), height=st.integers(16, 2304))
def test_every_rendition_is_even_and_never_larger_than_its_source(width: int, height: int) -> None:
    for profile in DEFAULT_PROFILES:
        size = fit(profile, width, height)
        if size is None:
            continue
        w, h = size
        assert w % 2 == 0 and h % 2 == 0
        assert w <= width and h <= height
        assert h == profile.height
        # aspect ratio within the rounding to even
        assert abs(w - width * h / height) <= 1.0
