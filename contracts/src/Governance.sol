// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Governance
/// @notice The Controller's owner: OpenZeppelin's timelock. Proposers schedule a call (a parameter change,
/// re-pointing a contract, a pause), it is public on chain at once (CallScheduled), and anyone may execute it
/// once `minDelay` seconds have passed. Deployed with no admin, so only a call through the timelock itself can
/// change its roles or delay. Set `minDelay` above the unbonding period, so stake can leave before any change
/// it does not accept takes effect.
contract Governance is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
