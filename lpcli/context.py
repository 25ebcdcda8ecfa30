"""The root command's state as each subcommand finds it: the global options, the consoles, and the progress
reporter a write command sends through."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

from lpcli.progress import Progress
from lpcli.session import Options, Session
from lpcli.units import UnitError

T = TypeVar("T")

#: Tables are wide (an address alone is 42 characters): when stdout is not a terminal and COLUMNS is unset, do not
#: squeeze them into rich's default of 80 columns.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
#: Results and progress go to stdout; errors to stderr, so that `lp status --json | jq` stays clean.
console = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def options(ctx: typer.Context) -> Options:
    """The global options the root callback stored."""
    found = ctx.find_root().obj
    if not isinstance(found, Options):  # a subcommand invoked on its own, without the root callback
        found = Options()
        ctx.find_root().obj = found
    return found


def command_session(ctx: typer.Context) -> Session:
    """The node and deployment, connected and checked."""
    return options(ctx).session()


def command_progress(ctx: typer.Context) -> Progress:
    """A reporter that sends the signer's transactions (the key is loaded before the node is asked anything)."""
    opts = options(ctx)
    account = opts.account()
    return Progress(opts.session(), account, console)


def parsed(parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, with a unit error turned into a bad-parameter message (exit code 2, with usage)."""
    try:
        return parse(text)
    except UnitError as error:
        raise typer.BadParameter(str(error)) from None
