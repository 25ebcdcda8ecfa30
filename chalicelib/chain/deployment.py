"""The protocol's deployment: its parameters and, per contract, the address and ABI (one JSON file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.chain.tickets import Address

#: Contracts in deployment order; each is registered in the Controller under keccak256(name).
CONTRACT_NAMES: tuple[str, ...] = (
    "Controller",
    "LivepeerToken",
    "Minter",
    "RoundsManager",
    "BondingManager",
    "TicketBroker",
    "ServiceRegistry",
)
#: Not in the Controller's registry: its owner, the timelock every owner action goes through.
GOVERNANCE = "Governance"
#: Where `make deploy-contracts` writes a chain's deployment, relative to the repository root.
DEPLOYMENTS_DIR = Path("deployments")

PPM = 1_000_000  # rewardCut, feeShare, roundLockAmount, slashAmount, finderFee
PERC_DIVISOR = 1_000_000_000  # inflation, inflationChange, targetBondingRate


class ProtocolParams(BaseModel):
    """The protocol parameters of contracts/protocol.json (periods in rounds, percentages as stated)."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True)

    round_length: int = Field(alias="roundLength", gt=0)
    round_lock_amount: int = Field(alias="roundLockAmount", ge=0, le=PPM)
    unbonding_period: int = Field(alias="unbondingPeriod", ge=0)
    num_active_transcoders: int = Field(alias="numActiveTranscoders", gt=0)
    ticket_validity_period: int = Field(alias="ticketValidityPeriod", gt=0)
    unlock_period: int = Field(alias="unlockPeriod", ge=0)
    inflation: int = Field(ge=0, le=PERC_DIVISOR)
    inflation_change: int = Field(alias="inflationChange", ge=0, le=PERC_DIVISOR)
    target_bonding_rate: int = Field(alias="targetBondingRate", ge=0, le=PERC_DIVISOR)
    initial_supply: int = Field(alias="initialSupply", ge=0)
    slash_amount: int = Field(alias="slashAmount", ge=0, le=PPM)
    finder_fee: int = Field(alias="finderFee", ge=0, le=PPM)
    governance_delay: int = Field(alias="governanceDelay", ge=0)

    @classmethod
    def load(cls, path: Path) -> ProtocolParams:
        """Read a protocol.json file."""
        return cls.model_validate(json.loads(path.read_text()))


class ContractInfo(BaseModel):
    """One deployed contract."""

    address: Address
    abi: list[dict[str, Any]]


class Deployment(BaseModel):
    """Everything the Python side needs to talk to one deployment of the protocol."""

    chain_id: int
    block_number: int
    deployer: Address
    verifier: Address  # the zero address while slashing is off
    params: ProtocolParams
    contracts: dict[str, ContractInfo]  # the registered contracts, and "Governance"
    libraries: dict[str, Address] = {}  # linked into the BondingManager

    def address(self, name: str) -> ChecksumAddress:
        """The address of contract ``name`` (e.g. "TicketBroker")."""
        return self.contracts[name].address

    def save(self, path: Path) -> Path:
        """Write the deployment as JSON (parameters under their protocol.json names) and return the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(by_alias=True, indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read a deployment JSON file written by ``save``."""
        return cls.model_validate_json(path.read_text())


def default_deployment_path(chain_id: int) -> Path:
    """deployments/<chainId>.json."""
    return DEPLOYMENTS_DIR / f"{chain_id}.json"
