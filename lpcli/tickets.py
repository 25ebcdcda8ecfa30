"""Tickets in numbers: what the chain tells (winning tickets redeemed, from the TicketBroker's
``WinningTicketRedeemed`` events) beside what only the gateway and the orchestrator know (tickets sent and won).

The off-chain side is a seam: ``offchain_ticket_counts`` answers nothing until the payments pipeline keeps its own
counters; ``ticket_rows`` already merges them in when it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from web3 import Web3

from chalicelib.chain.protocol import Protocol


@dataclass
class Redeemed:
    """Winning tickets redeemed for one (sender, recipient) pair: how many and their face value."""

    count: int = 0
    face_value: int = 0  # wei
    from_reserve: int = 0  # wei of the face value that the sender's reserve paid


@dataclass(frozen=True)
class OffchainCounts:
    """What a gateway (tickets sent) or an orchestrator (tickets received and won) counted itself."""

    sent: int | None = None
    won: int | None = None


def redeemed_tickets(protocol: Protocol, from_block: int | None = None) -> dict[tuple[str, str], Redeemed]:
    """Redeemed winning tickets per (sender, recipient), from the deployment block (or ``from_block``) on."""
    start = protocol.deployment.block_number if from_block is None else from_block
    logs = protocol.broker.events.WinningTicketRedeemed.get_logs(from_block=start, to_block="latest")
    totals: dict[tuple[str, str], Redeemed] = {}
    for log in logs:
        args = log["args"]
        pair = (Web3.to_checksum_address(args["sender"]), Web3.to_checksum_address(args["recipient"]))
        entry = totals.setdefault(pair, Redeemed())
        entry.count += 1
        entry.face_value += int(args["faceValue"])
        entry.from_reserve += int(args["fromReserve"])
    return totals


def by_recipient(pairs: Mapping[tuple[str, str], Redeemed]) -> dict[str, Redeemed]:
    """The per-pair totals summed per recipient."""
    return _summed(pairs, recipient=True)


def by_sender(pairs: Mapping[tuple[str, str], Redeemed]) -> dict[str, Redeemed]:
    """The per-pair totals summed per sender."""
    return _summed(pairs, recipient=False)


def offchain_ticket_counts(address: str) -> OffchainCounts:
    """Tickets ``address`` sent (as a gateway) or won (as an orchestrator) by its own count.

    Seam: the gateway's and the orchestrator's ticket counters do not exist yet, so nothing is known. When they do,
    answer from them here (or pass the counts to ``ticket_rows``); the status table shows them beside the chain's.
    """
    return OffchainCounts()


def ticket_rows(
    redeemed: Mapping[str, Redeemed], offchain: Mapping[str, OffchainCounts]
) -> list[dict[str, int | str | None]]:
    """One row per address that redeemed tickets or counted some: sent and won (off chain), redeemed (on chain)."""
    rows: list[dict[str, int | str | None]] = []
    for address in sorted(set(redeemed) | set(offchain)):
        chain = redeemed.get(address, Redeemed())
        own = offchain.get(address, OffchainCounts())
        rows.append(
            {
                "address": address,
                "sent": own.sent,
                "won": own.won,
                "redeemed": chain.count,
                "redeemed_face_value": chain.face_value,
                "redeemed_from_reserve": chain.from_reserve,
            }
        )
    return rows


def _summed(pairs: Mapping[tuple[str, str], Redeemed], *, recipient: bool) -> dict[str, Redeemed]:
    out: dict[str, Redeemed] = {}
    for (sender, to), entry in pairs.items():
        total = out.setdefault(to if recipient else sender, Redeemed())
        total.count += entry.count
        total.face_value += entry.face_value
        total.from_reserve += entry.from_reserve
    return out
