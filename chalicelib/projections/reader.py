"""Reads an entity's state from the contracts at one block, by hash (EIP-1898): a read of a block that a reorg
removed fails instead of answering from another fork."""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes
from web3.contract.contract import ContractFunction

from chalicelib.chain.protocol import Protocol
from chalicelib.projections.models import (
    BROKER_KEY,
    CLOCK_KEY,
    HEAD_KEY,
    BlockRef,
    BrokerState,
    ClaimState,
    ClockState,
    EntityState,
    HeadState,
    OrchestratorState,
    RoundHashState,
    SenderState,
)


class StateReader:
    """Reads entity states as of one block."""

    def __init__(self, protocol: Protocol, block: BlockRef) -> None:
        self.protocol = protocol
        self.block = block
        self._at = HexBytes(block.hash)
        self._round: int | None = None

    def _call(self, fn: ContractFunction) -> Any:
        return fn.call(block_identifier=self._at)

    def _address(self, address: str) -> str:
        return self.protocol.w3.to_checksum_address(address)

    @property
    def round(self) -> int:
        """The current round at the block."""
        if self._round is None:
            self._round = int(self._call(self.protocol.rounds.functions.currentRound()))
        return self._round

    def read(self, key: str) -> EntityState:
        """The state of the entity ``key`` names."""
        kind, _, rest = key.partition("#")
        if kind == "orchestrator":
            return self.orchestrator(rest)
        if kind == "sender":
            return self.sender(rest)
        if kind == "claim":
            sender, _, recipient = rest.partition("#")
            return self.claim(sender, recipient)
        if kind == "round":
            return self.round_hash(int(rest))
        if key == CLOCK_KEY:
            return self.clock()
        if key == BROKER_KEY:
            return self.broker()
        if key == HEAD_KEY:
            return HeadState(number=self.block.number, hash=self.block.hash)
        raise ValueError(f"no entity is keyed {key!r}")

    def orchestrator(self, address: str) -> OrchestratorState:
        a = self._address(address)
        bonding, registry = self.protocol.bonding.functions, self.protocol.contract("ServiceRegistry").functions
        pool = self._call(bonding.getTranscoder(a))
        cut, share, next_cut, next_share = self._call(bonding.getTranscoderTerms(a))
        price, pixels = self._call(registry.getPrice(a))
        credited, _, _ = self._call(self.protocol.broker.functions.recipientCredit(a))
        return OrchestratorState(
            address=a,
            total_stake=int(self._call(bonding.transcoderTotalStake(a))),
            registered=bool(self._call(bonding.isRegisteredTranscoder(a))),
            activation_round=int(pool[5]),
            deactivation_round=int(pool[6]),
            reward_cut=int(cut),
            fee_share=int(share),
            next_reward_cut=int(next_cut),
            next_fee_share=int(next_share),
            service_uri=str(self._call(registry.getServiceURI(a))),
            price_per_unit=int(price),
            pixels_per_unit=int(pixels),
            read_round=self.round,
            credited=int(credited),
        )

    def sender(self, address: str) -> SenderState:
        a = self._address(address)
        deposit, withdraw_round, reserve, claimed = self._call(self.protocol.broker.functions.getSenderInfo(a))
        return SenderState(
            address=a,
            deposit=int(deposit),
            withdraw_round=int(withdraw_round),
            reserve=int(reserve),
            claimed_in_round=int(claimed),
            read_round=self.round,
        )

    def claim(self, sender: str, recipient: str) -> ClaimState:
        s, r = self._address(sender), self._address(recipient)
        claimed = int(self._call(self.protocol.broker.functions.claimedReserve(s, r)))
        return ClaimState(sender=s, recipient=r, claimed=claimed, read_round=self.round)

    def round_hash(self, round_: int) -> RoundHashState:
        block_hash = bytes(self._call(self.protocol.rounds.functions.blockHashForRound(round_)))
        return RoundHashState(round=round_, block_hash="0x" + block_hash.hex())

    def clock(self) -> ClockState:
        rounds = self.protocol.rounds.functions
        return ClockState(
            round_length=int(self._call(rounds.roundLength())),
            anchor_round=self.round,
            anchor_start_block=int(self._call(rounds.currentRoundStartBlock())),
            last_initialized_round=int(self._call(rounds.lastInitializedRound())),
            active_set_size=int(self._call(self.protocol.bonding.functions.currentRoundActiveSetSize())),
        )

    def broker(self) -> BrokerState:
        broker = self.protocol.broker.functions
        return BrokerState(
            ticket_validity_period=int(self._call(broker.ticketValidityPeriod())),
            unlock_period=int(self._call(broker.unlockPeriod())),
        )
