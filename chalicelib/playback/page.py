"""The player page (``/play/{playbackId}``): the HTML a broadcaster's link opens, and its Content-Security-Policy.

The page is markup only. Its script (``assets/player.js``) and hls.js come from this app, and the policy lets
the page run scripts from its own origin and nothing else: no inline script, no ``eval``, no CDN. The
playback id is the one value the page carries, escaped; everything the script shows it sets as text. Links
are relative, so the page works at any path prefix (an API Gateway stage) and on any host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from chalicelib.playback.assets import PlayerAssets

# What a policy may name besides 'self': scheme://host[:port], nothing that could end a directive.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


@dataclass(frozen=True)
class PlayerPage:
    """The page's HTML and the Content-Security-Policy it must be served with."""

    html: str
    policy: str


def content_security_policy(media_origins: Iterable[str] = ()) -> str:
    """Return the page's policy: scripts, worker and styles from this origin only; media from here or ``media_origins``.

    hls.js fetches playlists and segments (``connect-src``) and feeds them to the video element through a
    ``blob:`` MediaSource URL (``media-src``); Safari's native HLS loads the playlist as media itself.
    """
    extra = sorted({o for o in media_origins if _ORIGIN.fullmatch(o)})
    media = " ".join(["'self'", *extra])
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "worker-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src {media}",
        f"media-src {media} blob:",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    return "; ".join(directives)


def _asset(name: str, versions: dict[str, str]) -> str:
    return f"assets/{name}?v={versions[name]}"


def render_player(playback_id: str, assets: PlayerAssets, media_origins: Iterable[str] = ()) -> PlayerPage:
    """Return the player page of a playback id (any text: it is escaped, and the script asks the API about it)."""
    versions = assets.versions()
    pid = escape(playback_id, quote=True)
    info_url = escape(f"../playback/{quote(playback_id, safe='')}", quote=True)
    stylesheet, hls_js, script, worker = (
        _asset(name, versions) for name in ("player.css", "hls.min.js", "player.js", "hls.worker.js")
    )
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Live video · {pid}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{stylesheet}">
<script src="{hls_js}" defer></script>
<script src="{script}" defer></script>
</head>
<body>
<main id="player" data-state="loading" data-playback-id="{pid}" data-info="{info_url}"
      data-worker="{worker}">
  <div class="screen">
    <video id="video" muted autoplay playsinline controls></video>
    <span id="live-badge" class="badge" hidden>LIVE</span>
    <p id="message" class="message" role="status" aria-live="polite">Loading…</p>
  </div>
  <div class="bar">
    <label for="quality">Quality</label>
    <select id="quality" disabled><option value="-1">Auto</option></select>
  </div>
  <noscript><p class="message">This player needs JavaScript.</p></noscript>
</main>
</body>
</html>
"""
    return PlayerPage(html=html, policy=content_security_policy(media_origins))
