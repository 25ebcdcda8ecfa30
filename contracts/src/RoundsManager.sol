// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Manager} from "./Manager.sol";
import {IBondingManager, IMinter} from "./interfaces/IProtocol.sol";
import {ContractIds} from "./libraries/ContractIds.sol";

/// @title RoundsManager
/// @notice Rounds of `roundLength` blocks. Anyone initializes a round once; that records the previous
/// block's hash for tickets, snapshots the active stake and sets the round's mintable tokens.
/// The last `roundLockAmount` (ppm of the round) is locked: orchestrators can't change their terms.
contract RoundsManager is Manager {
    uint256 public constant PPM = 1_000_000;
    /// @notice Hard upper bound on the round length, in blocks (about 140 days of 12 s blocks).
    uint256 public constant MAX_ROUND_LENGTH = 1_000_000;

    // One slot, read on the ticket broker's hot path.
    struct RoundState {
        uint64 roundLength;
        uint64 lastRoundLengthUpdateRound;
        uint64 lastRoundLengthUpdateStartBlock;
        uint64 lastInitializedRound;
    }

    RoundState private state;
    uint256 public roundLockAmount;
    mapping(uint256 round => bytes32) private blockHashes;

    event NewRound(uint256 indexed round, bytes32 blockHash);

    constructor(address controllerAddress, uint256 roundLength_, uint256 roundLockAmount_) Manager(controllerAddress) {
        require(roundLength_ > 0, "round length cannot be 0");
        require(roundLength_ <= MAX_ROUND_LENGTH, "round length is over MAX_ROUND_LENGTH");
        require(roundLockAmount_ <= PPM, "round lock amount must be a valid percentage");
        uint64 startRound = uint64(block.number / roundLength_);
        // The deployment round counts as initialized (nothing to snapshot or mint yet), so a fresh chain
        // takes tickets and stake at once instead of waiting a whole round.
        state = RoundState({
            roundLength: uint64(roundLength_),
            lastRoundLengthUpdateRound: startRound,
            lastRoundLengthUpdateStartBlock: uint64(startRound * roundLength_),
            lastInitializedRound: startRound
        });
        roundLockAmount = roundLockAmount_;
        bytes32 hash = blockhash(block.number - 1);
        blockHashes[startRound] = hash;
        emit NewRound(startRound, hash);
    }

    /// @notice Set the round length (blocks); takes effect from the current round's start.
    function setRoundLength(uint256 roundLength_) external onlyControllerOwner {
        require(roundLength_ > 0, "round length cannot be 0");
        require(roundLength_ <= MAX_ROUND_LENGTH, "round length is over MAX_ROUND_LENGTH");
        RoundState memory s = state;
        require(s.lastInitializedRound == _currentRound(s), "current round is not initialized");
        (uint256 round, uint256 startBlock) = (_currentRound(s), _currentRoundStartBlock(s));
        s.lastRoundLengthUpdateRound = uint64(round);
        s.lastRoundLengthUpdateStartBlock = uint64(startBlock);
        s.roundLength = uint64(roundLength_);
        state = s;
        emit ParameterUpdate("roundLength");
    }

    /// @notice Set the locked share of each round, in ppm.
    function setRoundLockAmount(uint256 roundLockAmount_) external onlyControllerOwner {
        require(roundLockAmount_ <= PPM, "round lock amount must be a valid percentage");
        roundLockAmount = roundLockAmount_;
        emit ParameterUpdate("roundLockAmount");
    }

    /// @notice Initialize the current round; callable by anyone, once per round.
    function initializeRound() external whenSystemNotPaused {
        RoundState memory s = state;
        uint256 round = _currentRound(s);
        require(s.lastInitializedRound != round, "round already initialized");
        state.lastInitializedRound = uint64(round);
        bytes32 hash = blockhash(block.number - 1);
        blockHashes[round] = hash;
        IBondingManager(_contract(ContractIds.BONDING_MANAGER)).setCurrentRoundTotalActiveStake();
        IMinter(_contract(ContractIds.MINTER)).setCurrentRewardTokens();
        emit NewRound(round, hash);
    }

    function roundLength() external view returns (uint256) {
        return state.roundLength;
    }

    function lastInitializedRound() external view returns (uint256) {
        return state.lastInitializedRound;
    }

    function currentRound() external view returns (uint256) {
        return _currentRound(state);
    }

    function currentRoundStartBlock() external view returns (uint256) {
        return _currentRoundStartBlock(state);
    }

    function currentRoundInitialized() external view returns (bool) {
        RoundState memory s = state;
        return s.lastInitializedRound == _currentRound(s);
    }

    /// @notice Whether the current round is in its locked tail (the last roundLockAmount ppm of blocks).
    function currentRoundLocked() external view returns (bool) {
        RoundState memory s = state;
        uint256 lockedBlocks = (uint256(s.roundLength) * roundLockAmount) / PPM;
        return block.number - _currentRoundStartBlock(s) >= s.roundLength - lockedBlocks;
    }

    /// @notice The hash of the block before `round`'s initialization, or zero if it was never initialized.
    function blockHashForRound(uint256 round) external view returns (bytes32) {
        return blockHashes[round];
    }

    /// @notice The block hash recorded for `round`, the current round and whether it is initialized.
    function roundInfo(uint256 round) external view returns (bytes32 blockHash, uint256 current, bool initialized) {
        RoundState memory s = state;
        current = _currentRound(s);
        return (blockHashes[round], current, s.lastInitializedRound == current);
    }

    function _currentRound(RoundState memory s) private view returns (uint256) {
        return s.lastRoundLengthUpdateRound + (block.number - s.lastRoundLengthUpdateStartBlock) / s.roundLength;
    }

    function _currentRoundStartBlock(RoundState memory s) private view returns (uint256) {
        uint256 roundsSince = (block.number - s.lastRoundLengthUpdateStartBlock) / s.roundLength;
        return s.lastRoundLengthUpdateStartBlock + roundsSince * s.roundLength;
    }
}
