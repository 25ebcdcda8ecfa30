"""Tickets in numbers: what the chain tells (winning tickets redeemed, from the TicketBroker's
``WinningTicketRedeemed`` events) beside what only a stage knows by its own count, read from its DynamoDB tables:
a gateway the tickets it sent each orchestrator (its ``tallies``), an orchestrator the tickets it received and won
(its ``balances``, per sender).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from eth_account import Account
from pydantic import ValidationError
from web3 import Web3

from chalicelib.chain.protocol import Protocol
from chalicelib.core.settings import Settings
from chalicelib.payments.ledger import Ledger
from chalicelib.segments.tally import OrchestratorTally
from lpcli.errors import CliError

#: A status read fails in seconds, not after boto3's default retries, when the AWS endpoint does not answer.
_AWS = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})


@dataclass
class Redeemed:
    """Winning tickets redeemed for one (sender, recipient) pair: how many and their face value."""

    count: int = 0
    face_value: int = 0  # wei
    from_reserve: int = 0  # wei of the face value that the sender's reserve paid


@dataclass(frozen=True)
class OffchainCounts:
    """What a stage counted itself for one recipient: tickets a gateway sent it, tickets it received and won (when
    the stage is that orchestrator). None: not counted by the stage read."""

    sent: int | None = None
    received: int | None = None
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


def stage_settings(stage: str) -> Settings:
    """The settings of ``stage`` from this environment, which must be that stage's (its roles, key and AWS account
    or endpoint say which tables to read and whose address the counts are under)."""
    here = os.environ.get("LP_STAGE")
    if here != stage:
        raise CliError(
            f"--stage {stage} reads that stage's tables with its own settings (roles, key, AWS account), and this "
            f"environment is {f'stage {here}' if here else 'no stage'}'s: set it first, e.g. "
            f"`eval $(.venv/bin/python -m devstack env {stage})` on the local stack"
        )
    try:
        return Settings()
    except ValidationError as error:
        raise CliError(f"stage {stage}'s settings (LP_*) are not valid: {str(error).splitlines()[0]}") from None


def stage_address(stage: Settings) -> str | None:
    """The address of the stage's key (LP_ETH_PRIVATE_KEY), if it has one."""
    if stage.eth_private_key is None:
        return None
    return str(Account.from_key(stage.eth_private_key.get_secret_value()).address)


def _checksummed(address: str) -> str:
    return Web3.to_checksum_address(address) if Web3.is_address(address) else address


def stage_ticket_counts(stage: Settings) -> dict[str, OffchainCounts]:
    """What ``stage`` counted, per recipient (checksummed): as a gateway, the tickets it sent each orchestrator; as
    an orchestrator, the tickets it received and won from every sender. Read from the stage's tables in the AWS
    account (or endpoint: ``AWS_ENDPOINT_URL``) of this environment; a missing table or an unreachable endpoint
    is a ``CliError`` in words."""
    dynamodb = boto3.session.Session().resource("dynamodb", region_name=stage.region, config=_AWS)
    counts: dict[str, OffchainCounts] = {}
    try:
        if stage.has_role("gateway"):
            tallies = OrchestratorTally(dynamodb.Table(stage.name("tallies")))
            for address, tally in tallies.totals().items():
                counts[_checksummed(address)] = OffchainCounts(sent=tally.tickets)
        if stage.has_role("orchestrator"):
            me = stage_address(stage)
            if me is None:
                raise CliError(
                    f"stage {stage.stage} is an orchestrator, but its key (LP_ETH_PRIVATE_KEY) is not set: the "
                    "tickets it won are counted under its address"
                )
            tables = (dynamodb.Table(stage.name(name)) for name in ("tickets", "balances", "charges"))
            per_sender = Ledger(*tables).ticket_counts()
            received = sum(r for r, _ in per_sender.values())
            won = sum(w for _, w in per_sender.values())
            counts[me] = replace(counts.get(me, OffchainCounts()), received=received, won=won)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise CliError(
                f"stage {stage.stage} has no tables here (region {stage.region}): check --stage (LP_STAGE) and the "
                "AWS account or AWS_ENDPOINT_URL (`eval $(.venv/bin/python -m devstack env dev)` sets both for "
                "the local stack)"
            ) from None
        raise CliError(f"stage {stage.stage}'s tables could not be read: {code or error}") from None
    except BotoCoreError as error:  # no credentials, an endpoint that does not answer
        raise CliError(f"stage {stage.stage}'s tables could not be read: {error}") from None
    return counts


def ticket_rows(redeemed: Mapping[str, Redeemed], counted: Mapping[str, OffchainCounts]) -> list[dict[str, Any]]:
    """One row per recipient that redeemed tickets or was counted: sent, received and won (a stage's own count, None
    where not counted), redeemed (on chain)."""
    rows: list[dict[str, Any]] = []
    for address in sorted(set(redeemed) | set(counted)):
        chain = redeemed.get(address, Redeemed())
        own = counted.get(address, OffchainCounts())
        rows.append(
            {
                "address": address,
                "sent": own.sent,
                "received": own.received,
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
