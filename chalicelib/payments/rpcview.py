"""The payment checks' view of the chain, read straight from the contracts (tools, tests, benchmarks)."""

from __future__ import annotations

from chalicelib.chain.protocol import Protocol
from chalicelib.payments.chainview import RoundView, SenderFunds


class RpcChainView:
    """A ``ChainView`` answered by JSON-RPC calls: exact, but one round trip per question."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol

    def current_round(self) -> RoundView:
        """The current round, its recorded block hash and whether it is initialized."""
        block_hash, number, initialized = self.protocol.rounds.functions.roundInfo(self.protocol.current_round()).call()
        return RoundView(int(number), bytes(block_hash), bool(initialized))

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        """The sender's deposit, ``recipient``'s claimable reserve, and the sender's unlock round."""
        info = self.protocol.sender_info(sender)
        claimable = int(self.protocol.broker.functions.claimableReserve(sender, recipient).call())
        return SenderFunds(info.deposit, claimable, info.withdraw_round)

    def ticket_validity_period(self) -> int:
        """The TicketBroker's ticketValidityPeriod."""
        return int(self.protocol.broker.functions.ticketValidityPeriod().call())
