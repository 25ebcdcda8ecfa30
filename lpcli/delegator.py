"""``lp delegator``: bond LPT to an orchestrator, unbond it into a lock, rebond or withdraw a lock, withdraw
fees. Each stake change carries the active-set hints for where it leaves the orchestrator."""

from __future__ import annotations

from typing import Annotated

import typer

from chalicelib.chain.pool_hints import find_hints
from lpcli.context import command_progress, parsed
from lpcli.errors import CliError
from lpcli.session import address_of
from lpcli.staking import bond_hints, ensure_allowance, position, stake_change_hints, total_stake, unbonding_locks
from lpcli.units import format_token, parse_eth, parse_lpt

app = typer.Typer(no_args_is_help=True, help="Delegate LPT to orchestrators and collect fees.")

LockId = Annotated[int, typer.Argument(min=0, help="The unbonding lock's ID (`lp status` lists yours).")]


@app.command()
def bond(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(help="LPT to add, e.g. 100LPT (0 moves your stake to ORCHESTRATOR).")],
    orchestrator: Annotated[str, typer.Argument(help="The orchestrator's address.")],
) -> None:
    """Bond AMOUNT more LPT to ORCHESTRATOR (moving any stake you have bonded elsewhere there too)."""
    value = parsed(parse_lpt, amount)
    to = address_of(orchestrator)
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    if value > 0:
        ensure_allowance(progress, protocol, value)
    old, new = bond_hints(protocol, progress.account.address, value, to)
    progress.send(
        f"bond {format_token(value, 'LPT')} to {to}", protocol.bonding.functions.bondWithHint(value, to, *old, *new)
    )


@app.command()
def unbond(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(help="LPT to unbond, e.g. 50LPT, or 'all'.")],
) -> None:
    """Move AMOUNT of your bonded stake into a new unbonding lock (withdraw it after the unbonding period)."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    now = position(protocol, progress.account.address)
    value = now.bonded if amount.strip().lower() == "all" else parsed(parse_lpt, amount)
    hints = stake_change_hints(protocol, now.delegate, -value)  # zeros when unbonded: the chain then says why
    progress.send(f"unbond {format_token(value, 'LPT')}", protocol.bonding.functions.unbondWithHint(value, *hints))


@app.command()
def rebond(
    ctx: typer.Context,
    lock_id: LockId,
    to: Annotated[str | None, typer.Option(help="The orchestrator to rebond to, when you are fully unbonded.")] = None,
) -> None:
    """Put an unbonding lock's stake back: with your current orchestrator, or with --to when you have none."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    me = progress.account.address
    now = position(protocol, me)
    amount = next((lock.amount for lock in unbonding_locks(protocol, me, now.next_lock_id) if lock.id == lock_id), 0)
    label = f"rebond lock {lock_id} ({format_token(amount, 'LPT')})"
    if to is None:
        if not now.is_bonded:
            raise CliError("you are not bonded to any orchestrator now: say which one to rebond to with --to")
        hints = stake_change_hints(protocol, now.delegate, amount)
        progress.send(label, protocol.bonding.functions.rebondWithHint(lock_id, *hints))
        return
    target = address_of(to)
    if now.is_bonded and now.delegate != target:
        raise CliError(
            f"you are bonded to {now.delegate}: a lock rebonds to your current orchestrator (leave out --to)"
        )
    if now.is_bonded:
        hints = stake_change_hints(protocol, target, amount)
        progress.send(label, protocol.bonding.functions.rebondWithHint(lock_id, *hints))
        return
    pool = protocol.transcoder_pool()
    hints = find_hints(pool, target, dict(pool).get(target, total_stake(protocol, target)) + amount)
    progress.send(
        f"{label} to {target}", protocol.bonding.functions.rebondFromUnbondedWithHint(target, lock_id, *hints)
    )


@app.command("withdraw-stake")
def withdraw_stake(ctx: typer.Context, lock_id: LockId) -> None:
    """Withdraw an unbonding lock's LPT once its withdraw round has come."""
    progress = command_progress(ctx)
    progress.send(f"withdraw lock {lock_id}", progress.session.protocol.bonding.functions.withdrawStake(lock_id))


@app.command("withdraw-fees")
def withdraw_fees(
    ctx: typer.Context,
    amount: Annotated[
        str | None, typer.Argument(help="ETH to withdraw, e.g. 0.1ETH; all of your fees if left out.")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Where to send the ETH (yourself if left out).")] = None,
) -> None:
    """Withdraw your ETH fees (your share as a delegator and, as an orchestrator, your cut)."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    recipient = address_of(to) if to else progress.account.address
    value = protocol.pending_fees(progress.account.address) if amount is None else parsed(parse_eth, amount)
    progress.send(
        f"withdraw {format_token(value, 'ETH')} of fees to {recipient}",
        protocol.bonding.functions.withdrawFees(recipient, value),
    )
