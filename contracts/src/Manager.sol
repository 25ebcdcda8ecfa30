// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IController} from "./interfaces/IProtocol.sol";

/// @notice Base of every protocol contract: the Controller it answers to, and the role checks.
abstract contract Manager {
    IController public immutable controller;

    event ParameterUpdate(string param);

    constructor(address controllerAddress) {
        require(controllerAddress != address(0), "controller is null address");
        controller = IController(controllerAddress);
    }

    modifier onlyControllerOwner() {
        require(msg.sender == controller.owner(), "caller must be Controller owner");
        _;
    }

    modifier whenSystemNotPaused() {
        require(!controller.paused(), "system is paused");
        _;
    }

    function _contract(bytes32 id) internal view returns (address) {
        return controller.getContract(id);
    }
}
