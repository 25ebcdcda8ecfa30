// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Manager} from "./Manager.sol";

/// @title ServiceRegistry
/// @notice Where each orchestrator publishes the URI its gateway-facing service answers on.
contract ServiceRegistry is Manager {
    mapping(address account => string) private serviceURIs;

    event ServiceURIUpdate(address indexed addr, string serviceURI);

    constructor(address controllerAddress) Manager(controllerAddress) {}

    /// @notice Publish the caller's service URI.
    function setServiceURI(string calldata serviceURI) external whenSystemNotPaused {
        require(bytes(serviceURI).length <= 512, "service URI is too long");
        serviceURIs[msg.sender] = serviceURI;
        emit ServiceURIUpdate(msg.sender, serviceURI);
    }

    /// @notice The service URI `addr` published, or "".
    function getServiceURI(address addr) external view returns (string memory) {
        return serviceURIs[addr];
    }
}
