"""A real broadcaster: the ffmpeg CLI pushing a live HLS stream over HTTP PUT, chunked, no Content-Type."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.integration.conftest import Api, playlist_segments, wait_for
from tests.media import bigbuckbunny, probe

pytestmark = pytest.mark.slow

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def test_ffmpeg_hls_push_over_http_put_plays_back(api: Api) -> None:
    stream = api.create_stream("ffmpeg-push")
    target = api.url(f"/live/{stream['streamKey']}/index.m3u8")
    command = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-i", str(bigbuckbunny()), "-t", "5",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "96k",
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "3", "-hls_flags", "delete_segments",
        "-method", "PUT", target,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert "error" not in finished.stderr.lower(), finished.stderr

    def listed() -> list[str]:
        response = api.get(f"/hls/{stream['playbackId']}/360p0/index.m3u8")
        return playlist_segments(response.text) if response.status_code == 200 else []

    uris = wait_for(lambda: (lambda u: u if len(u) == 3 else [])(listed()), timeout=90, what="3 pushed segments")
    assert uris == ["0.ts", "1.ts", "2.ts"]
    media = api.get(f"/hls/{stream['playbackId']}/360p0/index.m3u8").text
    # ffmpeg's own playlist uploads gave the durations: 2 s, 2 s, then the 1 s remainder.
    durations = [float(line[8:].rstrip(",")) for line in media.splitlines() if line.startswith("#EXTINF:")]
    assert durations == pytest.approx([2.0, 2.0, 1.0], abs=0.05)
    for uri in uris:
        got = probe(api.get(f"/hls/{stream['playbackId']}/360p0/{uri}").content)
        assert (got.width, got.height) == (640, 360)
        assert got.first_is_keyframe
