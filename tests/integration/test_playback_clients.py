"""Real players: ffprobe/ffmpeg read the master playlist, hls.js plays it in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from chalicelib.streams.profiles import DEFAULT_PROFILES
from tests.browser.player import browser_available, play_hls
from tests.integration.conftest import Api, playlist_segments, wait_for
from tests.media import make_segments

pytestmark = pytest.mark.slow

SEGMENTS = 4


@pytest.fixture(scope="module")
def live_stream(api: Api) -> dict[str, Any]:
    stream = api.create_stream("players")
    for seq, path in enumerate(make_segments("720p", n=SEGMENTS)):
        assert api.push(stream["streamKey"], seq, path.read_bytes()).status_code == 202

    def ready() -> bool:
        response = api.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8")
        return response.status_code == 200 and len(playlist_segments(response.text)) == SEGMENTS

    wait_for(ready, timeout=120, what="the stream's segments")
    return stream


def test_ffprobe_reads_every_variant_of_the_master_playlist(api: Api, live_stream: dict[str, Any]) -> None:
    url = api.url(f"/hls/{live_stream['playbackId']}/index.m3u8")
    result = subprocess.run(
        [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-show_streams", "-of", "json", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    streams = json.loads(result.stdout)["streams"]
    sizes = {(s["width"], s["height"]) for s in streams if s["codec_type"] == "video"}
    assert sizes == {(1280, 720), (426, 240), (640, 360), (854, 480)}
    assert all(s["codec_name"] == "h264" for s in streams if s["codec_type"] == "video")
    assert any(s["codec_name"] == "aac" for s in streams if s["codec_type"] == "audio")


def test_ffmpeg_decodes_a_rendition_from_its_live_playlist(api: Api, live_stream: dict[str, Any]) -> None:
    url = api.url(f"/hls/{live_stream['playbackId']}/480p0/index.m3u8")
    result = subprocess.run(
        [
            shutil.which("ffmpeg") or "ffmpeg",
            "-v",
            "error",
            "-live_start_index",
            "0",
            "-i",
            url,
            "-t",
            str(SEGMENTS * 2 - 1),
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


@pytest.mark.browser
@pytest.mark.skipif(not browser_available(), reason="Debian chromium or npm playwright-core is not installed")
def test_hlsjs_plays_the_master_playlist_in_chromium(api: Api, live_stream: dict[str, Any]) -> None:
    report = play_hls(api.url(f"/hls/{live_stream['playbackId']}/index.m3u8"), seconds=4)
    assert report.fatal_error is None, report.summary()
    assert report.advanced_seconds >= 1.0, report.summary()
    heights = sorted(level.height for level in report.levels)
    assert heights == sorted([720, *(p.height for p in DEFAULT_PROFILES)])
