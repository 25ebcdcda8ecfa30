"""The player page's static files, served by the app itself from the Lambda bundle (no CDN, nothing remote).

``static/player.js`` and ``static/player.css`` are this project's. ``static/npm/hls.min.js`` and
``static/npm/hls.worker.js`` are hls.js as published: ``make player-assets`` copies them from the npm package
pinned in ``package.json`` and ``package-lock.json`` (they are git-ignored and never edited by hand), and
``scripts/check_bundle.py`` checks that the Lambda bundle carries them, equal to the installed package's.
"""

from __future__ import annotations

from pathlib import Path

from chalicelib.core.errors import ApiError, Unavailable
from chalicelib.core.static import IMMUTABLE, JAVASCRIPT, REVALIDATE, STYLESHEET, VERSION_CHARS, Asset, StaticAssets

__all__ = [
    "ASSETS",
    "IMMUTABLE",
    "JAVASCRIPT",
    "PACKAGED",
    "REVALIDATE",
    "STATIC_DIR",
    "STYLESHEET",
    "VERSION_CHARS",
    "Asset",
    "PlayerAssets",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: What ``/play/assets/{name}`` serves: the file under ``STATIC_DIR`` and its Content-Type.
ASSETS: dict[str, tuple[str, str]] = {
    "player.js": ("player.js", JAVASCRIPT),
    "player.css": ("player.css", STYLESHEET),
    "hls.min.js": ("npm/hls.min.js", JAVASCRIPT),
    "hls.worker.js": ("npm/hls.worker.js", JAVASCRIPT),
}


class PlayerAssets(StaticAssets):
    """The player's static files of one directory, read once per process."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        super().__init__(directory, ASSETS, "the player")

    def missing(self, name: str) -> ApiError:
        """hls.js is copied in by the build: a bundle without it says how to make it."""
        return Unavailable("player_assets_missing", f"this deployment lacks the player's {name}: `make player-assets`")


#: The assets packaged beside this module (one reader per process, like the Lambda's other caches).
PACKAGED = PlayerAssets()
