"""``/play/{playbackId}``: the player page, its strict Content-Security-Policy, and hls.js served by the app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.core.errors import Unavailable
from chalicelib.playback.assets import PlayerAssets
from tests.domain.conftest import Stage

HOST = "viewers.example"
ROOT = Path(__file__).resolve().parents[2]
NPM_HLS = ROOT / "node_modules" / "hls.js"
YEAR = "public, max-age=31536000, immutable"


def page(stage: Stage, playback_id: str) -> tuple[str, dict[str, str]]:
    response = stage.get(f"/play/{playback_id}", Host=HOST)
    assert response.status_code == 200, response.body[:500]
    return response.body.decode(), response.headers


def found(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text`` (which must match)."""
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def policy(headers: dict[str, str]) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive → sources."""
    directives = [d.split() for d in headers["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def test_the_player_page_runs_only_scripts_the_app_serves(stage: Stage) -> None:
    stream = stage.create_stream("page")
    html, headers = page(stage, stream["playbackId"])
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert [body for _, body in scripts] == ["", ""], "no inline script"
    sources = [found(r'src="([^"]+)"', attributes) for attributes, _ in scripts]
    assert [s.split("?")[0] for s in sources] == ["assets/hls.min.js", "assets/player.js"]
    assert "//" not in html.replace("<!doctype", ""), "nothing from another origin, no CDN"
    rules = policy(headers)
    assert rules["default-src"] == ["'none'"]
    assert rules["script-src"] == ["'self'"] and rules["worker-src"] == ["'self'"]
    assert not any("unsafe" in source for sources_ in rules.values() for source in sources_)
    assert "blob:" in rules["media-src"], "hls.js hands the video element a MediaSource"
    # Every linked asset is served, for a year at the exact URL the page links.
    links = [*sources, found(r'href="(assets/player\.css[^"]*)"', html), found(r'data-worker="([^"]+)"', html)]
    for link in links:
        served = stage.get(f"/play/{link}")
        assert served.status_code == 200, link
        assert served.headers["Cache-Control"] == YEAR and served.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_asks_the_playback_api_about_its_id(stage: Stage) -> None:
    stream = stage.create_stream("info link")
    html, headers = page(stage, stream["playbackId"])
    assert f'data-info="../playback/{stream["playbackId"]}"' in html
    assert headers["Cache-Control"] == "no-cache" and headers["Referrer-Policy"] == "no-referrer"


def test_the_player_page_escapes_the_playback_id(stage: Stage) -> None:
    hostile = 'x"><img src=x onerror=alert(1)>&'
    html, _ = page(stage, hostile)
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert 'data-playback-id="x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;"' in html
    assert 'data-info="../playback/x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%26"' in html


def test_the_page_may_play_from_the_public_url_and_the_media_bucket(stage: Stage) -> None:
    stage.configure(public_url="https://cdn.example", segment_delivery="redirect")
    stream = stage.create_stream("origins")
    rules = policy(page(stage, stream["playbackId"])[1])
    media = [s for s in rules["connect-src"] if s != "'self'"]
    assert "https://cdn.example" in media
    assert any("amazonaws.com" in s for s in media), media
    assert set(media) <= set(rules["media-src"])


@pytest.mark.skipif(not NPM_HLS.is_dir(), reason="npm packages are not installed (make deps)")
def test_hls_js_is_served_from_the_pinned_npm_package(stage: Stage) -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["hls.js"]
    assert json.loads((NPM_HLS / "package.json").read_text())["version"] == pinned
    for name in ("hls.min.js", "hls.worker.js"):
        served = stage.get(f"/play/assets/{name}")
        assert served.status_code == 200, f"{name}: {served.body[:300]!r} (make player-assets)"
        assert served.body == (NPM_HLS / "dist" / name).read_bytes()
        assert served.headers["Content-Type"] == "text/javascript; charset=utf-8"
        # Without the version the page links, it may change with the next deployment: cached briefly.
        assert served.headers["Cache-Control"] == "public, max-age=300"


def test_an_unknown_asset_is_404(stage: Stage) -> None:
    response = stage.get("/play/assets/other.js")
    assert (response.status_code, response.json_body["error"]["code"]) == (404, "asset_not_found")


def test_a_bundle_without_hls_js_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(Unavailable) as refused:
        PlayerAssets(tmp_path).get("hls.min.js")
    assert refused.value.code == "player_assets_missing" and "make player-assets" in refused.value.message
