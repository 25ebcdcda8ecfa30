// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Controller
/// @notice Registry of the protocol's contract addresses by name, and the system-wide pause.
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

    /// @notice The address registered under `id`; reverts while the system is paused.
    /// @dev Saves the hot paths a second call: the pause check and the lookup in one.
    function getContractWhenNotPaused(bytes32 id) external view returns (address) {
        require(!paused, "system is paused");
        return registry[id];
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
