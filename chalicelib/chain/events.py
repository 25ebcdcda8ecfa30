"""The protocol's events, read from logs and decoded: what the chain-event pipeline projects (never storage)."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak
from hexbytes import HexBytes
from pydantic import BaseModel, ConfigDict
from web3.types import FilterParams, LogReceipt

from chalicelib.chain.protocol import Protocol


class ChainEvent(BaseModel):
    """One decoded log. ``key`` (transaction hash + log index) identifies it for idempotent handling."""

    model_config = ConfigDict(frozen=True)

    contract: str
    event: str
    block_number: int
    tx_hash: str
    log_index: int
    args: dict[str, Any]

    @property
    def key(self) -> str:
        """``<tx hash>:<log index>``: the same log always gets the same key, however often it is delivered."""
        return f"{self.tx_hash}:{self.log_index}"


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _signature(abi: dict[str, Any]) -> bytes:
    types = ",".join(i["type"] for i in abi["inputs"])
    return keccak(text=f"{abi['name']}({types})")


def fetch_events(protocol: Protocol, from_block: int, to_block: int) -> list[ChainEvent]:
    """Every protocol event in ``[from_block, to_block]``, in chain order."""
    by_address: dict[str, tuple[str, dict[bytes, str]]] = {}
    for name, info in protocol.deployment.contracts.items():
        topics = {_signature(item): item["name"] for item in info.abi if item.get("type") == "event"}
        by_address[info.address.lower()] = (name, topics)
    params: FilterParams = {
        "fromBlock": from_block,
        "toBlock": to_block,
        "address": [info.address for info in protocol.deployment.contracts.values()],
    }
    events: list[ChainEvent] = []
    for log in protocol.w3.eth.get_logs(params):
        decoded = _decode(protocol, by_address, log)
        if decoded is not None:
            events.append(decoded)
    return events


def _decode(
    protocol: Protocol, by_address: dict[str, tuple[str, dict[bytes, str]]], log: LogReceipt
) -> ChainEvent | None:
    entry = by_address.get(str(log["address"]).lower())
    if entry is None or not log["topics"]:
        return None
    contract_name, topics = entry
    event_name = topics.get(bytes(log["topics"][0]))
    if event_name is None:
        return None
    data = protocol.contract(contract_name).events[event_name]().process_log(log)
    return ChainEvent(
        contract=contract_name,
        event=event_name,
        block_number=int(log["blockNumber"]),
        tx_hash="0x" + bytes(log["transactionHash"]).hex(),
        log_index=int(log["logIndex"]),
        args={k: _json_value(v) for k, v in dict(data["args"]).items()},
    )
