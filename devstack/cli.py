"""``python -m devstack up|down|status|env|serve|demo``: the local stack from the command line."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from devstack.serve import serve
from devstack.stack import REPO_ROOT, LocalStack

cli = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

StateDir = Annotated[Path, typer.Option(help="Where state.json and logs/ live.")]
DEFAULT_STATE = REPO_ROOT / ".devstack"


@cli.command()
def up(
    state_dir: StateDir = DEFAULT_STATE,
    aws_port: Annotated[int, typer.Option(help="moto's port (unless AWS_ENDPOINT_URL answers).")] = 4566,
    gateway_port: int = 8000,
    orch_a_port: int = 8001,
    orch_b_port: int = 8002,
    workers: Annotated[
        bool, typer.Option(help="Start a gpu_worker per orchestrator, and the gateway's recorder.")
    ] = True,
    schedule_every: Annotated[float | None, typer.Option(help="Fire every schedule this often (s).")] = None,
    chain: Annotated[bool, typer.Option(help="Start Anvil and deploy the protocol contracts.")] = True,
    chain_port: int = 8545,
    onchain: Annotated[
        bool, typer.Option("--onchain/--offchain", help="Find and pay orchestrators on chain, or use config only.")
    ] = True,
) -> None:
    """Start moto, Anvil with the contracts, the gateway (dev) and two orchestrators in the background."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stack = LocalStack(
        state_dir,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        aws_port=aws_port,
        gateway_port=gateway_port,
        orchestrators={"orch-a": orch_a_port, "orch-b": orch_b_port},
        workers=workers,
        schedule_every=schedule_every,
        chain=chain,
        chain_port=chain_port,
        onchain=onchain and chain,
    )
    try:
        with console.status("starting the local stack"):
            stack.start()
    except (RuntimeError, TimeoutError) as err:
        console.print(f"[red]the local stack did not start:[/red] {err}")
        raise typer.Exit(1) from err
    _print_endpoints(stack)


def _print_endpoints(stack: LocalStack) -> None:
    table = Table(title="local stack")
    for column in ("what", "where", "address"):
        table.add_column(column, overflow="fold")
    table.add_row("AWS endpoint", stack.endpoint_url, "")
    sender = " (ticket sender)" if stack.onchain else ""
    table.add_row(f"gateway ({stack.gateway.name}){sender}", stack.gateway_url, stack.address_of(stack.gateway.name))
    for name, url in stack.orchestrator_urls.items():
        table.add_row(f"orchestrator ({name})", url, stack.address_of(name))
    if stack.chain:
        table.add_row("chain (Anvil)", stack.chain_url, "")
        table.add_row("protocol contracts", str(stack.deployment_file), "")
    table.add_row("logs", str(stack.logs_dir), "")
    console.print(table)
    # Printed plainly so that it is never folded or cut.
    print(f"dev API key: {stack.api_key}")
    print("environment of a stage: eval $(python -m devstack env [STAGE])")


@cli.command()
def down(state_dir: StateDir = DEFAULT_STATE) -> None:
    """Stop everything `up` started."""
    stack = LocalStack.from_state(state_dir)
    running = [p for p in stack.status() if p.alive]
    stack.stop()
    console.print(f"stopped {len(running)} processes")


@cli.command()
def status(state_dir: StateDir = DEFAULT_STATE) -> None:
    """Show what `up` started and whether it still runs."""
    stack = LocalStack.from_state(state_dir)
    table = Table(title="local stack processes")
    for column in ("name", "pid", "state", "url", "log"):
        table.add_column(column)
    for p in stack.status():
        table.add_row(p.name, str(p.pid), "[green]running" if p.alive else "[red]stopped", p.url or "", p.log)
    console.print(table)


@cli.command()
def env(
    stage: Annotated[str, typer.Argument(help="The stage whose environment to print.")] = "dev",
    state_dir: StateDir = DEFAULT_STATE,
) -> None:
    """Print `export` lines for a stage's environment, the gateway URL and the dev API key."""
    stack = LocalStack.from_state(state_dir)
    if not stack.status():
        console.print("[red]the local stack is not running:[/red] python -m devstack up", style=None)
        raise typer.Exit(1)
    values = stack.env_for(stage) if stage in {s.name for s in stack.stages} else {}
    values["LP_GATEWAY_URL"] = stack.gateway_url
    values["LP_API_KEY"] = stack.api_key
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")


cli.command()(serve)


def main() -> None:
    """Run the command line."""
    cli()


@cli.command()
def demo(
    state_dir: StateDir = DEFAULT_STATE,
    exit_when_done: Annotated[bool, typer.Option("--exit", help="Exit when the clip ends.")] = False,
    loops: Annotated[int, typer.Option(min=1, max=50, help="How many times to play the 5.3 s clip.")] = 3,
    onchain: Annotated[
        bool, typer.Option("--onchain/--offchain", help="Pay orchestrators with tickets on Anvil, or not at all.")
    ] = True,
) -> None:
    """Start the stack, push real footage live with ffmpeg, print the playback URL and renditions."""
    from devstack.demo import run

    logging.basicConfig(level=logging.WARNING)
    run(state_dir, exit_when_done, loops, onchain)
