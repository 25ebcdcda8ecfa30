"""One decoded protocol event as plain data (no web3 here: the Lambda handlers that project events load it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ChainEvent(BaseModel):
    """One decoded log. ``key`` (transaction hash + log index) identifies it for idempotent handling.

    ``block_hash`` says which fork the log came from: after a reorg the same transaction may land in
    another block, or in none.
    """

    model_config = ConfigDict(frozen=True)

    contract: str
    event: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    args: dict[str, Any]

    @property
    def key(self) -> str:
        """``<tx hash>:<log index>``: the same log always gets the same key, however often it is delivered."""
        return f"{self.tx_hash}:{self.log_index}"
