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
from typing import Annotated, Any

import typer
from chalice.app import Chalice

from devstack import aws
from devstack.front import FrontConfig, FrontThread
from devstack.pump import Pump, PumpConfig

log = logging.getLogger("devstack.serve")
REPO_ROOT = Path(__file__).resolve().parent.parent


def load_app(app_dir: Path, module: str = "app") -> Chalice:
    """Import ``module`` from ``app_dir`` and return its ``app`` (a Chalice app)."""
    if (path := str(app_dir.resolve())) not in sys.path:
        sys.path.insert(0, path)
    app: Any = importlib.import_module(module).app
    if not isinstance(app, Chalice):
        raise TypeError(f"{module}.app is not a Chalice app")
    return app


def serve(
    stage: Annotated[str, typer.Option(help="The stage (its LP_* environment must be set).")],
    port: int = 8000,
    host: str = "127.0.0.1",
    app_dir: Annotated[Path, typer.Option(help="The folder holding the app module.")] = REPO_ROOT,
    app_module: str = "app",
    provision: Annotated[bool, typer.Option(help="Create the stage's resources first.")] = True,
    pump: Annotated[bool, typer.Option(help="Run the event pump beside the HTTP front.")] = True,
    schedule_every: Annotated[float | None, typer.Option(help="Fire every schedule this often (s).")] = None,
    max_body_bytes: int | None = None,
) -> None:
    """Serve one stage in the foreground until SIGTERM or SIGINT: the HTTP front and the event pump."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format=f"%(asctime)s {stage} %(name)s %(levelname)s %(message)s"
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("LP_STAGE", stage)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
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
    event_pump = Pump(app, endpoint, PumpConfig(stage=stage, schedule_every=schedule_every)).start() if pump else None
    front = FrontThread(app, host, port, config).start()
    log.info("stage %s (%s) serves %s", stage, ",".join(roles), front.url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    log.info("stage %s stopping", stage)
    front.stop()
    if event_pump is not None:
        event_pump.stop()
