"""The protocol's events, read from logs and decoded: what the chain-event pipeline projects (never storage).

Topics and decoding come from the contracts' ABIs through web3's own ABI machinery
(``event_abi_to_log_topic``, ``get_event_data``), so an event's signature is never spelled by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from eth_typing import ABIEvent
from eth_utils.abi import event_abi_to_log_topic
from hexbytes import HexBytes
from web3._utils.events import get_event_data
from web3.types import FilterParams, LogReceipt

from chalicelib.chain.event_record import ChainEvent
from chalicelib.chain.protocol import Protocol

__all__ = ["ChainEvent", "event_topics", "fetch_events"]


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


#: address (lower case) → (contract name, topic0 → event ABI)
_Topics = dict[str, tuple[str, dict[bytes, ABIEvent]]]


def event_topics(abi: Iterable[dict[str, Any]]) -> dict[bytes, ABIEvent]:
    """topic0 → event ABI, for every non-anonymous event of a contract's ABI."""
    events = [cast(ABIEvent, item) for item in abi if item.get("type") == "event" and not item.get("anonymous")]
    return {event_abi_to_log_topic(event): event for event in events}


def fetch_events(
    protocol: Protocol, from_block: int, to_block: int, contracts: Iterable[str] | None = None
) -> list[ChainEvent]:
    """Every event of the protocol's contracts (or of ``contracts``) in ``[from_block, to_block]``, in chain order."""
    infos = {n: i for n, i in protocol.deployment.contracts.items() if contracts is None or n in set(contracts)}
    by_address: _Topics = {info.address.lower(): (name, event_topics(info.abi)) for name, info in infos.items()}
    params: FilterParams = {
        "fromBlock": from_block,
        "toBlock": to_block,
        "address": [info.address for info in infos.values()],
    }
    events: list[ChainEvent] = []
    for log in protocol.w3.eth.get_logs(params):
        decoded = _decode(protocol, by_address, log)
        if decoded is not None:
            events.append(decoded)
    # Nodes return logs in chain order; sorting makes that a guarantee rather than a habit.
    events.sort(key=lambda e: (e.block_number, e.log_index))
    return events


def _decode(protocol: Protocol, by_address: _Topics, log: LogReceipt) -> ChainEvent | None:
    entry = by_address.get(str(log["address"]).lower())
    if entry is None or not log["topics"]:
        return None
    contract_name, topics = entry
    abi = topics.get(bytes(log["topics"][0]))
    if abi is None:
        return None
    data = get_event_data(protocol.w3.codec, abi, log)
    return ChainEvent(
        contract=contract_name,
        event=str(data["event"]),
        block_number=int(log["blockNumber"]),
        block_hash="0x" + bytes(log["blockHash"]).hex(),
        tx_hash="0x" + bytes(log["transactionHash"]).hex(),
        log_index=int(log["logIndex"]),
        args={k: _json_value(v) for k, v in dict(data["args"]).items()},
    )
