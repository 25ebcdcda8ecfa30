"""The player page in a real browser on the local stack, as a viewer of a shared link sees it.

A broadcaster shares ``/play/{playbackId}`` before going live: the page says the stream is offline, starts
playing by itself once segments arrive, shows the LIVE badge, lists the renditions and switches between them.
A stream with no segments says it is offline; a deleted one says it has ended.

Screenshots (live.png, switched.png, offline.png, ended.png) are kept in the test's ``tmp_path``
(``pytest --basetemp=DIR`` puts them under ``DIR/test_a_shared_player_link_…0/``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.playback.assets import STATIC_DIR
from tests.browser.play_page import open_player_pages
from tests.browser.player import browser_available, browser_unavailable_reason
from tests.integration.conftest import Api
from tests.media import make_segments

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not browser_available(), reason=browser_unavailable_reason() or ""),
]

SEGMENT_S = 2
# A small source and two small renditions: three levels to choose from, cheap to transcode on two cores.
SOURCE = "360p"
PROFILES = [
    {"name": "240p0", "width": 426, "height": 240, "bitrate": 250_000, "fps": 0},
    {"name": "144p0", "width": 256, "height": 144, "bitrate": 150_000, "fps": 0},
]
# Pushed at once when going live, as ffmpeg does with a few segments ready; the rest at real-time pace.
HEAD_START = 3
SEGMENTS = 24


class Broadcaster(threading.Thread):
    """Goes live when ``cue`` appears, then pushes pre-cut segments at real-time pace until stopped."""

    def __init__(self, api: Api, stream_key: str, segments: list[Path], cue: Path) -> None:
        super().__init__(name="broadcaster", daemon=True)
        self.url = api.url(f"/live/{stream_key}")
        self.segments = segments
        self.cue = cue
        self.stopped = threading.Event()
        self.statuses: list[int] = []

    def run(self) -> None:
        while not self.cue.exists():
            if self.stopped.wait(0.05):
                return
        http = requests.Session()
        start = time.monotonic() - HEAD_START * SEGMENT_S
        for seq, path in enumerate(self.segments):
            if self.stopped.wait(max(0.0, start + seq * SEGMENT_S - time.monotonic())):
                return
            response = http.put(
                f"{self.url}/{seq}.ts",
                data=path.read_bytes(),
                headers={"Content-Duration": str(SEGMENT_S * 1000)},
                timeout=30,
            )
            self.statuses.append(response.status_code)


@pytest.fixture
def broadcaster(api: Api, tmp_path: Path) -> Iterator[tuple[dict[str, Any], Broadcaster]]:
    """A stream with the ladder above, and its broadcaster waiting for its cue to go live."""
    if not (STATIC_DIR / "npm" / "hls.min.js").is_file():
        pytest.fail("the player's hls.js is not in chalicelib: run `make player-assets`")
    segments = make_segments(SOURCE, n=SEGMENTS)
    stream = api.create_stream("player page", profiles=PROFILES)
    pusher = Broadcaster(api, stream["streamKey"], segments, tmp_path / "go-live")
    pusher.start()
    try:
        yield stream, pusher
    finally:
        pusher.stopped.set()
        pusher.join(timeout=35)


def test_a_shared_player_link_waits_offline_then_plays_live_and_switches_quality(
    api: Api, broadcaster: tuple[dict[str, Any], Broadcaster], tmp_path: Path
) -> None:
    stream, pusher = broadcaster
    offline = api.create_stream("not live yet")
    ended = api.create_stream("deleted")
    assert api.call("DELETE", f"/stream/{ended['id']}").status_code == 204

    report = open_player_pages(
        live=api.url(f"/play/{stream['playbackId']}"),
        go_file=pusher.cue,
        offline=api.url(f"/play/{offline['playbackId']}"),
        ended=api.url(f"/play/{ended['playbackId']}"),
        out=tmp_path,
        timeout_s=60,
    )
    print(f"player page screenshots: {tmp_path}")
    assert report.probe_error is None and report.page_errors == [], report.summary()
    assert pusher.statuses and set(pusher.statuses) == {202}, pusher.statuses

    live = report.live
    assert live is not None and live.get("error") is None, report.summary()
    print(f"the page played {live['playingAfterGoMs']} ms after the broadcaster went live")
    first = live["offlineFirst"]
    assert first["state"] == "offline" and not first["badgeVisible"], "before the first segment, the page waits"
    assert live["before"]["advanced"] >= 1.0, report.summary()
    assert sorted(level["height"] for level in live["levels"]) == [144, 240, 360]
    labels = [option["text"] for option in live["options"]]
    assert labels[0].startswith("Auto") and labels[1:] == ["Source (360p)", "240p", "144p"], labels
    assert live["badgeVisible"], "the LIVE badge shows while the stream plays"
    target = live["switchTo"]
    assert target["level"] != live["switchFrom"]["level"]
    assert (live["switched"]["currentLevel"], live["switched"]["loadLevel"]) == (target["level"], target["level"])
    assert live["switched"]["videoHeight"] == target["height"]
    assert live["after"]["advanced"] >= 1.0, "playback goes on after the switch: " + report.summary()
    assert live["violations"] == [], "the page's Content-Security-Policy allowed everything it needs"

    assert report.offline is not None and report.offline["ok"], report.summary()
    assert report.offline["view"]["state"] == "offline" and "offline" in report.offline["view"]["message"]
    assert report.ended is not None and report.ended["ok"], report.summary()
    assert report.ended["view"]["state"] == "ended" and "ended" in report.ended["view"]["message"]
    assert report.ok, report.summary()
    assert {p.name for p in report.screenshots} == {"live.png", "switched.png", "offline.png", "ended.png"}
    assert all(p.is_file() and p.parent == tmp_path for p in report.screenshots)
