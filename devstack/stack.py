"""The whole local stack as background processes: moto, Anvil, one gateway stage, orchestrator stages, workers.

``LocalStack`` is what ``python -m devstack up`` runs, and what integration tests start on free
ports in a temporary state directory (so they never clash with a running ``make up``). It composes
the state file (``state``), the process supervisor (``processes``), the AWS resources (``aws``) and
the chain (``chain``).
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from chalicelib.auth.apikeys import new_api_key
from chalicelib.auth.store import ApiKeyStore
from chalicelib.core.settings import Settings
from devstack import aws, chain, network, state
from devstack.net import endpoint_answers, free_port
from devstack.processes import ProcessInfo, Supervisor, is_running

log = logging.getLogger("devstack.stack")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHAIN_PORT = 8545
STARTUP_TIMEOUT_S = 60.0
#: How often schedules fire in an on-chain stack (the chain poller, round duties), in seconds.
ONCHAIN_SCHEDULE_S = 3.0
# Stopped after everything else, so that nothing polls a vanished endpoint.
_SERVICES = ("moto", "anvil")


@dataclass(frozen=True)
class StageSpec:
    """One stage of the app: its name, roles and HTTP port."""

    name: str
    roles: tuple[str, ...]
    port: int
    stake: int = 1


class LocalStack:
    """The local stack: start(), stop(), or use it as a context manager."""

    def __init__(
        self,
        state_dir: Path | str = REPO_ROOT / ".devstack",
        *,
        host: str = "127.0.0.1",
        endpoint_url: str | None = None,
        aws_port: int = aws.DEFAULT_PORT,
        gateway_port: int = 8000,
        orchestrators: Mapping[str, int] | None = None,
        stakes: Mapping[str, int] | None = None,
        app_dir: Path | str = REPO_ROOT,
        workers: bool = True,
        schedule_every: float | None = None,
        extra_env: Mapping[str, str] | None = None,
        chain: bool = False,
        chain_port: int = DEFAULT_CHAIN_PORT,
        onchain: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.logs_dir = self.state_dir / "logs"
        #: Where the protocol contracts' deployment (addresses and ABIs) is written.
        self.deployment_file = self.state_dir / "deployment.json"
        self.host = host
        #: moto's (or a running LocalStack's) URL.
        self.endpoint_url = endpoint_url or f"http://{host}:{aws_port}"
        orchestrators = {"orch-a": 8001, "orch-b": 8002} if orchestrators is None else dict(orchestrators)
        stakes = {name: (stakes or {}).get(name, 1) for name in orchestrators}
        self.gateway = StageSpec("dev", ("gateway",), gateway_port)
        self.orchestrators = [StageSpec(n, ("orchestrator",), p, stakes[n]) for n, p in orchestrators.items()]
        self.stages = [self.gateway, *self.orchestrators]
        self.gateway_url = self.url_of(self.gateway.name)
        self.orchestrator_urls = {o.name: self.url_of(o.name) for o in self.orchestrators}
        self.app_dir = Path(app_dir)
        self.workers = workers
        self.schedule_every = schedule_every
        self.extra_env = dict(extra_env or {})
        #: On-chain mode: orchestrators registered on the chain, found there, and paid with tickets.
        self.onchain = onchain
        self.chain = chain or onchain
        self.chain_port = chain_port
        if onchain and schedule_every is None:
            # The chain poller and round duties are schedules: locally they run every few seconds.
            self.schedule_every = ONCHAIN_SCHEDULE_S
        self.chain_url = f"http://{host}:{chain_port}"
        # Saved in the state file, for ``from_state`` to pass back to the constructor.
        self._config = dict(
            host=host,
            endpoint_url=self.endpoint_url,
            gateway_port=gateway_port,
            orchestrators=orchestrators,
            stakes=stakes,
            app_dir=str(app_dir),
            workers=workers,
            schedule_every=schedule_every,
            extra_env=self.extra_env,
            chain=chain,
            chain_port=chain_port,
            onchain=onchain,
        )
        self._state = state.load(self.state_dir)
        self._processes = Supervisor(self.logs_dir, REPO_ROOT, self._state.setdefault("processes", {}), self._save)

    @classmethod
    def on_free_ports(
        cls, state_dir: Path | str, orchestrator_stages: Sequence[str] = ("orch-a", "orch-b"), **kwargs: Any
    ) -> LocalStack:
        """Return a stack whose every port is free (for tests beside a running ``make up``)."""
        host = kwargs.get("host", "127.0.0.1")
        orchestrators = {name: free_port(host) for name in orchestrator_stages}
        return cls(
            state_dir, aws_port=free_port(host), gateway_port=free_port(host), orchestrators=orchestrators, **kwargs
        )

    @classmethod
    def from_state(cls, state_dir: Path | str) -> LocalStack:
        """Return the stack recorded in ``state_dir`` by an earlier ``start()`` (for down, status, env)."""
        config = state.load(Path(state_dir)).get("config") or {}
        known = inspect.signature(cls).parameters  # an older state file may name options now gone
        return cls(state_dir, **{k: v for k, v in config.items() if k in known})

    # --- what it exposes -------------------------------------------------------------------------

    def _spec(self, stage: str) -> StageSpec:
        return next(s for s in self.stages if s.name == stage)

    def url_of(self, stage: str) -> str:
        """The base URL of a stage's HTTP front."""
        return f"http://{self.host}:{self._spec(stage).port}"

    @property
    def api_key(self) -> str:
        """The dev API key registered in the gateway's ``apikeys`` table."""
        key = self._state.get("api_key")
        if not key:
            raise RuntimeError("the stack has not been started: no API key yet")
        return str(key)

    def address_of(self, stage: str) -> str:
        """The Ethereum address of a stage's key."""
        return state.address_of(state.stage_key(self._state, stage))

    def session(self) -> boto3.session.Session:
        """A boto3 session with the dummy credentials; pass ``endpoint_url`` to its clients."""
        return aws.session()

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` at the stack's endpoint."""
        return aws.client(self.session(), service, self.endpoint_url)

    def settings(self, stage: str) -> Settings:
        """The ``Settings`` a stage's processes run with (for physical names)."""
        return Settings(stage=stage, roles=self._spec(stage).roles)  # type: ignore[arg-type]

    def env_for(self, stage: str) -> dict[str, str]:
        """The environment a stage's processes run with (on top of this process's)."""
        spec = self._spec(stage)
        env = {
            **aws.endpoint_env(self.endpoint_url),
            "LP_STAGE": stage,
            "LP_ROLES": json.dumps(list(spec.roles)),
            "LP_PUBLIC_URL": self.url_of(stage),
            "LP_ETH_PRIVATE_KEY": state.stage_key(self._state, stage),
            "PYTHONUNBUFFERED": "1",
        }
        if self.chain:
            env["LP_ETH_RPC_URL"] = self.chain_url
            env["LP_DEPLOYMENT_FILE"] = str(self.deployment_file)
            # Anvil does not reorganize by itself: the poller may read up to the newest block.
            env["LP_CHAIN_CONFIRMATIONS"] = "0"
        if self.onchain:
            env["LP_MODE"] = "onchain"
            if spec is self.gateway:
                env["LP_MAX_PRICE_WEI_PER_PIXEL"] = network.MAX_PRICE_WEI_PER_PIXEL
            else:
                env.update(network.orchestrator_env(self.orchestrators.index(spec)))
                env["LP_WORKER_REPORT_USAGE"] = "true"
        if spec is self.gateway:
            orchestrators = [
                {"address": self.address_of(o.name), "url": self.url_of(o.name), "stake": o.stake}
                for o in self.orchestrators
            ]
            env["LP_ORCHESTRATORS"] = json.dumps(orchestrators)
            # Webhooks may be posted to an app on the developer's own machine (loopback only: private,
            # link-local and metadata addresses stay refused). The app's default is no.
            env["LP_WEBHOOK_ALLOW_LOOPBACK"] = "true"
        else:
            # An orchestrator takes signed jobs from this stack's gateway only, and lets job URLs (and its
            # workers' connections) reach this stack's AWS endpoint although it is on loopback: explicitly.
            env["LP_ALLOWED_GATEWAYS"] = json.dumps([self.address_of(self.gateway.name)])
            env["LP_ALLOWED_JOB_ORIGINS"] = json.dumps([self.endpoint_url])
        return {**env, **self.extra_env}

    def status(self) -> list[ProcessInfo]:
        """The processes recorded in the state and whether each still runs."""
        return self._processes.status()

    # --- start and stop ----------------------------------------------------------------------------

    def _save(self) -> None:
        if self.state_dir.exists():
            state.save(self.state_dir, self._state)

    def start(self) -> LocalStack:
        """Start everything in the background; return once every HTTP front answers."""
        if any(is_running(p) for p in self._processes.records.values()):
            raise RuntimeError(f"a stack from {self.state_dir} is already running: stop it first")
        self._processes.records.clear()
        self._state["config"] = self._config
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_aws()
            if self.chain:
                self._start_chain()
            for spec in self.stages:
                aws.provision(spec.name, spec.roles, self.endpoint_url)
            self._register_api_key()
            if self.chain:
                if self.onchain:
                    self._bootstrap_network()
                chain.mine_every_second(self.chain_url)
            for spec in self.stages:
                self._processes.spawn(
                    f"serve-{spec.name}", self._serve_cmd(spec), self.env_for(spec.name), self.url_of(spec.name)
                )
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            for spec in self.stages:
                answers = partial(endpoint_answers, self.url_of(spec.name), 0.5)
                self._processes.wait_until(f"serve-{spec.name}", answers, deadline - time.monotonic())
            if self.workers:
                self._start_workers()
            if self.onchain:
                self._wait_for_projections(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_aws(self) -> None:
        url = self.endpoint_url
        if endpoint_answers(url):
            log.info("using the AWS endpoint already answering at %s", url)
        elif not aws.is_local(url):
            raise RuntimeError(f"nothing answers at {url}")
        else:
            parts = urlsplit(url)
            cmd = [sys.executable, "-m", "moto.server", "-H", parts.hostname or self.host, "-p", str(parts.port)]
            self._processes.spawn("moto", cmd, url=url)
            self._processes.wait_until("moto", lambda: endpoint_answers(url, 0.5), 30)

    def _start_chain(self) -> None:
        """Start Anvil under the supervisor, then build and deploy the protocol contracts."""
        self._processes.spawn("anvil", chain.anvil_command(self.chain_port, self.host), url=self.chain_url)
        self._processes.wait_until("anvil", lambda: chain.answers_rpc(self.chain_url), 30)
        chain.deploy_protocol(self.chain_url, self.deployment_file)
        log.info("protocol contracts deployed: %s", self.deployment_file)

    def _bootstrap_network(self) -> None:
        """Register the orchestrators on chain (stake, terms, service URI, price) and fund the gateway."""
        orchestrators = [(state.stage_key(self._state, o.name), self.url_of(o.name)) for o in self.orchestrators]
        gateway_key = state.stage_key(self._state, self.gateway.name)
        round_ = network.bootstrap(self.chain_url, self.deployment_file, orchestrators, gateway_key)
        self._save()
        log.info("orchestrators registered and the gateway funded; they are active from round %d", round_)

    def _wait_for_projections(self, deadline: float) -> None:
        """Wait until the gateway's projections list every orchestrator as active (its first chain polls)."""
        from chalicelib.projections.store import ProjectionStore
        from chalicelib.projections.view import NotProjectedYet, ProjectedChainView

        ddb = self.session().resource("dynamodb", endpoint_url=self.endpoint_url)
        wanted = {self.address_of(o.name).lower() for o in self.orchestrators}
        for spec in self.stages:  # every stage keeps its own projections
            view = ProjectedChainView(ProjectionStore(ddb.Table(self.settings(spec.name).name("projections"))))

            def projected(view: ProjectedChainView = view) -> bool:
                try:
                    return wanted <= {o.address.lower() for o in view.active_orchestrators()}
                except NotProjectedYet:
                    return False

            self._processes.wait_until(f"serve-{spec.name}", projected, max(deadline - time.monotonic(), 30))

    def _serve_cmd(self, spec: StageSpec) -> list[str]:
        cmd = [sys.executable, "-m", "devstack", "serve", "--stage", spec.name, "--host", self.host]
        cmd += ["--port", str(spec.port), "--app-dir", str(self.app_dir), "--no-provision"]
        if self.schedule_every is not None:
            cmd += ["--schedule-every", str(self.schedule_every)]
        return cmd

    def _start_workers(self) -> None:
        """Each orchestrator's worker, and the gateway's recorder (the MP4s of recorded sessions)."""
        for spec in self.orchestrators:
            self._processes.spawn(f"worker-{spec.name}", [sys.executable, "-m", "gpu_worker"], self.env_for(spec.name))
        recorder = [sys.executable, "-m", "gpu_worker.recorder"]
        self._processes.spawn(f"recorder-{self.gateway.name}", recorder, self.env_for(self.gateway.name))
        time.sleep(0.5)
        for name in [*(f"worker-{spec.name}" for spec in self.orchestrators), f"recorder-{self.gateway.name}"]:
            if (ended := self._processes.exited(name)) is not None:
                log.warning("%s", ended)

    def _register_api_key(self) -> None:
        key = self._state.get("api_key") or new_api_key()
        table_name = self.settings(self.gateway.name).name("apikeys")
        table = self.session().resource("dynamodb", endpoint_url=self.endpoint_url).Table(table_name)
        ApiKeyStore(table).register(key, "devstack")
        self._state["api_key"] = key
        self._save()

    def stop_stage(self, stage: str) -> None:
        """Stop one stage's HTTP front and event pump (as if its functions went down); its worker stays."""
        self._processes.stop_one(f"serve-{stage}")

    def start_stage(self, stage: str) -> None:
        """Start one stage's HTTP front and event pump again, and return once it answers."""
        spec = self._spec(stage)
        self._processes.spawn(f"serve-{stage}", self._serve_cmd(spec), self.env_for(stage), self.url_of(stage))
        answers = partial(endpoint_answers, self.url_of(stage), 0.5)
        self._processes.wait_until(f"serve-{stage}", answers, STARTUP_TIMEOUT_S)

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop every process the stack started (SIGTERM, then SIGKILL after ``grace_s``)."""
        self._processes.stop(last=_SERVICES, grace_s=grace_s)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
