"""``lp round``: initialize the current round (anyone may, once per round; staking and tickets need it)."""

from __future__ import annotations

import typer

from lpcli.context import command_progress

app = typer.Typer(no_args_is_help=True, help="Rounds: initialize the current one.")


@app.command()
def initialize(ctx: typer.Context) -> None:
    """Initialize the current round."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    progress.send(f"initialize round {protocol.current_round()}", protocol.initialize_round())
