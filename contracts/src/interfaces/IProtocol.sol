// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the protocol contracts need to know about each other; one file so the seams are visible.
interface IController {
    function owner() external view returns (address);
    function paused() external view returns (bool);
    function getContract(bytes32 id) external view returns (address);
    function getContractWhenNotPaused(bytes32 id) external view returns (address);
}

interface ILivepeerToken {
    function mint(address to, uint256 amount) external;
    function burn(uint256 amount) external;
    function totalSupply() external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

interface IRoundsManager {
    function currentRound() external view returns (uint256);
    function currentRoundInitialized() external view returns (bool);
    function currentRoundLocked() external view returns (bool);
    function blockHashForRound(uint256 round) external view returns (bytes32);
    /// @dev One call for the ticket broker's hot path: the block hash recorded for `round`,
    /// the current round and whether it is initialized.
    function roundInfo(uint256 round) external view returns (bytes32 blockHash, uint256 current, bool initialized);
}

interface IBondingManager {
    function setCurrentRoundTotalActiveStake() external;
    function getTotalBonded() external view returns (uint256);
    function isActiveTranscoder(address transcoder) external view returns (bool);
    function getTranscoderPoolSize() external view returns (uint256);
}

interface IMinter {
    function setCurrentRewardTokens() external;
    function createReward(uint256 fracNum, uint256 fracDenom) external returns (uint256);
    function trustedTransferTokens(address to, uint256 amount) external;
    function trustedBurnTokens(uint256 amount) external;
    function trustedWithdrawETH(address payable to, uint256 amount) external;
    function depositETH() external payable;
}

interface ITicketBroker {
    function feeCounter(address recipient) external view returns (uint256);
    function primeFeeCounter(address recipient) external returns (bool primed);
}
