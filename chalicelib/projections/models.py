"""What the projections hold: one state snapshot per chain entity, the messages that carry them, and the views.

Every snapshot is an entity's contract state read at one block (``as_of``), never a sum of events, so applying
it twice, or after a newer one was refused, changes nothing. Values that move with the round and not with
an event (which terms are in force, whether an orchestrator is active, what reserve a recipient may claim)
are kept raw, with the round they were read in, and worked out when asked (``view``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.chain.event_record import ChainEvent

ZERO_HASH = "0x" + "00" * 32


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrchestratorState(_State):
    """An orchestrator's pool, terms and advertisement (BondingManager + ServiceRegistry)."""

    kind: Literal["orchestrator"] = "orchestrator"
    address: str
    total_stake: int  # transcoderTotalStake: its key in the active set, pending stake included
    registered: bool
    activation_round: int
    deactivation_round: int
    reward_cut: int  # ppm, in force in ``read_round``
    fee_share: int
    next_reward_cut: int  # in force from the round after ``read_round`` on
    next_fee_share: int
    service_uri: str
    price_per_unit: int
    pixels_per_unit: int
    read_round: int
    # TicketBroker.recipientCredit: the face value of every winning ticket paid to it, from any sender (only grows).
    credited: int = 0

    @property
    def key(self) -> str:
        return orchestrator_key(self.address)

    @property
    def known(self) -> bool:
        """Whether the contracts hold anything for the address: one they never saw reads all zero, and so does
        one that only an orphaned fork knew, re-read after the reorg."""
        return bool(
            self.total_stake
            or self.registered
            or self.activation_round
            or self.deactivation_round
            or self.reward_cut
            or self.fee_share
            or self.next_reward_cut
            or self.next_fee_share
            or self.service_uri
            or self.price_per_unit
            or self.pixels_per_unit
            or self.credited
        )


class SenderState(_State):
    """A broadcaster's funds in the TicketBroker (``getSenderInfo``)."""

    kind: Literal["sender"] = "sender"
    address: str
    deposit: int
    withdraw_round: int
    reserve: int
    claimed_in_round: int  # of the reserve, in ``read_round`` (0 if nothing was claimed in it)
    read_round: int

    @property
    def key(self) -> str:
        return sender_key(self.address)


class ClaimState(_State):
    """What ``recipient`` claimed of ``sender``'s reserve in ``read_round`` (``claimedReserve``)."""

    kind: Literal["claim"] = "claim"
    sender: str
    recipient: str
    claimed: int
    read_round: int

    @property
    def key(self) -> str:
        return claim_key(self.sender, self.recipient)


class RoundHashState(_State):
    """The block hash recorded for a round when it was initialized (zero until then)."""

    kind: Literal["round"] = "round"
    round: int
    block_hash: str

    @property
    def key(self) -> str:
        return round_key(self.round)


class ClockState(_State):
    """The RoundsManager's clock: the round number follows from any later block without another read."""

    kind: Literal["clock"] = "clock"
    round_length: int
    anchor_round: int  # the current round at the block read ...
    anchor_start_block: int  # ... and the block it started at
    last_initialized_round: int
    active_set_size: int  # BondingManager.currentRoundActiveSetSize: the reserve's divisor

    @property
    def key(self) -> str:
        return CLOCK_KEY

    def round_at(self, block: int) -> int:
        """The current round at ``block`` (RoundsManager._currentRound)."""
        return self.anchor_round + (block - self.anchor_start_block) // self.round_length


class BrokerState(_State):
    """The TicketBroker's periods."""

    kind: Literal["broker"] = "broker"
    ticket_validity_period: int
    unlock_period: int

    @property
    def key(self) -> str:
        return BROKER_KEY


class HeadState(_State):
    """The newest block the projections are as of (the confirmed head of the newest poll)."""

    kind: Literal["head"] = "head"
    number: int
    hash: str

    @property
    def key(self) -> str:
        return HEAD_KEY


EntityState = Annotated[
    OrchestratorState | SenderState | ClaimState | RoundHashState | ClockState | BrokerState | HeadState,
    Field(discriminator="kind"),
]

CLOCK_KEY = "clock"
BROKER_KEY = "broker"
HEAD_KEY = "head"
#: The entities no account owns: read on the first poll, whatever the logs say.
GLOBAL_KEYS: tuple[str, ...] = (CLOCK_KEY, BROKER_KEY)


def orchestrator_key(address: str) -> str:
    return f"orchestrator#{address.lower()}"


def sender_key(address: str) -> str:
    return f"sender#{address.lower()}"


def claim_key(sender: str, recipient: str) -> str:
    return f"claim#{sender.lower()}#{recipient.lower()}"


def round_key(round_: int) -> str:
    return f"round#{round_}"


class BlockRef(BaseModel):
    """A block by number and hash."""

    model_config = ConfigDict(frozen=True)

    number: int
    hash: str


class ChainMessage(BaseModel):
    """One message on the chain-event queue: an event (or none, for a poll's closing sync) and the states of
    the entities it touched, read at ``as_of``; ``version`` is the poll's sequence number."""

    model_config = ConfigDict(frozen=True)

    version: int
    as_of: BlockRef
    event: ChainEvent | None = None
    states: list[EntityState] = []

    def dedup_id(self, part: int = 0) -> str:
        """The FIFO deduplication id: the same poll resending the same event sends the same id."""
        return f"{self.version}:{self.event.key if self.event else f'sync:{part}'}"


class OrchestratorView(BaseModel):
    """An orchestrator as the gateway's selection sees it this round."""

    model_config = ConfigDict(frozen=True)

    address: str
    stake: int
    reward_cut: int
    fee_share: int
    service_uri: str
    price_per_unit: int
    pixels_per_unit: int
    active: bool  # active this round and registered: it can be paid (BondingManager.activeSetInfo)
    credited: int = 0  # wei the TicketBroker credited it for winning tickets, from every sender


def as_json(state: Any) -> str:
    """A state as the JSON the table keeps (integers of any size survive, DynamoDB numbers would not)."""
    text: str = state.model_dump_json()
    return text
