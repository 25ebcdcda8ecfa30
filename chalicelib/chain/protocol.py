"""Typed bindings to one deployment of the protocol contracts: the reads the services need, and the writes
as unsent contract functions (the caller signs and sends them its own way: a local key, KMS, a relayer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from chalicelib.chain.deployment import Deployment
from chalicelib.chain.pool_hints import ZERO_ADDRESS, find_hints
from chalicelib.chain.tickets import Ticket

#: Revert reasons the contracts give, mapped to the stable error codes the API layer reports.
REVERT_CODES: dict[str, str] = {
    "ticket is used": "ticket_replayed",
    "ticket is expired": "ticket_expired",
    "ticket did not win": "ticket_not_winning",
    "invalid signature over ticket hash": "ticket_bad_signature",
    "recipientRand does not match recipientRandHash": "ticket_bad_recipient_rand",
    "ticket creationRound does not have a block hash": "ticket_unknown_round",
    "ticket creationRoundBlockHash invalid for creationRound": "ticket_bad_round_block_hash",
    "invalid length for ticket auxData: must be 64 bytes": "ticket_bad_aux_data",
    "ticket recipient is null address": "ticket_bad_recipient",
    "ticket recipient is not an active orchestrator": "ticket_recipient_not_active",
    "ticket broker was replaced": "ticket_broker_replaced",
    "ticket faceValue too large": "ticket_face_value_too_large",
    "sender is unlocked": "ticket_sender_unlocked",
    "ticket sender is null address": "ticket_bad_sender",
    "faceValue exceeds deposit and recipient is not active": "ticket_underfunded",
    "faceValue exceeds deposit and reserve allocation": "ticket_underfunded",
    "current round is not initialized": "round_not_initialized",
    "system is paused": "system_paused",
}


def revert_code(message: str) -> str:
    """The stable code for a revert message (web3's "execution reverted: <reason>"), or "chain_reverted"."""
    for reason, code in REVERT_CODES.items():
        if reason in message:
            return code
    return "chain_reverted"


@dataclass(frozen=True)
class SenderInfo:
    """A broadcaster's funds in the TicketBroker (wei) and its unlock state."""

    deposit: int
    withdraw_round: int  # 0 while not unlocking
    reserve: int
    reserve_claimed_in_current_round: int


@dataclass(frozen=True)
class TranscoderInfo:
    """An orchestrator's pool as the BondingManager keeps it."""

    total_stake: int
    total_shares: int
    reward_cut: int  # ppm
    fee_share: int  # ppm
    last_reward_round: int
    activation_round: int
    deactivation_round: int


class Protocol:
    """The deployed contracts of one chain, with typed reads."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        self._contracts: dict[str, Contract] = {}

    @classmethod
    def from_file(cls, w3: Web3, path: Path) -> Protocol:
        """Bind to the deployment JSON that ``make deploy-contracts`` wrote."""
        return cls(w3, Deployment.load(path))

    def contract(self, name: str) -> Contract:
        """The web3 contract object for ``name`` ("BondingManager", "TicketBroker", ...)."""
        if name not in self._contracts:
            info = self.deployment.contracts[name]
            self._contracts[name] = self.w3.eth.contract(address=info.address, abi=info.abi)
        return self._contracts[name]

    @property
    def broker(self) -> Contract:
        return self.contract("TicketBroker")

    @property
    def bonding(self) -> Contract:
        return self.contract("BondingManager")

    @property
    def rounds(self) -> Contract:
        return self.contract("RoundsManager")

    # ---------------------------------------------------------------------------------------- reads

    def current_round(self) -> int:
        """The current round number."""
        return int(self._call(self.rounds.functions.currentRound()))

    def current_round_initialized(self) -> bool:
        """Whether someone has initialized the current round (tickets and staking need it)."""
        return bool(self._call(self.rounds.functions.currentRoundInitialized()))

    def round_block_hash(self, round_: int) -> bytes:
        """The block hash recorded for ``round_`` (what tickets created in it carry), zero if uninitialized."""
        return bytes(self._call(self.rounds.functions.blockHashForRound(round_)))

    def sender_info(self, sender: str) -> SenderInfo:
        """A broadcaster's deposit, reserve and unlock state."""
        deposit, withdraw_round, reserve, claimed = self._call(self.broker.functions.getSenderInfo(sender))
        return SenderInfo(int(deposit), int(withdraw_round), int(reserve), int(claimed))

    def ticket_used(self, ticket_hash: bytes) -> bool:
        """Whether a ticket hash has been redeemed."""
        return bool(self._call(self.broker.functions.usedTickets(ticket_hash)))

    def transcoder(self, address: str) -> TranscoderInfo:
        """An orchestrator's pool."""
        values = self._call(self.bonding.functions.getTranscoder(address))
        return TranscoderInfo(*(int(v) for v in values[:7]))

    def is_active_transcoder(self, address: str) -> bool:
        """Whether ``address`` is in the current round's active set."""
        return bool(self._call(self.bonding.functions.isActiveTranscoder(address)))

    def transcoder_pool(self) -> list[tuple[ChecksumAddress, int]]:
        """The active-set list, largest stake first (one call per member: use for tools, not hot paths)."""
        pool: list[tuple[ChecksumAddress, int]] = []
        current = cast(ChecksumAddress, self._call(self.bonding.functions.getFirstTranscoderInPool()))
        while current != ZERO_ADDRESS:
            pool.append((current, int(self._call(self.bonding.functions.transcoderTotalStake(current)))))
            current = cast(ChecksumAddress, self._call(self.bonding.functions.getNextTranscoderInPool(current)))
        return pool

    def service_uri(self, address: str) -> str:
        """The URI an orchestrator published in the ServiceRegistry."""
        return str(self._call(self.contract("ServiceRegistry").functions.getServiceURI(address)))

    def advertised_price(self, address: str) -> tuple[int, int]:
        """The (pricePerUnit wei, pixelsPerUnit) an orchestrator advertised in the ServiceRegistry; (0, 0) if none."""
        price, pixels = self._call(self.contract("ServiceRegistry").functions.getPrice(address))
        return int(price), int(pixels)

    def pending_fees(self, address: str) -> int:
        """ETH wei ``address`` could withdraw now as fees."""
        return int(self._call(self.bonding.functions.pendingFees(address)))

    # ---------------------------------------------------------------------------------------- writes

    def redeem_winning_ticket(self, ticket: Ticket, signature: bytes, recipient_rand: int) -> ContractFunction:
        """``redeemWinningTicket`` for one ticket, unsent."""
        return self.broker.functions.redeemWinningTicket(ticket.as_contract_args(), signature, recipient_rand)

    def batch_redeem_winning_tickets(self, tickets: list[tuple[Ticket, bytes, int]]) -> ContractFunction:
        """``batchRedeemWinningTickets`` (a ticket refused on its merits is skipped, the rest pay; with too little
        gas for any of them the whole batch reverts), unsent."""
        return self.broker.functions.batchRedeemWinningTickets(
            [t.as_contract_args() for t, _, _ in tickets], [sig for _, sig, _ in tickets], [r for _, _, r in tickets]
        )

    def initialize_round(self) -> ContractFunction:
        """``initializeRound``, unsent."""
        return self.rounds.functions.initializeRound()

    def reward(self, transcoder: ChecksumAddress, expected_reward: int = 0) -> ContractFunction:
        """``rewardWithHint`` with hints for the orchestrator's new stake (reads the pool: O(pool) calls)."""
        pool = self.transcoder_pool()
        stake = dict(pool).get(transcoder, 0)
        prev, nxt = find_hints(pool, transcoder, stake + expected_reward)
        return self.bonding.functions.rewardWithHint(prev, nxt)

    def _call(self, fn: ContractFunction) -> Any:
        return fn.call()
