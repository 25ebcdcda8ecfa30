"""The browser probe itself: it sees a good live HLS stream play, and it reports a broken one as broken.

A two-rendition HLS ladder (640x360 H.264 main + 320x180 H.264 baseline, AAC, 1 s segments) is cut by
the ffmpeg CLI from testsrc2 + a sine tone, then served live-style by a threaded http.server on
127.0.0.1: each media playlist is a 5-segment sliding window that gains a segment per second and has
no EXT-X-ENDLIST until the footage runs out, with ``Access-Control-Allow-Origin: *`` on every answer.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.browser.player import browser_unavailable_reason, play_hls

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
RENDITIONS = {"v0": (640, 360), "v1": (320, 180)}
FOOTAGE_S = 24
SEGMENT_S = 1
WINDOW = 5  # segments in a live media playlist
LIVE_START = 4  # segments already published when the server starts

MEDIA_PLAYLIST = re.compile(r"^/(?P<rendition>v\d+)/index\.m3u8$")


def _skip_without_browser() -> None:
    reason = browser_unavailable_reason()
    if reason is not None:
        pytest.skip(f"browser probe unavailable: {reason}")


class _CorsHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with CORS; media playlists are rewritten into a live sliding window."""

    started_at: ClassVar[float] = 0.0
    segments: ClassVar[dict[str, list[str]]] = {}  # rendition -> segment names in order

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        match = MEDIA_PLAYLIST.match(self.path.split("?", 1)[0])
        if match and match["rendition"] in self.segments:
            body = self._live_playlist(self.segments[match["rendition"]]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def _live_playlist(self, names: list[str]) -> str:
        published = min(len(names), LIVE_START + int((time.monotonic() - self.started_at) / SEGMENT_S))
        first = max(0, published - WINDOW)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{SEGMENT_S}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
        ]
        for name in names[first:published]:
            lines += [f"#EXTINF:{SEGMENT_S:.3f},", name]
        if published == len(names):
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _ladder(root: Path) -> dict[str, list[str]]:
    for name in RENDITIONS:
        (root / name).mkdir(parents=True, exist_ok=True)
    (w0, h0), (w1, h1) = RENDITIONS["v0"], RENDITIONS["v1"]
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={w0}x{h0}:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(FOOTAGE_S),
        "-filter_complex", f"[0:v]split=2[hi][lo0];[lo0]scale={w1}:{h1}[lo]",
        "-map", "[hi]", "-map", "[lo]", "-map", "1:a", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-profile:v:0", "main", "-profile:v:1", "baseline",
        "-b:v:0", "800k", "-b:v:1", "300k",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_list_size", "0", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(root / "v%v" / "seg%d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", "v:0,a:0 v:1,a:1",
        str(root / "v%v" / "index.m3u8"),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=60)
    segments: dict[str, list[str]] = {}
    for name in RENDITIONS:
        playlist = (root / name / "index.m3u8").read_text()
        segments[name] = [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")]
        assert len(segments[name]) >= FOOTAGE_S - 1, playlist
    return segments


Serve = Callable[[Path, str, dict[str, list[str]] | None], str]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Yields ``serve(folder, path, live_segments)``: starts a CORS file server over ``folder``, returns the URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def url(root: Path, path: str, segments: dict[str, list[str]] | None) -> str:
        handler = type("Handler", (_CorsHandler,), {"started_at": time.monotonic(), "segments": segments or {}})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/{path}"

    yield url
    for server in servers:
        server.shutdown()
        server.server_close()


def test_probe_plays_a_live_two_rendition_ladder(tmp_path: Path, serve: Serve) -> None:
    _skip_without_browser()
    segments = _ladder(tmp_path / "ladder")
    master = (tmp_path / "ladder" / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 2, master

    report = play_hls(serve(tmp_path / "ladder", "master.m3u8", segments), seconds=4, timeout_s=45)

    assert report.h264_supported is True, report.summary()
    assert report.fatal_error is None, report.summary()
    assert report.ok, report.summary()
    assert report.exit_code == 0
    assert report.playing
    assert report.advanced_seconds >= 1.0, report.summary()
    assert len(report.levels) >= 2, report.summary()
    assert sorted(report.resolutions) == sorted(RENDITIONS.values()), report.summary()
    assert all(level.bitrate > 0 for level in report.levels)
    assert (report.video_width, report.video_height) in RENDITIONS.values(), report.summary()
    assert 0 <= report.current_level < len(report.levels)
    # Live: playback starts near the live edge, not at the first segment ever published.
    assert report.current_time_start is not None and report.current_time_start >= 1.0, report.summary()
    assert report.buffered, report.summary()
    times = [s.current_time for s in report.samples]
    assert times == sorted(times), times


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


MASTER = (
    "#EXTM3U\n#EXT-X-VERSION:3\n"
    '#EXT-X-STREAM-INF:BANDWIDTH=950400,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"\n{first}\n'
    '#EXT-X-STREAM-INF:BANDWIDTH=400400,RESOLUTION=320x180,CODECS="avc1.42c00d,mp4a.40.2"\n{second}\n'
)


@pytest.mark.parametrize("breakage", ["missing-renditions", "garbage-segments"])
def test_probe_reports_a_broken_stream(tmp_path: Path, serve: Serve, breakage: str) -> None:
    _skip_without_browser()
    root = tmp_path / "broken"
    if breakage == "missing-renditions":
        # Both media playlists answer 404.
        _write(root / "master.m3u8", MASTER.format(first="nope0/index.m3u8", second="nope1/index.m3u8"))
        expected_details = {"levelLoadError"}
    else:
        # Well-formed playlists whose segments are noise, not MPEG-TS.
        media = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
        noise = bytes((i * 7919 + 13) % 251 for i in range(64 * 1024))
        for rendition in RENDITIONS:
            for n in range(3):
                _write(root / rendition / f"seg{n}.ts", noise)
            _write(
                root / rendition / "index.m3u8",
                media + "".join(f"#EXTINF:1.000,\nseg{n}.ts\n" for n in range(3)) + "#EXT-X-ENDLIST\n",
            )
        _write(root / "master.m3u8", MASTER.format(first="v0/index.m3u8", second="v1/index.m3u8"))
        expected_details = {"fragParsingError", "bufferAppendError", "fragLoadError"}

    report = play_hls(serve(root, "master.m3u8", None), seconds=3, timeout_s=40)

    assert not report.ok, report.summary()
    assert report.exit_code != 0
    assert report.fatal_error is not None, report.summary()
    assert report.fatal_error.fatal
    assert report.fatal_error.details in expected_details, report.summary()
    assert report.advanced_seconds < 1.0
    assert not report.timed_out, report.summary()
    assert any(e.fatal for e in report.errors)
    if breakage == "missing-renditions":
        assert report.fatal_error.response_code == 404, report.summary()
        # hls.js still parsed the master: both levels were known before their playlists failed.
        assert sorted(report.resolutions) == sorted(RENDITIONS.values()), report.summary()
