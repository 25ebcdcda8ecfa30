// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Names under which the Controller registers each contract (keccak256 of the contract name).
library ContractIds {
    bytes32 internal constant BONDING_MANAGER = keccak256("BondingManager");
    bytes32 internal constant ROUNDS_MANAGER = keccak256("RoundsManager");
    bytes32 internal constant MINTER = keccak256("Minter");
    bytes32 internal constant TICKET_BROKER = keccak256("TicketBroker");
    bytes32 internal constant TOKEN = keccak256("LivepeerToken");
    bytes32 internal constant SERVICE_REGISTRY = keccak256("ServiceRegistry");
    /// @dev The account allowed to slash (a verification service in roadmap step 6).
    bytes32 internal constant VERIFIER = keccak256("Verifier");
}
