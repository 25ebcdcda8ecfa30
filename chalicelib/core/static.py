"""Static files the app serves itself from the Lambda bundle (pages' scripts and styles): read once, versioned.

A page links each file as ``assets/<name>?v=<version>``, the version being a digest of the content, so that URL
names one content for ever and may be cached for a year; any other URL of it is cached briefly.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.errors import ApiError, NotFound

JAVASCRIPT = "text/javascript; charset=utf-8"
STYLESHEET = "text/css; charset=utf-8"
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


class StaticAssets:
    """The static files of one directory, by the names a catalogue gives them, read once per process."""

    def __init__(self, directory: Path, catalogue: Mapping[str, tuple[str, str]], owner: str) -> None:
        """``catalogue`` maps each served name to its file under ``directory`` and its Content-Type; ``owner``
        names the page in messages ("the player")."""
        self.directory = directory
        self.catalogue = catalogue
        self.owner = owner
        self._read: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def missing(self, name: str) -> ApiError:
        """The error for a catalogued file this deployment lacks (a page whose files are built may say how)."""
        return NotFound("asset_not_found", f"this deployment lacks {self.owner}'s {name}")

    def get(self, name: str) -> Asset:
        """Return one asset; 404 for a name that is not one, ``missing`` when the bundle lacks the file."""
        if name not in self.catalogue:
            raise NotFound("asset_not_found", f"{self.owner} has no asset {name!r}")
        with self._lock:
            if name not in self._read:
                relative, content_type = self.catalogue[name]
                try:
                    text = (self.directory / relative).read_text(encoding="utf-8")
                except FileNotFoundError:
                    raise self.missing(name) from None
                version = hashlib.sha256(text.encode()).hexdigest()[:VERSION_CHARS]
                self._read[name] = Asset(name, content_type, text, version)
            return self._read[name]

    def versions(self) -> dict[str, str]:
        """Return every asset's version, by name (the page's links carry them)."""
        return {name: self.get(name).version for name in self.catalogue}
