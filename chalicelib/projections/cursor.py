"""The ``chaincursor`` table: where the poller stands, and a journal of its recent polls (for reorgs and restarts).

- ``cursor``: the last committed block (number and hash), ``version`` (the last poll's sequence number),
  ``recent`` (the versions of the last committed polls, oldest first) and ``pending`` (a poll that began
  sending and did not commit: its messages may be on the queue, partly or twice).
- ``poll#<version>``: one poll's range, the hash of its last block, and the entities it touched.

Every change to ``cursor`` is conditional on the ``version`` read, so two pollers that overlap cannot both
go on: the second one's ``begin`` (or the first one's ``commit``) is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from chalicelib.core.dynamo import written

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CURSOR_ID = "cursor"
#: Committed polls remembered; a reorg deeper than all of them re-reads everything from the deployment.
KEEP_POLLS = 64


class PollEntry(BaseModel):
    """One poll: blocks ``[from_block, to_block]``, ``to_hash`` the hash of the last, the entities it touched."""

    model_config = ConfigDict(frozen=True)

    version: int
    from_block: int
    to_block: int
    to_hash: str
    touched: list[str]


class Cursor(BaseModel):
    """Where the poller stands."""

    model_config = ConfigDict(frozen=True)

    version: int = 0
    block: int = -1  # the last committed block (-1: none yet)
    hash: str = ""
    recent: list[int] = []
    pending: int | None = None


class PollRefused(Exception):
    """Another poller moved the cursor meanwhile: this one stops, that one goes on."""


class CursorStore:
    """The cursor item and the journal of polls."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def load(self) -> Cursor | None:
        """The cursor, or None before the first poll."""
        item = self._table.get_item(Key={"id": CURSOR_ID}, ConsistentRead=True).get("Item")
        return None if item is None else Cursor.model_validate_json(str(item["cursor"]))

    def entry(self, version: int) -> PollEntry | None:
        """The journal entry of poll ``version`` (None if it was dropped)."""
        item = self._table.get_item(Key={"id": _entry_id(version)}, ConsistentRead=True).get("Item")
        return None if item is None else PollEntry.model_validate_json(str(item["entry"]))

    def _replace(self, old: Cursor | None, new: Cursor) -> None:
        item: dict[str, str | int] = {"id": CURSOR_ID, "version": new.version, "cursor": new.model_dump_json()}
        if old is None:
            ok = written(lambda: self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)"))
        else:
            ok = written(
                lambda: self._table.put_item(
                    Item=item,
                    ConditionExpression="#v = :v",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": old.version},
                )
            )
        if not ok:
            raise PollRefused("the chain cursor moved meanwhile: another poller is running")

    def begin(self, old: Cursor | None, base: Cursor, entry: PollEntry) -> Cursor:
        """Record ``entry`` and mark it pending before any of its messages is sent (write-ahead).

        ``base`` is the cursor the poll starts from (``old``, or an earlier point after a reorg).
        """
        self._table.put_item(Item={"id": _entry_id(entry.version), "entry": entry.model_dump_json()})
        began = base.model_copy(update={"version": entry.version, "pending": entry.version})
        self._replace(old, began)
        return began

    def commit(self, began: Cursor, entry: PollEntry, superseded: Sequence[int] = ()) -> Cursor:
        """The poll's messages are all sent: move the cursor past its blocks, forget old and ``superseded`` polls
        (orphaned by a reorg, or a pending one this poll made good)."""
        recent = [*began.recent, entry.version]
        dropped, kept = recent[:-KEEP_POLLS], recent[-KEEP_POLLS:]
        done = Cursor(version=entry.version, block=entry.to_block, hash=entry.to_hash, recent=kept, pending=None)
        self._replace(began, done)
        for version in [*dropped, *superseded]:
            self.drop(version)
        return done

    def drop(self, version: int) -> None:
        """Forget a poll's journal entry."""
        self._table.delete_item(Key={"id": _entry_id(version)})


def _entry_id(version: int) -> str:
    return f"poll#{version:012d}"
