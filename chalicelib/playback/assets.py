"""The player page's static files, served by the app itself from the Lambda bundle (no CDN, nothing remote).

``static/player.js`` and ``static/player.css`` are this project's. ``static/npm/hls.min.js`` and
``static/npm/hls.worker.js`` are hls.js as published: ``make player-assets`` copies them from the npm package
pinned in ``package.json`` and ``package-lock.json`` (they are git-ignored and never edited by hand), and
``scripts/check_bundle.py`` checks that the Lambda bundle carries them, equal to the installed package's.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.errors import NotFound, Unavailable

STATIC_DIR = Path(__file__).resolve().parent / "static"
JAVASCRIPT = "text/javascript; charset=utf-8"
STYLESHEET = "text/css; charset=utf-8"
#: What ``/play/assets/{name}`` serves: the file under ``STATIC_DIR`` and its Content-Type.
ASSETS: dict[str, tuple[str, str]] = {
    "player.js": ("player.js", JAVASCRIPT),
    "player.css": ("player.css", STYLESHEET),
    "hls.min.js": ("npm/hls.min.js", JAVASCRIPT),
    "hls.worker.js": ("npm/hls.worker.js", JAVASCRIPT),
}
#: The page links each asset as ``assets/<name>?v=<version>``: that URL names one content for ever.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Any other URL of an asset (no or an old ``v``) may change with the next deployment.
REVALIDATE = "public, max-age=300"
VERSION_CHARS = 16


@dataclass(frozen=True)
class Asset:
    """One static file: its text, Content-Type and version (a digest of its content)."""

    name: str
    content_type: str
    text: str
    version: str

    def cache_control(self, requested_version: str | None) -> str:
        """Cached for a year when asked for by this content's version, briefly otherwise."""
        return IMMUTABLE if requested_version == self.version else REVALIDATE


class PlayerAssets:
    """The static files of one directory, read once per process."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._read: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Asset:
        """Return one asset; 404 for a name that is not one, 503 when the bundle lacks the file."""
        if name not in ASSETS:
            raise NotFound("asset_not_found", f"the player has no asset {name!r}")
        with self._lock:
            if name not in self._read:
                relative, content_type = ASSETS[name]
                try:
                    text = (self.directory / relative).read_text(encoding="utf-8")
                except FileNotFoundError:
                    raise Unavailable(
                        "player_assets_missing", f"this deployment lacks the player's {name}: `make player-assets`"
                    ) from None
                version = hashlib.sha256(text.encode()).hexdigest()[:VERSION_CHARS]
                self._read[name] = Asset(name, content_type, text, version)
            return self._read[name]

    def versions(self) -> dict[str, str]:
        """Return every asset's version, by name (the page's links carry them)."""
        return {name: self.get(name).version for name in ASSETS}


#: The assets packaged beside this module (one reader per process, like the Lambda's other caches).
PACKAGED = PlayerAssets()
