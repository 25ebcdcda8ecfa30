// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Controller
/// @notice Registry of the protocol's contract addresses by name, and the system-wide pause.
/// @dev Its owner is the Governance timelock once deployment is done (contracts/deploy.py): every owner power
/// here and in the contracts' parameter setters is announced on chain and waits out the timelock's delay.
contract Controller is Ownable {
    mapping(bytes32 id => address) private registry;
    bool public paused;

    event SetContractInfo(bytes32 indexed id, address contractAddress);
    event Paused(address account);
    event Unpaused(address account);

    constructor() Ownable(msg.sender) {}

    /// @notice Register `contractAddress` under `id` (keccak256 of the contract's name).
    function setContractInfo(bytes32 id, address contractAddress) external onlyOwner {
        registry[id] = contractAddress;
        emit SetContractInfo(id, contractAddress);
    }

    /// @notice The address registered under `id`, or zero.
    function getContract(bytes32 id) external view returns (address) {
        return registry[id];
    }

    /// @notice The addresses registered under `a` and `b`; reverts while the system is paused.
    /// @dev Saves the ticket broker's hot path calls: the pause check and two lookups in one.
    function getContractsWhenNotPaused(bytes32 a, bytes32 b) external view returns (address, address) {
        require(!paused, "system is paused");
        return (registry[a], registry[b]);
    }

    function pause() external onlyOwner {
        require(!paused, "system is paused");
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        require(paused, "system is not paused");
        paused = false;
        emit Unpaused(msg.sender);
    }
}
