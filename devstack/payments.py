"""What the on-chain demo paid: per orchestrator, tickets sent, received, won and redeemed, the ETH credited on
chain, and the LPT its ``reward()`` calls minted. Read from the stages' own tables and from the chain."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from web3 import Web3

from chalicelib.chain.protocol import Protocol
from devstack.stack import LocalStack

#: Redemption states after which a winning ticket needs nothing more.
SETTLED = ("redeemed", "expired", "failed")


@dataclass(frozen=True)
class OrchestratorPayments:
    """One orchestrator's side of the ledger, and the chain's."""

    name: str
    address: str
    sent: int  # tickets that paid the segments it took (the gateway's segment records)
    received: int  # tickets its intake took
    won: int
    redeemed: int
    unsettled: int  # won, not yet redeemed, expired or refused for good
    redeemed_face_value: int  # wei, by its own records
    redemption_gas: int
    credited: int  # wei, the TicketBroker's record
    minted: int  # LPT wei, from its Reward events


def _scan(stack: LocalStack, stage: str, table: str) -> list[dict[str, Any]]:
    ddb = stack.session().resource("dynamodb", endpoint_url=stack.endpoint_url)
    handle = ddb.Table(stack.settings(stage).name(table))
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = handle.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def payments_report(stack: LocalStack) -> list[OrchestratorPayments]:
    """Every orchestrator's payments as of now."""
    protocol = Protocol.from_file(Web3(Web3.HTTPProvider(stack.chain_url)), stack.deployment_file)
    sent: dict[str, int] = {}
    for item in _scan(stack, stack.gateway.name, "segments"):
        if "tickets" in item:
            recipient = str(item.get("orchestrator", "")).lower()
            sent[recipient] = sent.get(recipient, 0) + int(item["tickets"])
    report = []
    for spec in stack.orchestrators:
        address = stack.address_of(spec.name)
        winners = [t for t in _scan(stack, spec.name, "tickets") if t.get("won")]  # losers leave no record
        received = sum(int(b.get("received", 0)) for b in _scan(stack, spec.name, "balances"))
        redeemed = [t for t in winners if t.get("redemption") == "redeemed"]
        rewards = protocol.bonding.events.Reward().get_logs(
            from_block=protocol.deployment.block_number, argument_filters={"transcoder": address}
        )
        report.append(
            OrchestratorPayments(
                name=spec.name,
                address=address,
                sent=sent.get(address.lower(), 0),
                received=received,
                won=len(winners),
                redeemed=len(redeemed),
                unsettled=sum(1 for t in winners if t.get("redemption") not in SETTLED),
                redeemed_face_value=sum(int(t["faceValue"]) for t in redeemed),
                redemption_gas=sum(int(t.get("gasUsed", 0)) for t in redeemed),
                credited=int(protocol.broker.functions.recipientCredit(address).call()[0]),
                minted=sum(int(e["args"]["amount"]) for e in rewards),
            )
        )
    return report


def wait_for_payments(stack: LocalStack, timeout_s: float = 60.0) -> list[OrchestratorPayments]:
    """The report once every winning ticket is settled and every orchestrator that worked has called
    ``reward()`` at least once (or when ``timeout_s`` runs out)."""
    deadline = time.monotonic() + timeout_s
    while True:
        report = payments_report(stack)
        done = all(o.unsettled == 0 and (o.minted > 0 or o.received == 0) for o in report)
        if done or time.monotonic() > deadline:
            return report
        time.sleep(1.0)


def payments_table(report: list[OrchestratorPayments]) -> Table:
    """The report as a table (fits 80 columns)."""
    table = Table(title="payments: tickets per segment, winners redeemed on Anvil")
    for column in ("orchestrator", "sent", "won", "redeemed", "credited (gwei)", "gas/ticket", "LPT minted"):
        table.add_column(column, justify="left" if column == "orchestrator" else "right")
    for o in report:
        pending = f" +{o.unsettled}…" if o.unsettled else ""
        gas = f"{o.redemption_gas // o.redeemed:,}" if o.redeemed else "-"
        table.add_row(
            f"{o.name} {o.address[:6]}…{o.address[-4:]}",
            str(o.sent),
            str(o.won),
            f"{o.redeemed}{pending}",
            f"{o.credited / 10**9:,.3f}",
            gas,
            f"{o.minted / 10**18:,.2f}",
        )
    table.caption = "sent: by the gateway; won, redeemed: the orchestrator's ledger; credited: the TicketBroker"
    return table
