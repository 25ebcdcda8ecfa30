"""``lp status``: the round, the active set with stake and terms, an account's stake, fees and unbonding locks,
its deposit and reserve as a broadcaster, and the tickets sent, won and redeemed, as tables or (``--json``) one
JSON object."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from eth_typing import ChecksumAddress
from rich.console import Console
from rich.table import Table

from chalicelib.chain.protocol import Protocol
from lpcli.context import command_session, console, options
from lpcli.session import KEY_ENV, address_of, load_account
from lpcli.staking import position, unbonding_locks
from lpcli.tickets import (
    OffchainCounts,
    by_recipient,
    by_sender,
    redeemed_tickets,
    stage_address,
    stage_settings,
    stage_ticket_counts,
    ticket_rows,
)
from lpcli.units import format_ppm, format_price, format_token

# ------------------------------------------------------------------------------------------------ reads


def round_status(protocol: Protocol) -> dict[str, Any]:
    """The current round: number, whether initialized and locked, its length and first block."""
    rounds = protocol.rounds.functions
    return {
        "current": protocol.current_round(),
        "initialized": protocol.current_round_initialized(),
        "locked": bool(rounds.currentRoundLocked().call()),
        "length": int(rounds.roundLength().call()),
        "start_block": int(rounds.currentRoundStartBlock().call()),
        "last_initialized": int(rounds.lastInitializedRound().call()),
        "block": int(protocol.w3.eth.block_number),
    }


def active_set(protocol: Protocol) -> list[dict[str, Any]]:
    """The active-set list, largest stake first: stake, terms, service URI, price, rewards and fees."""
    minted = _rewards_minted(protocol)
    members = []
    for address, stake in protocol.transcoder_pool():
        info = protocol.transcoder(address)
        _cut, _share, next_cut, next_share = protocol.bonding.functions.getTranscoderTerms(address).call()
        price, pixels = protocol.advertised_price(address)
        members.append(
            {
                "address": address,
                "stake": stake,
                "active": protocol.is_active_transcoder(address),
                "reward_cut": info.reward_cut,
                "fee_share": info.fee_share,
                "next_reward_cut": int(next_cut),
                "next_fee_share": int(next_share),
                "service_uri": protocol.service_uri(address),
                "price_per_unit": price,
                "pixels_per_unit": pixels,
                "last_reward_round": info.last_reward_round,
                "rewards_minted": minted.get(address, 0),
                "pending_fees": protocol.pending_fees(address),
            }
        )
    return members


def account_status(protocol: Protocol, address: ChecksumAddress) -> dict[str, Any]:
    """``address``'s balances, stake, pending fees and unbonding locks."""
    token = protocol.contract("LivepeerToken").functions
    now = position(protocol, address)
    current = protocol.current_round()
    return {
        "address": address,
        "eth_balance": int(protocol.w3.eth.get_balance(address)),
        "lpt_balance": int(token.balanceOf(address).call()),
        "lpt_allowance": int(token.allowance(address, protocol.bonding.address).call()),
        "delegate": now.delegate if now.is_bonded else None,
        "orchestrator": now.delegate == address,
        "bonded": now.bonded,
        "pending_fees": now.fees,
        "unbonding_locks": [
            {
                "id": lock.id,
                "amount": lock.amount,
                "withdraw_round": lock.withdraw_round,
                "withdrawable": lock.withdraw_round <= current,
            }
            for lock in unbonding_locks(protocol, address, now.next_lock_id)
        ],
    }


def sender_status(protocol: Protocol, address: ChecksumAddress) -> dict[str, Any]:
    """``address``'s deposit, reserve and unlock state in the TicketBroker."""
    info = protocol.sender_info(address)
    if info.withdraw_round == 0:
        state = "locked"  # backing tickets
    elif info.withdraw_round > protocol.current_round():
        state = "unlocking"
    else:
        state = "unlocked"  # withdrawable; its tickets no longer pay
    return {
        "deposit": info.deposit,
        "reserve": info.reserve,
        "withdraw_round": info.withdraw_round or None,
        "unlock_state": state,
        "reserve_claimed_in_current_round": info.reserve_claimed_in_current_round,
    }


def tickets_status(
    protocol: Protocol,
    address: ChecksumAddress | None,
    counted: dict[str, OffchainCounts] | None = None,
    counter: str | None = None,
) -> dict[str, Any]:
    """Redeemed winning tickets per recipient (chain), with tickets sent, received and won where a stage's own
    count was read (``counted``, per recipient: see ``stage_ticket_counts``; ``counter``: that stage's address)."""
    pairs = redeemed_tickets(protocol)
    counted = counted or {}
    result: dict[str, Any] = {"by_recipient": ticket_rows(by_recipient(pairs), counted)}
    if address is not None:
        sent = by_sender(pairs).get(address)
        # what a gateway sent is its own count: shown for the account only when the account is that gateway
        sends = [c.sent for c in counted.values() if c.sent is not None] if counter == address else []
        result["as_sender"] = {
            "sent": sum(sends) if sends else None,
            "redeemed": sent.count if sent else 0,
            "redeemed_face_value": sent.face_value if sent else 0,
        }
    return result


def status(
    protocol: Protocol,
    address: ChecksumAddress | None,
    counted: dict[str, OffchainCounts] | None = None,
    counter: str | None = None,
) -> dict[str, Any]:
    """Everything ``lp status`` shows, as plain values (wei and LPT base units, terms in ppm)."""
    return {
        "chain_id": protocol.deployment.chain_id,
        "round": round_status(protocol),
        "active_set": active_set(protocol),
        "account": account_status(protocol, address) if address else None,
        "sender": sender_status(protocol, address) if address else None,
        "tickets": tickets_status(protocol, address, counted, counter),
    }


def _rewards_minted(protocol: Protocol) -> dict[str, int]:
    logs = protocol.bonding.events.Reward.get_logs(from_block=protocol.deployment.block_number, to_block="latest")
    minted: dict[str, int] = {}
    for log in logs:
        who = str(log["args"]["transcoder"])
        minted[who] = minted.get(who, 0) + int(log["args"]["amount"])
    return minted


# ------------------------------------------------------------------------------------------------ tables


def render(out: Console, report: dict[str, Any]) -> None:
    """Print ``report`` as tables."""
    r = report["round"]
    state = ("initialized" if r["initialized"] else "[red]not initialized[/red] (`lp round initialize`)") + (
        ", [yellow]locked[/yellow]" if r["locked"] else ""
    )
    table = Table(title="Round", show_header=False)
    table.add_row("current round", f"{r['current']} ({state})")
    table.add_row("round length", f"{r['length']} blocks, from block {r['start_block']} (now {r['block']})")
    table.add_row("last initialized", str(r["last_initialized"]))
    out.print(table)

    table = Table(title=f"Active set ({len(report['active_set'])})")
    for column in (
        "orchestrator",
        "stake",
        "reward cut",
        "fee share",
        "service URI",
        "price",
        "last reward",
        "rewards minted",
        "fees",
    ):
        table.add_column(column, justify="right" if column in ("stake", "rewards minted", "fees") else "left")
    for m in report["active_set"]:
        terms_change = (m["next_reward_cut"], m["next_fee_share"]) != (m["reward_cut"], m["fee_share"])
        table.add_row(
            m["address"] + ("" if m["active"] else " (from next round)"),
            format_token(m["stake"], "LPT"),
            format_ppm(m["reward_cut"]) + (f" → {format_ppm(m['next_reward_cut'])}" if terms_change else ""),
            format_ppm(m["fee_share"]) + (f" → {format_ppm(m['next_fee_share'])}" if terms_change else ""),
            m["service_uri"] or "-",
            format_price(m["price_per_unit"], m["pixels_per_unit"]),
            str(m["last_reward_round"] or "never"),
            format_token(m["rewards_minted"], "LPT"),
            format_token(m["pending_fees"], "ETH"),
        )
    out.print(table)

    if report["account"]:
        a = report["account"]
        table = Table(title=f"Account {a['address']}", show_header=False)
        table.add_row("ETH", format_token(a["eth_balance"], "ETH"))
        table.add_row("LPT", format_token(a["lpt_balance"], "LPT"))
        role = "yourself (orchestrator)" if a["orchestrator"] else (a["delegate"] or "nobody")
        table.add_row("bonded", f"{format_token(a['bonded'], 'LPT')} to {role}")
        table.add_row("pending fees", format_token(a["pending_fees"], "ETH"))
        for lock in a["unbonding_locks"]:
            when = "withdrawable now" if lock["withdrawable"] else f"withdrawable from round {lock['withdraw_round']}"
            table.add_row(f"unbonding lock {lock['id']}", f"{format_token(lock['amount'], 'LPT')}, {when}")
        s = report["sender"]
        table.add_row("deposit", format_token(s["deposit"], "ETH"))
        table.add_row("reserve", format_token(s["reserve"], "ETH"))
        unlock = {
            "locked": "locked (backing tickets)",
            "unlocking": f"unlocking until round {s['withdraw_round']}",
            "unlocked": "unlocked: `lp broadcaster withdraw`",
        }[s["unlock_state"]]
        table.add_row("funds", unlock)
        mine = report["tickets"].get("as_sender", {})
        table.add_row("tickets sent", _count(mine.get("sent")))
        table.add_row(
            "tickets redeemed", f"{mine.get('redeemed', 0)} ({format_token(mine.get('redeemed_face_value', 0), 'ETH')})"
        )
        out.print(table)

    table = Table(title="Tickets per recipient")
    for column in ("recipient", "sent", "received", "won", "redeemed", "face value", "from reserve"):
        table.add_column(column, justify="left" if column == "recipient" else "right")
    for row in report["tickets"]["by_recipient"]:
        table.add_row(
            str(row["address"]),
            _count(row["sent"]),
            _count(row["received"]),
            _count(row["won"]),
            str(row["redeemed"]),
            format_token(int(row["redeemed_face_value"] or 0), "ETH"),
            format_token(int(row["redeemed_from_reserve"] or 0), "ETH"),
        )
    if report["tickets"]["by_recipient"]:
        table.caption = (
            "sent, received, won: the stage's own count (--stage); redeemed: the TicketBroker's events"
            if report.get("stage")
            else "redeemed: the TicketBroker's events; --stage STAGE adds what a gateway sent and an orchestrator won"
        )
    out.print(table)


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)  # "-": no stage read that counts it (see --stage)


# ------------------------------------------------------------------------------------------------ command


def show(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object (wei, LPT base units, ppm) for scripts.")
    ] = False,
    account: Annotated[
        str | None, typer.Option(help="Show this address's stake and funds (default: the key's, if one is set).")
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option(
            help="Add what this stage of yours counted, from its DynamoDB tables: the tickets a gateway sent, those "
            "an orchestrator received and won. Run it in the stage's environment (its LP_STAGE, roles, key and AWS "
            "account; on the local stack: eval $(.venv/bin/python -m devstack env STAGE)).",
        ),
    ] = None,
) -> None:
    """Show the round, the active set, your stake, fees, deposit and reserve, and the tickets sent, won and
    redeemed."""
    opts = options(ctx)
    if account is not None:
        address: ChecksumAddress | None = address_of(account)
    elif opts.key_file is not None or os.environ.get(KEY_ENV):
        address = load_account(opts.key_file).address
    else:
        address = None
    protocol = command_session(ctx).protocol
    counted = counter = None
    if stage:
        settings = stage_settings(stage)
        counted, counter = stage_ticket_counts(settings), stage_address(settings)
    report = status(protocol, address, counted, counter)
    report["stage"] = stage
    if as_json:
        typer.echo(json.dumps(report, indent=1))
    else:
        render(console, report)
