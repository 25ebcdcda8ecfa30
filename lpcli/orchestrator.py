"""``lp orchestrator``: register (self-bond, terms, service URI, price) and update any of them; call reward.

``register`` and ``update`` read what is in place first and send only the steps that change something, so
running either twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from eth_typing import ChecksumAddress

from chalicelib.chain.pool_hints import find_hints
from lpcli.context import command_progress, parsed
from lpcli.errors import CliError
from lpcli.progress import Progress
from lpcli.staking import bond_hints, ensure_allowance, position, stake_change_hints, total_stake
from lpcli.units import format_ppm, format_price, format_token, parse_lpt, parse_ppm, parse_price

app = typer.Typer(no_args_is_help=True, help="Run an orchestrator: stake, terms, service URI, price, reward.")


@dataclass(frozen=True)
class Settings:
    """What an orchestrator wants in place; None leaves a setting as it is."""

    stake: int | None = None  # self-bonded LPT, base units
    reward_cut: int | None = None  # ppm
    fee_share: int | None = None  # ppm
    service_uri: str | None = None
    price: tuple[int, int] | None = None  # (pricePerUnit wei, pixelsPerUnit)


def apply(progress: Progress, wanted: Settings, *, may_unbond: bool) -> None:
    """Send what it takes to bring the signer's registration to ``wanted``, skipping what is in place."""
    protocol = progress.session.protocol
    me: ChecksumAddress = progress.account.address
    if wanted.stake is not None:
        _self_bond(progress, me, wanted.stake, may_unbond=may_unbond)
    if wanted.reward_cut is not None or wanted.fee_share is not None:
        _terms(progress, me, wanted.reward_cut, wanted.fee_share)
    registry = protocol.contract("ServiceRegistry")
    if wanted.service_uri is not None:
        label = f"set service URI {wanted.service_uri}"
        if protocol.service_uri(me) == wanted.service_uri:
            progress.skip(label, "already set")
        else:
            progress.send(label, registry.functions.setServiceURI(wanted.service_uri))
    if wanted.price is not None:
        label = f"set price {format_price(*wanted.price)}"
        if protocol.advertised_price(me) == wanted.price:
            progress.skip(label, "already set")
        else:
            progress.send(label, registry.functions.setPrice(*wanted.price))


def _self_bond(progress: Progress, me: ChecksumAddress, stake: int, *, may_unbond: bool) -> None:
    protocol = progress.session.protocol
    now = position(protocol, me)
    own = now.bonded if now.delegate == me else 0
    label = f"bond {format_token(stake, 'LPT')} to yourself"
    if now.is_bonded and now.delegate != me:
        # Bonding to yourself moves the stake you delegated elsewhere along with the new LPT.
        progress.console.print(
            f"[yellow]you are delegated to {now.delegate}: registering moves those "
            f"{format_token(now.bonded, 'LPT')} to yourself[/yellow]"
        )
    if own == stake:
        progress.skip(label, "already bonded")
    elif own < stake:
        more = stake - own
        ensure_allowance(progress, protocol, more)
        old, new = bond_hints(protocol, me, more, me)
        progress.send(
            f"bond {format_token(more, 'LPT')}{' more' if own else ''} to yourself",
            protocol.bonding.functions.bondWithHint(more, me, *old, *new),
        )
    elif may_unbond:
        less = own - stake
        hints = stake_change_hints(protocol, me, -less)
        progress.send(
            f"unbond {format_token(less, 'LPT')} of your stake", protocol.bonding.functions.unbondWithHint(less, *hints)
        )
    else:
        progress.skip(label, f"you already bond {format_token(own, 'LPT')} (use `lp orchestrator update` to lower it)")


def _terms(progress: Progress, me: ChecksumAddress, reward_cut: int | None, fee_share: int | None) -> None:
    protocol = progress.session.protocol
    _cut, _share, next_cut, next_share = protocol.bonding.functions.getTranscoderTerms(me).call()
    cut = int(next_cut) if reward_cut is None else reward_cut
    share = int(next_share) if fee_share is None else fee_share
    label = f"set terms: reward cut {format_ppm(cut)}, fee share {format_ppm(share)}"
    registered = bool(protocol.bonding.functions.isRegisteredTranscoder(me).call())
    if (cut, share) == (int(next_cut), int(next_share)) and registered:
        progress.skip(label, "already set")  # (a call would only retry joining a full set, which bonding does)
        return
    in_pool = bool(protocol.bonding.functions.isInTranscoderPool(me).call())
    if in_pool:
        hints = stake_change_hints(protocol, me, 0)
    else:  # joining the set (if its stake beats the last member's when the set is full)
        hints = find_hints(protocol.transcoder_pool(), me, total_stake(protocol, me))
    progress.send(label, protocol.bonding.functions.transcoderWithHint(cut, share, *hints))


# ------------------------------------------------------------------------------------------------ options


def _lpt(text: str | None) -> int | None:
    return None if text is None else parsed(parse_lpt, text)


def _ppm(text: str | None) -> int | None:
    return None if text is None else parsed(parse_ppm, text)


def _price(text: str | None) -> tuple[int, int] | None:
    return None if text is None else parsed(parse_price, text)


Stake = Annotated[str | None, typer.Option(help="Your self-bonded stake, e.g. 1000LPT (the total, not an addition).")]
RewardCut = Annotated[str | None, typer.Option(help="The share of rewards you keep, e.g. 10% or 100000ppm.")]
FeeShare = Annotated[str | None, typer.Option(help="The share of fees you give your delegators, e.g. 50%.")]
ServiceUri = Annotated[str | None, typer.Option(help="Where gateways reach you, e.g. https://orch.example:8935.")]
Price = Annotated[str | None, typer.Option(help="Your advertised price, e.g. 1200wei/1000px.")]


@app.command()
def register(
    ctx: typer.Context,
    stake: Stake = None,
    reward_cut: RewardCut = None,
    fee_share: FeeShare = None,
    service_uri: ServiceUri = None,
    price: Price = None,
) -> None:
    """Become an orchestrator: approve and bond --stake to yourself, set your terms, service URI and price."""
    wanted = Settings(_lpt(stake), _ppm(reward_cut), _ppm(fee_share), service_uri, _price(price))
    missing = [
        name
        for name, value in (("--stake", stake), ("--reward-cut", reward_cut), ("--fee-share", fee_share))
        if value is None
    ]
    if missing:
        raise typer.BadParameter(f"register needs {', '.join(missing)}")
    apply(command_progress(ctx), wanted, may_unbond=False)


@app.command()
def update(
    ctx: typer.Context,
    stake: Stake = None,
    reward_cut: RewardCut = None,
    fee_share: FeeShare = None,
    service_uri: ServiceUri = None,
    price: Price = None,
) -> None:
    """Change any of your settings; --stake bonds the difference, or unbonds it when lower."""
    wanted = Settings(_lpt(stake), _ppm(reward_cut), _ppm(fee_share), service_uri, _price(price))
    if wanted == Settings():
        raise typer.BadParameter("say what to update: --stake, --reward-cut, --fee-share, --service-uri or --price")
    progress = command_progress(ctx)
    if position(progress.session.protocol, progress.account.address).delegate != progress.account.address:
        raise CliError("you are not a registered orchestrator: run `lp orchestrator register` first")
    apply(progress, wanted, may_unbond=True)


@app.command()
def reward(ctx: typer.Context) -> None:
    """Mint your reward for the current round (once per round, while you are active)."""
    progress = command_progress(ctx)
    protocol = progress.session.protocol
    progress.send("call reward", protocol.reward(progress.account.address))
