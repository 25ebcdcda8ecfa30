"""The payment checks' view of the chain, read straight from the contracts (tools, tests, benchmarks)."""

from __future__ import annotations

from chalicelib.chain.protocol import Protocol
from chalicelib.payments.chainview import RoundView, SenderFunds


class RpcChainView:
    """A ``ChainView`` answered by JSON-RPC calls: exact, but one round trip per question."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol

    def current_round(self) -> RoundView:
        """The current round, and the last initialized one with its recorded block hash."""
        rounds = self.protocol.rounds.functions
        last = int(rounds.lastInitializedRound().call())
        block_hash, number, _ = rounds.roundInfo(last).call()
        return RoundView(int(number), last, bytes(block_hash))

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        """The sender's deposit, ``recipient``'s claimable reserve, the sender's unlock round, and whether
        ``recipient`` is active."""
        info = self.protocol.sender_info(sender)
        claimable = int(self.protocol.broker.functions.claimableReserve(sender, recipient).call())
        active, _ = self.protocol.bonding.functions.activeSetInfo(recipient).call()
        return SenderFunds(info.deposit, claimable, info.withdraw_round, bool(active))

    def ticket_validity_period(self) -> int:
        """The TicketBroker's ticketValidityPeriod."""
        return int(self.protocol.broker.functions.ticketValidityPeriod().call())
