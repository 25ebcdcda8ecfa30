"""The chain poller: confirmed logs → decoded events + the states they changed → the chain-event FIFO queue.

One ``poll`` reads the blocks after the cursor up to the confirmed head (at most ``max_blocks``), and:

1. checks that the cursor's block is still on the chain; if not (a reorg), walks back through its journal to
   the newest poll whose last block is, and marks every entity the orphaned polls touched for a re-read;
   a poll that began sending and never committed (a crash) is made good the same way;
2. decodes the events (web3's ABI machinery) and reads, by block hash, the state of every entity they touch
   (and of the marked ones) at the poll's last block;
3. writes its journal entry and marks it pending (write-ahead), sends one message per event and a closing
   sync message (marked entities, the head), then commits the cursor.

Loads web3: only the poller's Lambda imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from chalicelib.chain.event_record import ChainEvent
from chalicelib.chain.events import fetch_events
from chalicelib.chain.protocol import Protocol
from chalicelib.core.logs import logger
from chalicelib.core.settings import Settings
from chalicelib.projections.cursor import Cursor, CursorStore, PollEntry
from chalicelib.projections.entities import WATCHED_CONTRACTS, touched
from chalicelib.projections.models import GLOBAL_KEYS, HEAD_KEY, BlockRef, ChainMessage, EntityState, round_key
from chalicelib.projections.queue import ChainEventQueue
from chalicelib.projections.reader import StateReader
from chalicelib.projections.store import ProjectionStore

#: States per closing sync message (SQS takes 256 KiB per batch of ten).
SYNC_CHUNK = 20


class ChainMoved(Exception):
    """The poll's last block left the chain while it was read: nothing was sent; the next poll starts over."""


@dataclass
class PollResult:
    """What one poll did."""

    version: int
    from_block: int
    to_block: int
    events: int
    reorged: bool
    refreshed: list[str] = field(default_factory=list)


def _canonical(w3: Web3, number: int, block_hash: str) -> bool:
    if number < 0 or not block_hash:
        # No hash: the starting point before the deployment (no poll committed yet), which no reorg can orphan;
        # a first poll that stopped mid-send is then made good as a pending one, not as a reorg past the journal.
        return True
    try:
        return "0x" + bytes(w3.eth.get_block(number)["hash"]).hex() == block_hash
    except Exception as error:  # a block past the head (the chain got shorter) is not found
        if "not found" in str(error).lower():
            return False
        raise


def _block_ref(w3: Web3, number: int) -> BlockRef:
    return BlockRef(number=number, hash="0x" + bytes(w3.eth.get_block(number)["hash"]).hex())


def _dedup(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


@dataclass
class _Start:
    base: Cursor  # where this poll starts from (the cursor, or an earlier poll's end after a reorg)
    refresh: list[str]  # entities to re-read whatever the logs say
    superseded: list[int]  # journal entries this poll makes good (orphaned, or pending)
    reorged: bool


def _starting_point(protocol: Protocol, cursors: CursorStore, projections: ProjectionStore, cursor: Cursor) -> _Start:
    """Walk back from the cursor to the newest journal entry still on the chain; collect what to re-read."""
    w3 = protocol.w3
    refresh: list[str] = []
    superseded: list[int] = []
    if cursor.pending is not None:
        superseded.append(cursor.pending)
        pending = cursors.entry(cursor.pending)
        refresh += pending.touched if pending is not None else []
    if _canonical(w3, cursor.block, cursor.hash):
        return _Start(cursor.model_copy(update={"pending": None}), _dedup(refresh), superseded, False)
    recent = list(cursor.recent)
    while recent:
        version = recent.pop()
        entry = cursors.entry(version)
        if entry is None:
            break
        if _canonical(w3, entry.to_block, entry.to_hash):
            base = Cursor(version=cursor.version, block=entry.to_block, hash=entry.to_hash, recent=[*recent, version])
            return _Start(base, _dedup(refresh), superseded, True)
        superseded.append(version)
        refresh += entry.touched
    # Deeper than the journal reaches: start again from the deployment, re-reading everything projected.
    logger.warning("chain reorg deeper than the poll journal: re-reading from the deployment")
    base = Cursor(version=cursor.version, block=protocol.deployment.block_number - 1, hash="")
    return _Start(base, _dedup([*refresh, *projections.keys(), *GLOBAL_KEYS]), superseded, True)


def poll(
    protocol: Protocol,
    cursors: CursorStore,
    queue: ChainEventQueue,
    projections: ProjectionStore,
    *,
    confirmations: int,
    max_blocks: int,
) -> PollResult:
    """One poll (see the module's docstring); ``PollRefused`` if another poller moved the cursor meanwhile."""
    w3 = protocol.w3
    cursor = cursors.load()
    if cursor is None:
        # The deployment's own blocks carry nothing an account did; the global entities are read outright.
        start = _Start(Cursor(block=protocol.deployment.block_number - 1), list(GLOBAL_KEYS), [], False)
    else:
        start = _starting_point(protocol, cursors, projections, cursor)
    head = w3.eth.block_number - confirmations
    from_block = start.base.block + 1
    # With nothing new (or a chain that got shorter than the confirmations), read at the base block itself.
    to_block = max(min(head, from_block + max_blocks - 1), start.base.block, 0)
    as_of = _block_ref(w3, to_block)
    events = fetch_events(protocol, from_block, to_block, WATCHED_CONTRACTS) if to_block >= from_block else []
    reader = StateReader(protocol, as_of)
    if cursor is None:
        start.refresh.append(round_key(reader.clock().last_initialized_round))
    by_event = [(event, touched(event)) for event in events]
    keys = _dedup([*(k for _, ks in by_event for k in ks), *start.refresh, HEAD_KEY])
    states = {key: reader.read(key) for key in keys}
    if not _canonical(w3, as_of.number, as_of.hash):
        raise ChainMoved(f"block {as_of.number} left the chain while it was read")

    version = (cursor.version if cursor else 0) + 1
    entry = PollEntry(version=version, from_block=from_block, to_block=to_block, to_hash=as_of.hash, touched=keys)
    began = cursors.begin(cursor, start.base, entry)
    queue.send(_messages(version, as_of, by_event, states, _dedup([*start.refresh, HEAD_KEY])))
    cursors.commit(began, entry, start.superseded)
    result = PollResult(version, from_block, to_block, len(events), start.reorged, start.refresh)
    if events or start.refresh:
        logger.info(
            "chain poll",
            version=version,
            blocks=[from_block, to_block],
            events=len(events),
            reorged=start.reorged,
            refreshed=len(start.refresh),
        )
    return result


def _messages(
    version: int,
    as_of: BlockRef,
    by_event: list[tuple[ChainEvent, list[str]]],
    states: dict[str, EntityState],
    sync_keys: list[str],
) -> list[tuple[ChainMessage, str]]:
    """One message per event with the states it changed, then the sync messages (re-read entities, the head)."""
    out: list[tuple[ChainMessage, str]] = []
    for event, keys in by_event:
        message = ChainMessage(version=version, as_of=as_of, event=event, states=[states[k] for k in keys])
        out.append((message, message.dedup_id()))
    sync = [states[k] for k in sync_keys]
    for part, first in enumerate(range(0, len(sync), SYNC_CHUNK)):
        message = ChainMessage(version=version, as_of=as_of, states=sync[first : first + SYNC_CHUNK])
        out.append((message, message.dedup_id(part)))
    return out


def poll_until_caught_up(
    protocol: Protocol,
    cursors: CursorStore,
    queue: ChainEventQueue,
    projections: ProjectionStore,
    *,
    confirmations: int,
    max_blocks: int,
    budget_s: float = 20.0,
) -> list[PollResult]:
    """Poll until the confirmed head is reached or ``budget_s`` is spent (a scheduled invocation's share)."""
    deadline = time.monotonic() + budget_s
    results: list[PollResult] = []
    while True:
        result = poll(protocol, cursors, queue, projections, confirmations=confirmations, max_blocks=max_blocks)
        results.append(result)
        if result.to_block >= protocol.w3.eth.block_number - confirmations or time.monotonic() > deadline:
            return results


def poll_configured(
    settings: Settings, cursors: CursorStore, queue: ChainEventQueue, projections: ProjectionStore
) -> int:
    """The scheduled handler's work: poll the stage's chain if it has one; return the number of polls."""
    if not settings.eth_rpc_url or not settings.deployment_file:
        return 0
    w3 = Web3(Web3.HTTPProvider(settings.eth_rpc_url, request_kwargs={"timeout": 20}))
    protocol = Protocol.from_file(w3, Path(settings.deployment_file))
    results = poll_until_caught_up(
        protocol,
        cursors,
        queue,
        projections,
        confirmations=settings.chain_confirmations,
        max_blocks=settings.chain_max_blocks_per_poll,
    )
    return len(results)
