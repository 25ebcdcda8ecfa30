"""The dashboard page's script and style, served by the app itself from the Lambda bundle (nothing remote)."""

from __future__ import annotations

from pathlib import Path

from chalicelib.core.static import JAVASCRIPT, STYLESHEET, StaticAssets

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: What ``/dashboard/assets/{name}`` serves: the file under ``STATIC_DIR`` and its Content-Type.
ASSETS: dict[str, tuple[str, str]] = {
    "dashboard.js": ("dashboard.js", JAVASCRIPT),
    "dashboard.css": ("dashboard.css", STYLESHEET),
}

#: The dashboard's files packaged beside this module (read once per process).
PACKAGED = StaticAssets(STATIC_DIR, ASSETS, "the dashboard")
