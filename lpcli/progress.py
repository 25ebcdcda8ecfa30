"""Sending a command's transactions one by one, each behind a spinner, then its hash and gas; a step already in
place is said and skipped. Whatever the chain refuses comes back as a ``CliError`` in words."""

from __future__ import annotations

from collections.abc import Mapping

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.markup import escape
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError

from chalicelib.chain.transactions import ChainReverted, ChainUnavailable, Sent
from lpcli.errors import CliError, explain_custom_error, explain_revert
from lpcli.session import Session, unreachable


class Progress:
    """Sends ``account``'s transactions through ``session`` and tells ``console`` how each went."""

    def __init__(self, session: Session, account: LocalAccount, console: Console) -> None:
        self.session = session
        self.account = account
        self.console = console
        self.sender = session.sender(account)
        self.sent: list[Sent] = []

    @property
    def address(self) -> str:
        """The signing address."""
        return str(self.account.address)

    def send(self, label: str, fn: ContractFunction, value: int = 0) -> Sent:
        """Send one transaction, with a spinner while it is estimated, signed, sent and mined."""
        shown = escape(label)  # a service URI or an address, never markup
        with self.console.status(f"{shown} …", spinner="dots"):
            try:
                sent = self.sender.send(fn, value)
            except ChainReverted as error:
                raise CliError(
                    f"{label}: {explain_chain_error(error.message, self.session.error_selectors())}"
                ) from None
            except ChainUnavailable as error:
                raise CliError(f"{label}: {error}") from None
            except Web3RPCError as error:  # refused before it ran: e.g. too little ETH for value plus gas
                raise CliError(f"{label}: {explain_rpc_error(error)}") from None
        self.sent.append(sent)
        self.console.print(
            f"[green]✓[/green] {shown}  [dim]tx[/dim] {sent.tx_hash}  [dim]gas[/dim] {sent.gas_used:,}"
            f"  [dim]block[/dim] {sent.block_number}"
        )
        return sent

    def skip(self, label: str, why: str) -> None:
        """Say that a step is already in place."""
        self.console.print(f"[dim]· {escape(label)}: {escape(why)}[/dim]")


def explain_chain_error(message: str, selectors: Mapping[str, str]) -> str:
    """The sentence for what a node said when it refused a call: a revert reason, a custom error's data, a panic."""
    data = message.strip().split()[-1] if message.strip() else ""
    if data.startswith("0x"):
        custom = explain_custom_error(data, selectors)
        if custom is not None:
            return custom
    return explain_revert(message)


def explain_call_error(error: Exception, session: Session) -> str:
    """The sentence for an exception a read or a send raised."""
    if isinstance(error, ContractLogicError):
        data = error.data if isinstance(error.data, str) else ""
        custom = explain_custom_error(data, session.error_selectors()) if data else None
        return custom or explain_revert(str(error.message or error))
    if isinstance(error, Web3RPCError):
        return explain_rpc_error(error)
    return unreachable(session.rpc, error)


def explain_rpc_error(error: Web3RPCError) -> str:
    """The sentence for a JSON-RPC error answer that is not a revert."""
    text = str(error.message or error)
    if "insufficient funds" in text.lower():
        return "your account has too little ETH to pay for this (the amount sent plus gas)"
    if "nonce" in text.lower():
        return f"the node refused the transaction's nonce (another transaction from this key in flight?): {text}"
    return f"the node refused: {text}"
