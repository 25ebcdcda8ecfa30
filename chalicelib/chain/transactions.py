"""Sending a contract call from one local key: estimate (a revert surfaces as a stable code), sign, send, wait.

One ``TxSender`` per key and process, one transaction at a time (a lock serializes the threads of one
process): it takes the nonce from the node's pending count. Two processes sending for one key (the
redeemer and the round schedule, in Lambda) can still collide on a nonce; the loser gets
``ChainUnavailable`` and its caller retries, which both do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxParams

from chalicelib.chain.protocol import revert_code

#: What a node answers when another sender for the same key took the nonce first (worth a retry).
_NONCE_RACES = ("nonce too low", "replacement transaction underpriced", "already known", "nonce has already been used")
#: Headroom over the node's gas estimate (state can move between estimate and inclusion).
GAS_HEADROOM = 1.2


class ChainReverted(Exception):
    """A call the chain refuses: ``code`` from ``REVERT_CODES`` and the node's message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChainUnavailable(Exception):
    """The node did not answer, or the transaction was not mined in time: try again later."""


@dataclass(frozen=True)
class Sent:
    """A mined transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    effective_gas_price: int

    @property
    def fee_wei(self) -> int:
        """What the transaction cost its sender."""
        return self.gas_used * self.effective_gas_price


class TxSender:
    """Signs and sends transactions from ``account`` and waits for each to be mined."""

    def __init__(self, w3: Web3, account: LocalAccount, *, timeout_s: float = 120.0, poll_s: float = 0.05) -> None:
        self.w3 = w3
        self.account = account
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """The sending address."""
        return str(self.account.address)

    def send(self, fn: ContractFunction, value: int = 0) -> Sent:
        """Send ``fn`` from this key; raise ``ChainReverted`` if it would revert or did, ``ChainUnavailable``
        if the node cannot be reached or the transaction is not mined within the timeout."""
        with self._lock:
            return self._send(fn, value)

    def _send(self, fn: ContractFunction, value: int) -> Sent:
        params: TxParams = {"from": self.account.address, "value": Web3.to_wei(value, "wei")}
        try:
            gas = int(fn.estimate_gas(params) * GAS_HEADROOM)
            tx = fn.build_transaction(
                {
                    **params,
                    "gas": gas,
                    "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                    "chainId": self.w3.eth.chain_id,
                }
            )
            signed = self.account.sign_transaction(dict(tx))  # type: ignore[arg-type]
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, self.timeout_s, self.poll_s)
        except ContractLogicError as error:
            message = str(error.message or error)
            raise ChainReverted(revert_code(message), message) from None
        except TimeExhausted as error:
            raise ChainUnavailable(f"not mined within {self.timeout_s:.0f} s: {error}") from None
        except (OSError, ConnectionError) as error:
            raise ChainUnavailable(f"the node did not answer: {error}") from None
        except Web3RPCError as error:
            text = str(error).lower()
            if any(race in text for race in _NONCE_RACES):  # a nonce another process took a moment earlier
                raise ChainUnavailable(f"the node refused the transaction: {error}") from None
            raise  # e.g. too little ETH for value plus gas: the caller says so
        if receipt["status"] != 1:
            raise ChainReverted("chain_reverted", f"transaction {tx_hash.hex()} reverted")
        return Sent(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            effective_gas_price=int(receipt.get("effectiveGasPrice", 0)),
        )
