"""One stage of the app in one process: the HTTP front (API Gateway) and the event pump (Lambda).

The stage's ``LP_*`` environment must be set before the app is imported, because the app names
its queues from it at import time; ``python -m devstack serve`` is started with it by the stack.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from chalice.app import Chalice

from devstack import aws
from devstack.front import FrontConfig, FrontThread
from devstack.pump import Pump, PumpConfig

log = logging.getLogger("devstack.serve")


def load_app(app_dir: Path, module: str = "app") -> Chalice:
    """Import ``module`` from ``app_dir`` and return its ``app`` (a Chalice app)."""
    path = str(app_dir.resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    mod = importlib.import_module(module)
    app: Any = mod.app
    if not isinstance(app, Chalice):
        raise TypeError(f"{module}.app is not a Chalice app")
    return app


def configure_logging(stage: str, level: int = logging.INFO) -> None:
    """Log to stderr, one line per record, with the stage name."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"%(asctime)s {stage} %(name)s %(levelname)s %(message)s",
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve(
    *,
    stage: str,
    port: int,
    host: str = "127.0.0.1",
    app_dir: Path = Path("."),
    app_module: str = "app",
    endpoint_url: str | None = None,
    provision: bool = True,
    pump: bool = True,
    schedule_every: float | None = None,
    max_body_bytes: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve one stage until SIGTERM/SIGINT (or ``stop`` is set)."""
    os.environ.setdefault("LP_STAGE", stage)
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise SystemExit("AWS_ENDPOINT_URL is not set: run `python -m devstack up`, or set it")
    os.environ.update({k: v for k, v in aws.endpoint_env(endpoint).items() if k not in os.environ})
    roles = tuple(json.loads(os.environ.get("LP_ROLES", '["gateway"]')))
    if provision:
        aws.provision(stage, roles, endpoint, prefix=os.environ.get("LP_RESOURCE_PREFIX") or None)
    app = load_app(app_dir, app_module)
    config = FrontConfig(stage=stage)
    if max_body_bytes is not None:
        config.max_body_bytes = max_body_bytes
    # The pump first: once the front answers (the stack's health check), events flow too.
    event_pump = Pump(app, endpoint, PumpConfig(stage=stage, schedule_every=schedule_every)) if pump else None
    if event_pump is not None:
        event_pump.start()
    front = FrontThread(app, host, port, config).start()
    log.info("stage %s (%s) serves %s", stage, ",".join(roles), front.url)

    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    log.info("stage %s stopping", stage)
    front.stop()
    if event_pump is not None:
        event_pump.stop()
