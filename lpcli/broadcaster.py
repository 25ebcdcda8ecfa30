"""``lp broadcaster``: the ETH a broadcaster (ticket sender) keeps in the TicketBroker. The deposit pays winning
tickets; the reserve backs them when the deposit runs out (each active orchestrator may claim its share per
round); both come back only through unlock, the unlock period, then withdraw."""

from __future__ import annotations

from typing import Annotated

import typer

from lpcli.context import command_progress, parsed
from lpcli.units import format_token, parse_eth

app = typer.Typer(no_args_is_help=True, help="Fund tickets: deposit, reserve, unlock, withdraw.")

Amount = Annotated[str, typer.Argument(help="ETH, e.g. 0.5ETH, 20gwei or plain wei.")]


@app.command()
def deposit(ctx: typer.Context, amount: Amount) -> None:
    """Add AMOUNT to your deposit (and cancel an unlock under way)."""
    value = parsed(parse_eth, amount)
    progress = command_progress(ctx)
    broker = progress.session.protocol.broker
    progress.send(f"deposit {format_token(value, 'ETH')}", broker.functions.fundDeposit(), value)


@app.command()
def reserve(ctx: typer.Context, amount: Amount) -> None:
    """Add AMOUNT to your reserve (and cancel an unlock under way)."""
    value = parsed(parse_eth, amount)
    progress = command_progress(ctx)
    broker = progress.session.protocol.broker
    progress.send(f"add {format_token(value, 'ETH')} to the reserve", broker.functions.fundReserve(), value)


@app.command()
def fund(
    ctx: typer.Context,
    deposit: Annotated[str, typer.Option(help="ETH for the deposit.")],
    reserve: Annotated[str, typer.Option(help="ETH for the reserve.")],
) -> None:
    """Add to the deposit and the reserve in one transaction."""
    to_deposit, to_reserve = parsed(parse_eth, deposit), parsed(parse_eth, reserve)
    progress = command_progress(ctx)
    broker = progress.session.protocol.broker
    progress.send(
        f"deposit {format_token(to_deposit, 'ETH')} and reserve {format_token(to_reserve, 'ETH')}",
        broker.functions.fundDepositAndReserve(to_deposit, to_reserve),
        to_deposit + to_reserve,
    )


@app.command()
def unlock(ctx: typer.Context) -> None:
    """Start the unlock period; withdraw your deposit and reserve once it is over."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    progress.send("unlock", protocol.broker.functions.unlock())
    info = protocol.sender_info(progress.account.address)
    progress.console.print(f"you can withdraw from round {info.withdraw_round} (`lp broadcaster withdraw`)")


@app.command("cancel-unlock")
def cancel_unlock(ctx: typer.Context) -> None:
    """Stop an unlock under way: your funds back tickets again."""
    progress = command_progress(ctx)
    progress.send("cancel the unlock", progress.session.protocol.broker.functions.cancelUnlock())


@app.command()
def withdraw(ctx: typer.Context) -> None:
    """Withdraw your whole deposit and reserve (after unlock and the unlock period)."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    info = protocol.sender_info(progress.account.address)
    progress.send(
        f"withdraw {format_token(info.deposit, 'ETH')} deposit and {format_token(info.reserve, 'ETH')} reserve",
        protocol.broker.functions.withdraw(),
    )
