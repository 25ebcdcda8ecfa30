// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the protocol contracts need to know about each other; one file so the seams are visible.
interface IController {
    function owner() external view returns (address);
    function paused() external view returns (bool);
    function getContract(bytes32 id) external view returns (address);
    function getContractsWhenNotPaused(bytes32 a, bytes32 b) external view returns (address, address);
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
    /// @dev For a TicketBroker's first ticket to `transcoder` (or one after its cache lapsed): whether it may be paid
    /// (registered, and active now or within the last `graceRounds` rounds), and `payableBase`: it stays payable
    /// while round < payableBase + the validity period, unless it leaves the set first (the BondingManager then
    /// calls `forget`); and the round at whose end its pool changes, if it does (`changing`), so that the broker
    /// keeps the credit as it stood then.
    function recipientStatus(address transcoder, uint256 graceRounds)
        external
        view
        returns (bool payable_, uint256 payableBase, bool changing, uint256 changeRound);
    /// @dev For reserve claims: whether `transcoder` is active this round, and how many were active when the
    /// round began (the reserve's divisor; a slash later in the round does not change it).
    function activeSetInfo(address transcoder) external view returns (bool active, uint256 activeSetSize);
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
    function recipientCredit(address recipient)
        external
        view
        returns (uint256 credited, bool watching, uint256 creditedAtWatchEnd);
    function forget(address recipient) external;
    function isTicketUsed(bytes32 ticketHash, uint256 creationRound) external view returns (bool);
    function usedTickets(bytes32 ticketHash) external view returns (bool);
    function watch(address recipient, uint256 round) external;
    function releaseFees(uint256 amount) external;
}
