"""The whole local stack as background processes: moto, one gateway stage, orchestrator stages, workers.

``LocalStack`` is what ``python -m devstack up`` runs, and what integration tests start once per
session on free ports in a temporary state directory (so they never clash with a running
``make up``). Everything it starts is recorded in ``<state_dir>/state.json``, so a later process
(``down``, ``status``) can find and stop it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from chalicelib.auth.apikeys import new_api_key
from chalicelib.auth.store import ApiKeyStore
from chalicelib.core.settings import Settings
from devstack import aws, keys

log = logging.getLogger("devstack.stack")

REPO_ROOT = Path(__file__).resolve().parent.parent
GATEWAY_ROLES: tuple[str, ...] = ("gateway",)
ORCHESTRATOR_ROLES: tuple[str, ...] = ("orchestrator",)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


DEFAULT_CHAIN_PORT = 8545


@dataclass(frozen=True)
class StageSpec:
    """One stage of the app: its name, roles and HTTP port."""

    name: str
    roles: tuple[str, ...]
    port: int
    stake: int = 1


@dataclass(frozen=True)
class ProcessInfo:
    """A process the stack started, as ``status`` reports it."""

    name: str
    pid: int
    alive: bool
    url: str | None
    log: str


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p] or None


def _is_ours(entry: Mapping[str, Any]) -> bool:
    """Tell whether a recorded pid still runs the command we started (pids get reused)."""
    return _cmdline(int(entry["pid"])) == list(entry["cmd"])


class LocalStack:
    """The local stack: start(), stop(), or use it as a context manager."""

    def __init__(
        self,
        state_dir: Path | str = REPO_ROOT / ".devstack",
        *,
        root: Path | str = REPO_ROOT,
        host: str = "127.0.0.1",
        endpoint_url: str | None = None,
        aws_port: int = aws.DEFAULT_PORT,
        gateway_stage: str = "dev",
        gateway_port: int = 8000,
        orchestrators: Mapping[str, int] | None = None,
        stakes: Mapping[str, int] | None = None,
        app_dir: Path | str | None = None,
        app_module: str = "app",
        workers: bool = True,
        schedule_every: float | None = None,
        extra_env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        startup_timeout: float = 60.0,
        region: str = aws.DEFAULT_REGION,
        chain: bool = False,
        chain_port: int = DEFAULT_CHAIN_PORT,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.root = Path(root)
        self.host = host
        self.region = region
        self._endpoint_url = endpoint_url or f"http://{host}:{aws_port}"
        orchestrators = {"orch-a": 8001, "orch-b": 8002} if orchestrators is None else orchestrators
        stakes = stakes or {}
        self.gateway = StageSpec(gateway_stage, GATEWAY_ROLES, gateway_port)
        self.orchestrators = [
            StageSpec(name, ORCHESTRATOR_ROLES, port, stakes.get(name, 1)) for name, port in orchestrators.items()
        ]
        self.app_dir = Path(app_dir) if app_dir is not None else self.root
        self.app_module = app_module
        self.workers = workers
        self.schedule_every = schedule_every
        self.extra_env = dict(extra_env or {})
        self.python = python
        self.startup_timeout = startup_timeout
        self.chain = chain
        self.chain_port = chain_port
        self._popen: dict[str, subprocess.Popen[bytes]] = {}

    @classmethod
    def on_free_ports(
        cls, state_dir: Path | str, orchestrator_stages: Sequence[str] = ("orch-a", "orch-b"), **kwargs: Any
    ) -> LocalStack:
        """Return a stack whose every port is free (for tests beside a running ``make up``)."""
        host = kwargs.get("host", "127.0.0.1")
        return cls(
            state_dir,
            aws_port=free_port(host),
            gateway_port=free_port(host),
            orchestrators={name: free_port(host) for name in orchestrator_stages},
            **kwargs,
        )

    @classmethod
    def from_state(cls, state_dir: Path | str) -> LocalStack:
        """Return the stack recorded in ``state_dir`` by an earlier ``start()`` (for down, status, env)."""
        config = keys.load_state(Path(state_dir)).get("config")
        if not config:
            return cls(state_dir)
        return cls(
            state_dir,
            root=config["root"],
            host=config["host"],
            endpoint_url=config["endpoint_url"],
            gateway_stage=config["gateway"][0],
            gateway_port=config["gateway"][1],
            orchestrators=dict(config["orchestrators"]),
            stakes=config["stakes"],
            app_dir=config["app_dir"],
            app_module=config["app_module"],
            workers=config["workers"],
            schedule_every=config["schedule_every"],
            extra_env=config["extra_env"],
            region=config["region"],
            chain=config.get("chain", False),
            chain_port=config.get("chain_port", DEFAULT_CHAIN_PORT),
        )

    def _config(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "host": self.host,
            "endpoint_url": self._endpoint_url,
            "gateway": [self.gateway.name, self.gateway.port],
            "orchestrators": [[o.name, o.port] for o in self.orchestrators],
            "stakes": {o.name: o.stake for o in self.orchestrators},
            "app_dir": str(self.app_dir),
            "app_module": self.app_module,
            "workers": self.workers,
            "schedule_every": self.schedule_every,
            "extra_env": self.extra_env,
            "region": self.region,
            "chain": self.chain,
            "chain_port": self.chain_port,
        }

    # --- what it exposes -------------------------------------------------------------------------

    @property
    def stages(self) -> list[StageSpec]:
        """Every stage, the gateway first."""
        return [self.gateway, *self.orchestrators]

    @property
    def endpoint_url(self) -> str:
        """The AWS endpoint (moto or LocalStack)."""
        return str(self._state().get("endpoint_url", self._endpoint_url))

    def url_of(self, stage: str) -> str:
        """The base URL of a stage's HTTP front."""
        spec = next(s for s in self.stages if s.name == stage)
        return f"http://{self.host}:{spec.port}"

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL, e.g. ``http://127.0.0.1:8000``."""
        return self.url_of(self.gateway.name)

    @property
    def orchestrator_urls(self) -> dict[str, str]:
        """Each orchestrator stage's base URL."""
        return {s.name: self.url_of(s.name) for s in self.orchestrators}

    @property
    def api_key(self) -> str:
        """The dev API key registered in the gateway's ``apikeys`` table."""
        key = self._state().get("api_key")
        if not key:
            raise RuntimeError("the stack has not been started: no API key yet")
        return str(key)

    @property
    def logs_dir(self) -> Path:
        """Where each process logs (``<name>.log``)."""
        return self.state_dir / "logs"

    def address_of(self, stage: str) -> str:
        """The Ethereum address of a stage's key."""
        return keys.address_of(keys.stage_key(self._state(), stage))

    def session(self) -> boto3.session.Session:
        """A boto3 session with the dummy credentials; pass ``endpoint_url`` to its clients."""
        return aws.session(self.region)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` at the stack's endpoint."""
        return aws.client(self.session(), service, self.endpoint_url)

    def settings(self, stage: str) -> Settings:
        """The ``Settings`` a stage's processes run with (for physical names)."""
        spec = next(s for s in self.stages if s.name == stage)
        return Settings(stage=stage, roles=spec.roles)  # type: ignore[arg-type]

    def env_for(self, stage: str) -> dict[str, str]:
        """The environment a stage's processes run with (on top of this process's)."""
        state = self._state()
        spec = next(s for s in self.stages if s.name == stage)
        env = {
            **aws.endpoint_env(self.endpoint_url, self.region),
            "LP_STAGE": stage,
            "LP_ROLES": json.dumps(list(spec.roles)),
            "LP_PUBLIC_URL": self.url_of(stage),
            "LP_ETH_PRIVATE_KEY": keys.stage_key(state, stage),
            "PYTHONUNBUFFERED": "1",
        }
        if self.chain:
            env["LP_ETH_RPC_URL"] = self.chain_url
            env["LP_DEPLOYMENT_FILE"] = str(self.deployment_file)
        if spec is self.gateway:
            env["LP_ORCHESTRATORS"] = json.dumps(
                [
                    {
                        "address": keys.address_of(keys.stage_key(state, o.name)),
                        "url": self.url_of(o.name),
                        "stake": o.stake,
                    }
                    for o in self.orchestrators
                ]
            )
        env.update(self.extra_env)
        return env

    # --- state -----------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        if not hasattr(self, "_cached_state"):
            self._cached_state = keys.load_state(self.state_dir)
        return self._cached_state

    def _save(self) -> None:
        keys.save_state(self.state_dir, self._state())

    # --- start and stop ----------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Start everything in the background; return once every HTTP front answers."""
        state = self._state()
        if any(_is_ours(p) for p in state.get("processes", {}).values()):
            raise RuntimeError(f"a stack from {self.state_dir} is already running: stop it first")
        state["processes"] = {}
        state["config"] = self._config()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_endpoint()
            if self.chain:
                self._start_chain()
            for spec in self.stages:
                keys.stage_key(state, spec.name)
                aws.provision(spec.name, spec.roles, self.endpoint_url, region=self.region)
            self._register_api_key()
            self._save()
            for spec in self.stages:
                self._spawn(f"serve-{spec.name}", self._serve_cmd(spec), spec.name, self.url_of(spec.name))
            deadline = time.monotonic() + self.startup_timeout
            for spec in self.stages:
                self._wait_http(f"serve-{spec.name}", self.url_of(spec.name), deadline)
            if self.workers:
                self._start_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_endpoint(self) -> None:
        state = self._state()
        if aws.endpoint_answers(self._endpoint_url):
            log.info("using the AWS endpoint already answering at %s", self._endpoint_url)
        elif not aws.is_local(self._endpoint_url):
            raise RuntimeError(f"nothing answers at {self._endpoint_url}")
        else:
            from urllib.parse import urlsplit

            parts = urlsplit(self._endpoint_url)
            cmd = [
                self.python,
                "-m",
                "moto.server",
                "-H",
                parts.hostname or self.host,
                "-p",
                str(parts.port or aws.DEFAULT_PORT),
            ]
            self._spawn("moto", cmd, None, self._endpoint_url)
            self._wait_http("moto", self._endpoint_url, time.monotonic() + 30)
        state["endpoint_url"] = self._endpoint_url

    @property
    def chain_url(self) -> str:
        """The local chain's JSON-RPC endpoint (Anvil)."""
        return f"http://{self.host}:{self.chain_port}"

    @property
    def deployment_file(self) -> Path:
        """Where the protocol contracts' deployment (addresses and ABIs) is written."""
        return self.state_dir / "deployment.json"

    def _start_chain(self) -> None:
        """Start Anvil, build the contracts (cached by a hash of the sources) and deploy them."""
        # The platform's native binary, not node_modules/.bin/anvil: that is a node shim whose
        # command line would not match what the state records, so `down` could not find it.
        found = sorted((self.root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
        if not found:
            raise RuntimeError("Anvil is not installed under node_modules/@foundry-rs: run `make deps`")
        cmd = [str(found[0]), "--host", self.host, "--port", str(self.chain_port), "--silent"]
        self._spawn("anvil", cmd, None, self.chain_url)
        self._wait_http("anvil", self.chain_url, time.monotonic() + 30)
        with (self.logs_dir / "deploy.log").open("ab") as log_file:
            for step in (
                ["node", str(self.root / "contracts" / "build.mjs")],
                [self.python, "-m", "contracts.deploy", "--rpc", self.chain_url, "--out", str(self.deployment_file)],
            ):
                done = subprocess.run(step, cwd=self.root, stdout=log_file, stderr=subprocess.STDOUT, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(step)} failed: see {self.logs_dir / 'deploy.log'}")
        # Deployed with a block per transaction (fast); from now on also a block a second, so that
        # rounds (roundLength blocks) advance while the stack idles, as on a real chain.
        request = urllib.request.Request(
            self.chain_url,
            data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "evm_setIntervalMining", "params": [1]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        log.info("protocol contracts deployed: %s", self.deployment_file)

    def _serve_cmd(self, spec: StageSpec) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "devstack",
            "serve",
            "--stage",
            spec.name,
            "--host",
            self.host,
            "--port",
            str(spec.port),
            "--app-dir",
            str(self.app_dir),
            "--app-module",
            self.app_module,
            "--no-provision",
        ]
        if self.schedule_every is not None:
            cmd += ["--schedule-every", str(self.schedule_every)]
        return cmd

    def _start_workers(self) -> None:
        if not (self.root / "gpu_worker" / "__main__.py").exists():
            log.warning("gpu_worker has no __main__ yet: no workers started")
            return
        for spec in self.orchestrators:
            self._spawn(f"worker-{spec.name}", [self.python, "-m", "gpu_worker"], spec.name, None)
        time.sleep(0.5)
        for spec in self.orchestrators:
            proc = self._popen.get(f"worker-{spec.name}")
            if proc is not None and proc.poll() is not None:
                log.warning(
                    "worker-%s exited at once (%s): see %s",
                    spec.name,
                    proc.returncode,
                    self.logs_dir / f"worker-{spec.name}.log",
                )

    def _spawn(self, name: str, cmd: list[str], stage: str | None, url: str | None) -> None:
        env = dict(os.environ)
        env.pop("AWS_PROFILE", None)
        if stage is not None:
            env.update(self.env_for(stage))
        pythonpath = [str(self.root), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in pythonpath if p)
        log_path = self.logs_dir / f"{name}.log"
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._popen[name] = proc
        # The command as /proc shows it, to recognise the process later.
        self._state()["processes"][name] = {
            "pid": proc.pid,
            "cmd": cmd,
            "log": str(log_path),
            "url": url,
            "stage": stage,
        }
        self._save()

    def _wait_http(self, name: str, url: str, deadline: float) -> None:
        while not aws.endpoint_answers(url, timeout=0.5):
            proc = self._popen.get(name)
            if proc is not None and proc.poll() is not None:
                tail = (self.logs_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not answer at {url}")
            time.sleep(0.1)

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop every process the stack started (SIGTERM, then SIGKILL after ``grace_s``)."""
        state = self._state()
        procs = state.get("processes", {})
        # Fronts and workers first, the endpoint last, so that nothing polls a vanished endpoint.
        for group in ([n for n in procs if n != "moto"], [n for n in procs if n == "moto"]):
            for name in group:
                if _is_ours(procs[name]):
                    _signal(int(procs[name]["pid"]), signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            for name in group:
                entry = procs[name]
                while _is_ours(entry) and time.monotonic() < deadline:
                    self._reap(name)
                    time.sleep(0.05)
                if _is_ours(entry):
                    log.warning("%s did not stop: SIGKILL", name)
                    _signal(int(entry["pid"]), signal.SIGKILL)
                    # Not necessarily our child (``down`` runs in another process): wait it out.
                    killed_by = time.monotonic() + 2
                    while _is_ours(entry) and time.monotonic() < killed_by:
                        self._reap(name)
                        time.sleep(0.02)
                self._reap(name, wait=True)
        state["processes"] = {}
        if self.state_dir.exists():
            self._save()

    def _reap(self, name: str, wait: bool = False) -> None:
        proc = self._popen.get(name)
        if proc is None:
            return
        try:
            proc.wait(2 if wait else 0.001)
            self._popen.pop(name, None)
        except subprocess.TimeoutExpired:
            pass

    def status(self) -> list[ProcessInfo]:
        """The processes recorded in the state and whether each still runs."""
        return [
            ProcessInfo(name, int(e["pid"]), _is_ours(e), e.get("url"), str(e["log"]))
            for name, e in self._state().get("processes", {}).items()
        ]

    def _register_api_key(self) -> None:
        state = self._state()
        key = state.get("api_key") or new_api_key()
        table_name = self.settings(self.gateway.name).name("apikeys")
        table = self.session().resource("dynamodb", endpoint_url=self.endpoint_url).Table(table_name)
        ApiKeyStore(table).register(key, "devstack")
        state["api_key"] = key

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal(pid: int, signum: int) -> None:
    # Each process leads its own session: signal its group, so that its children stop too.
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
