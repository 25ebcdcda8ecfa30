"""Choosing the H.264 encoder: NVENC when a GPU opens it, libx264 otherwise; NVENC skips cleanly."""

from __future__ import annotations

import logging

import av
import pytest

from chalicelib.streams.profiles import DEFAULT_PROFILES
from gpu_worker.encoders import (
    DEFAULT_X264_PRESET,
    NVENC,
    X264,
    X264_PRESET_ENV,
    libx264,
    nvenc,
    select_encoder,
    try_open,
)
from gpu_worker.transcode import transcode_segment
from tests.media import make_segments, probe


def _nvenc_error() -> str | None:
    """Why h264_nvenc cannot encode here (None when it can), as PyAV's hardware tests ask."""
    try:
        try_open(nvenc())
    except (av.FFmpegError, OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


NVENC_ERROR = _nvenc_error()


def test_without_a_working_nvenc_the_worker_falls_back_to_libx264(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gpu_worker.encoders")
    choice = select_encoder("auto")
    if NVENC_ERROR is None:
        assert choice.name == NVENC and choice.hardware
    else:
        assert choice.name == X264 and not choice.hardware
        assert "h264_nvenc did not open" in choice.reason
    assert choice.name in caplog.text  # the choice and its reason are logged


def test_libx264_can_be_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(X264_PRESET_ENV, raising=False)
    choice = select_encoder("libx264")
    assert choice.name == X264
    assert choice.options == {"preset": DEFAULT_X264_PRESET}


def test_the_x264_preset_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(X264_PRESET_ENV, "superfast")
    assert libx264().options["preset"] == "superfast"
    assert libx264("medium").options["preset"] == "medium"


def test_requiring_nvenc_without_a_gpu_fails_loudly() -> None:
    if NVENC_ERROR is None:
        pytest.skip("h264_nvenc works here")
    with pytest.raises((av.FFmpegError, OSError)):
        select_encoder("nvenc")


def test_an_unknown_x264_preset_does_not_open() -> None:
    with pytest.raises(av.FFmpegError):
        try_open(libx264("no-such-preset"))


@pytest.mark.skipif(NVENC_ERROR is not None, reason=f"h264_nvenc cannot encode here ({NVENC_ERROR})")
def test_nvenc_transcodes_a_segment() -> None:
    source = make_segments("720p", n=1)[0]
    transcoded = transcode_segment(source.read_bytes(), DEFAULT_PROFILES, nvenc())
    want = probe(source)
    assert transcoded.encoder == NVENC
    for rendition in transcoded.renditions:
        got = probe(rendition.data)
        assert got.first_is_keyframe
        assert abs(got.frames - want.frames) <= 1
        assert got.first_pts == pytest.approx(want.first_pts, abs=1e-4)
