"""``lp``: the network's command line for orchestrators, delegators and broadcasters.

Every failure ends in one sentence on stderr and exit code 1 (bad arguments: exit code 2, with usage), never a
traceback: the root group catches what the chain, the node and the files can raise and says it in words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from typer.core import TyperGroup
from web3.exceptions import ContractLogicError, Web3RPCError

from lpcli import broadcaster, delegator, orchestrator, rounds, status
from lpcli.context import err_console
from lpcli.errors import CliError
from lpcli.progress import explain_call_error
from lpcli.session import DEFAULT_DEPLOYMENT, DEFAULT_RPC, Options, unreachable


class ExplainingGroup(TyperGroup):
    """The root group: turns every expected failure of a subcommand into a sentence and exit code 1."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer makes its own Context
        try:
            return super().invoke(ctx)
        except CliError as error:
            _fail(str(error))
        except (ContractLogicError, Web3RPCError) as error:  # a read the chain refused
            session = ctx.obj.opened() if isinstance(ctx.obj, Options) else None
            _fail(explain_call_error(error, session) if session else str(error))
        except OSError as error:  # the node stopped answering mid-command (requests' errors are OSErrors)
            _fail(unreachable(ctx.obj.rpc if isinstance(ctx.obj, Options) else DEFAULT_RPC, error))


def _fail(sentence: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/bold red] {escape(sentence)}")
    raise typer.Exit(1)


app = typer.Typer(
    cls=ExplainingGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(orchestrator.app, name="orchestrator")
app.add_typer(delegator.app, name="delegator")
app.add_typer(broadcaster.app, name="broadcaster")
app.add_typer(rounds.app, name="round")
app.command("status")(status.show)


@app.callback()
def root(
    ctx: typer.Context,
    rpc: Annotated[str, typer.Option(envvar="LP_ETH_RPC_URL", help="The Ethereum node's JSON-RPC URL.")] = DEFAULT_RPC,
    deployment: Annotated[
        Path, typer.Option(envvar="LP_DEPLOYMENT_FILE", help="The protocol's deployment JSON.")
    ] = DEFAULT_DEPLOYMENT,
    key_file: Annotated[
        Path | None,
        typer.Option(
            help="A file holding the signing key (hex, or a JSON keystore; password from LP_ETH_KEY_PASSWORD or "
            "asked). Without it the key comes from LP_ETH_PRIVATE_KEY. Never pass a key itself on the command line."
        ),
    ] = None,
) -> None:
    """The network's command line: register and run an orchestrator, delegate stake, fund tickets, see status."""
    ctx.obj = Options(rpc=rpc, deployment=deployment, key_file=key_file)
