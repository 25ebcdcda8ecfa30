"""Build the Lambda bundle with `chalice package` and check it against Lambda's size limits.

Lambda takes a zip of at most 50 MB for direct upload and 250 MB unzipped; PyAV must never be in
it (the worker, not the API, transcodes), and importing the app must not load web3 or PyAV (the
chain bindings under chalicelib/chain are packaged but only tools and the chain services use them).
The player page's hls.js must be in it, byte for byte the npm package pinned in package.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIP_LIMIT = 50 * 1000 * 1000
UNZIPPED_LIMIT = 250 * 1000 * 1000
FORBIDDEN = ("av/", "gpu_worker/", "moto/", "devstack/", "lpcli/")
# Modules that importing app.py (in either role) must not load.
NOT_IMPORTED = ("web3", "av", "moto", "devstack", "gpu_worker", "lpcli")
# hls.js as `make player-assets` copies it into chalicelib (bundle path -> the npm package's file).
PLAYER_NPM = {
    f"chalicelib/playback/static/npm/{name}": ROOT / "node_modules" / "hls.js" / "dist" / name
    for name in ("hls.min.js", "hls.worker.js")
}
IMPORT_CHECK = (
    "import sys, app; "
    f"loaded = [m for m in {NOT_IMPORTED!r} if m in sys.modules]; "
    "print(' '.join(loaded)); sys.exit(1 if loaded else 0)"
)


def main() -> int:
    chalice = Path(sys.executable).with_name("chalice")
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        subprocess.run([str(chalice), "package", "--stage", "dev", out], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        bundle = Path(out) / "deployment.zip"
        zipped = bundle.stat().st_size
        with zipfile.ZipFile(bundle) as archive:
            infos = archive.infolist()
            packaged = {name: archive.read(name) for name in PLAYER_NPM if name in archive.namelist()}
        unzipped = sum(i.file_size for i in infos)
        bad = sorted({i.filename.split("/")[0] + "/" for i in infos if i.filename.startswith(FORBIDDEN)})
    print(f"Lambda bundle: {zipped / 1e6:.1f} MB zipped (limit {ZIP_LIMIT / 1e6:.0f} MB), "
          f"{unzipped / 1e6:.1f} MB unzipped (limit {UNZIPPED_LIMIT / 1e6:.0f} MB), {len(infos)} files")
    problems = []
    if zipped > ZIP_LIMIT:
        problems.append("the zip is over Lambda's 50 MB limit")
    if unzipped > UNZIPPED_LIMIT:
        problems.append("the unzipped bundle is over Lambda's 250 MB limit")
    if bad:
        problems.append(f"the bundle holds what belongs elsewhere: {', '.join(bad)}")
    problems.extend(player_problems(packaged))
    roles = {**env, "LP_ROLES": '["gateway", "orchestrator"]', "PYTHONPATH": str(ROOT)}
    imported = subprocess.run([sys.executable, "-c", IMPORT_CHECK], cwd=ROOT, env=roles, capture_output=True, text=True)
    if imported.returncode != 0:
        loaded = imported.stdout.strip() or imported.stderr
        problems.append(f"importing the app loads what the Lambda must not: {loaded}")
    for problem in problems:
        print(f"bundle check failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


def player_problems(packaged: dict[str, bytes]) -> list[str]:
    """What is wrong with the bundle's hls.js: missing, or not the pinned npm package's files."""
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["hls.js"]
    installed = json.loads((ROOT / "node_modules" / "hls.js" / "package.json").read_text())["version"]
    problems = [] if installed == pinned else [f"node_modules holds hls.js {installed}, package.json pins {pinned}"]
    for name, npm_file in PLAYER_NPM.items():
        if name not in packaged:
            problems.append(f"the bundle lacks {name} (make player-assets)")
        elif packaged[name] != npm_file.read_bytes():
            problems.append(f"{name} differs from {npm_file.relative_to(ROOT)} (make player-assets)")
    return problems


if __name__ == "__main__":
    sys.exit(main())
