"""The ``tallies`` table: what each orchestrator did with this gateway's segments, in all and minute by minute.

Dispatch counts a job sent (and the tickets that paid it); the results handler counts a settled segment (ready
or failed for good, with the worker's transcode time). Each count is an ``ADD`` on two items: the orchestrator's
totals (``scope = "total"``) and its minute (``scope = "hour#<hour>"``, ``item = "<minute ms>#<address>"``, so
that one query reads an hour of every orchestrator's minutes; minute items expire after ``MINUTES_KEPT_S``).

A count is written after the write it counts succeeded, not in the same transaction: every settlement of every
stream would otherwise write the same few items in its transaction, and DynamoDB cancels transactions that
touch an item another one is writing (``TransactionConflict``), so segments would wait for retries. The
settlement's own condition still makes it count once (a redelivered result changes nothing, so it is not
counted); a crash between the two writes loses one count, and a count that cannot be written is logged, never
failing the segment. The numbers are for people (the dashboard), not for money.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.logs import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
#: How long minute items are kept (DynamoDB's time to live deletes them after): two days.
MINUTES_KEPT_S = 2 * 24 * 3600
TOTAL = "total"
#: The counters an item may hold.
COUNTERS = ("dispatched", "tickets", "ok", "failed", "transcodeMs")


@dataclass(frozen=True)
class Tally:
    """What one orchestrator did, in all or in one minute."""

    address: str  # lower case
    dispatched: int = 0  # jobs it took (the intake answered 202)
    tickets: int = 0  # tickets that paid them (on-chain mode)
    ok: int = 0  # segments it transcoded
    failed: int = 0  # segments that failed on their last attempt
    transcode_ms: int = 0  # the workers' transcode time of the ``ok`` ones, summed
    last_at: int | None = None  # when it last took a job or settled one (totals only)

    @property
    def settled(self) -> int:
        """Segments whose outcome is known."""
        return self.ok + self.failed

    @property
    def success_rate(self) -> float | None:
        """Transcoded of settled (None before any settled)."""
        return self.ok / self.settled if self.settled else None

    @property
    def mean_transcode_ms(self) -> float | None:
        """The mean transcode time of a transcoded segment (None before any)."""
        return self.transcode_ms / self.ok if self.ok else None


@dataclass(frozen=True)
class MinuteTally:
    """One orchestrator's counts in the minute that starts at ``minute`` (ms since the epoch)."""

    minute: int
    tally: Tally


def minute_of(at_ms: int) -> int:
    """The start of the minute ``at_ms`` falls in."""
    return at_ms - at_ms % MINUTE_MS


def _hour_scope(at_ms: int) -> str:
    return f"hour#{at_ms // HOUR_MS}"


def _minute_item(minute: int, address: str) -> str:
    return f"{minute:015d}#{address}"


def _tally(address: str, item: dict[str, Any]) -> Tally:
    last = item.get("lastAt")
    return Tally(
        address=address,
        dispatched=int(item.get("dispatched", 0)),
        tickets=int(item.get("tickets", 0)),
        ok=int(item.get("ok", 0)),
        failed=int(item.get("failed", 0)),
        transcode_ms=int(item.get("transcodeMs", 0)),
        last_at=None if last is None else int(last),
    )


class OrchestratorTally:
    """Per-orchestrator counts in the ``tallies`` table (hash ``scope``, range ``item``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def dispatched(self, address: str, tickets: int | None, at_ms: int) -> None:
        """Count a job ``address`` took, paid with ``tickets`` (None off chain)."""
        self._add(address, {"dispatched": 1, "tickets": tickets or 0}, at_ms)

    def settled(self, address: str, ok: bool, transcode_ms: int | None, at_ms: int) -> None:
        """Count a segment ``address`` transcoded (``ok``) or failed on its last attempt."""
        counts = {"ok": 1, "transcodeMs": max(transcode_ms or 0, 0)} if ok else {"failed": 1}
        self._add(address, counts, at_ms)

    def _add(self, address: str, counts: dict[str, int], at_ms: int) -> None:
        who = address.lower()
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values: dict[str, Any] = {f":c{i}": amount for i, amount in enumerate(counts.values())}
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        minute = minute_of(at_ms)
        try:
            self._table.update_item(
                Key={"scope": TOTAL, "item": who},
                UpdateExpression=f"ADD {adds} SET lastAt = :at",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":at": at_ms},
            )
            self._table.update_item(
                Key={"scope": _hour_scope(minute), "item": _minute_item(minute, who)},
                UpdateExpression=f"ADD {adds} SET expiresAt = :exp",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":exp": minute // 1000 + MINUTES_KEPT_S},
            )
        except (BotoCoreError, ClientError) as error:  # a count is for people: it never fails the segment
            logger.warning("orchestrator tally not counted", orchestrator=who, counts=counts, reason=str(error))

    def totals(self) -> dict[str, Tally]:
        """Every orchestrator's totals, by lower-case address."""
        return {str(item["item"]): _tally(str(item["item"]), item) for item in self._query(Key("scope").eq(TOTAL))}

    def minutes(self, since_ms: int, until_ms: int) -> list[MinuteTally]:
        """Every orchestrator's minutes from the one ``since_ms`` falls in to the one ``until_ms`` falls in."""
        first, last = minute_of(since_ms), minute_of(until_ms)
        found: list[MinuteTally] = []
        for hour in range(first // HOUR_MS, last // HOUR_MS + 1):
            condition = Key("scope").eq(f"hour#{hour}") & Key("item").between(
                _minute_item(first, ""), _minute_item(last, "~")
            )
            for item in self._query(condition):
                minute, _, address = str(item["item"]).partition("#")
                found.append(MinuteTally(int(minute), _tally(address, item)))
        return sorted(found, key=lambda m: (m.minute, m.tally.address))

    def _query(self, condition: Any) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
