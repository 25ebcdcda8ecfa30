// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Manager} from "./Manager.sol";
import {ILivepeerToken, IMinter, IRoundsManager, ITicketBroker} from "./interfaces/IProtocol.sol";
import {ContractIds} from "./libraries/ContractIds.sol";
import {SortedDoublyLL} from "./libraries/SortedDoublyLL.sol";

/// @title BondingManager
/// @notice Delegated proof of stake. Each orchestrator (transcoder) has a pool: delegators, itself included,
/// hold shares of the pool's stake. Rewards raise the value of a share (compounding with no per-round
/// bookkeeping); fees raise a cumulative fee-per-share factor. Both make a delegator's earnings O(1) to
/// claim however many rounds passed.
/// @dev Rounding, stated once: every division rounds down except the shares burned on unbond and slash,
/// which round up; so a delegator never takes out more than its exact share, and the dust (at most one wei per
/// delegator per event) stays with the pool. A fee's pool part is charged as ceil(increment × shares / 1e27)
/// and the rest is the orchestrator's cut, so a fee split is exact to the wei and never owes more than it holds.
contract BondingManager is Manager {
    using SortedDoublyLL for SortedDoublyLL.Data;

    uint256 public constant PPM = 1_000_000;
    uint256 public constant FEE_FACTOR_PRECISION = 1e27;

    struct Pool {
        uint256 totalStake; // LPT wei bonded to this orchestrator, its own included
        uint256 totalShares;
        uint256 feeFactor; // cumulative delegator fees per share, × FEE_FACTOR_PRECISION
        uint256 feesSwept; // TicketBroker.feeCounter(orchestrator) already split
        uint32 rewardCut; // ppm of each reward the orchestrator keeps before the pool's pro-rata split
        uint32 feeShare; // ppm of each fee that goes to the pool's pro-rata split
        uint64 lastRewardRound;
        uint64 activationRound;
        uint64 deactivationRound;
        uint128 roundStake; // totalStake at the start of stakeRound
        uint64 stakeRound;
    }

    struct Delegator {
        address delegate;
        uint96 nextUnbondingLockId; // packed with delegate: a first unbond writes no new slot for it
        uint256 shares;
        uint256 feeFactorSnapshot;
        uint256 fees; // settled, unwithdrawn ETH wei
    }

    struct UnbondingLock {
        uint128 amount; // one slot per lock
        uint128 withdrawRound;
    }

    mapping(address transcoder => Pool) private pools;
    mapping(address delegator => Delegator) private delegators;
    mapping(address delegator => mapping(uint256 id => UnbondingLock)) private unbondingLocks;
    SortedDoublyLL.Data private transcoderPool;

    uint256 public numActiveTranscoders;
    uint256 public unbondingPeriod;
    uint256 public nextRoundTotalActiveStake;
    uint256 public currentRoundTotalActiveStake;

    event TranscoderUpdate(address indexed transcoder, uint256 rewardCut, uint256 feeShare);
    event TranscoderActivated(address indexed transcoder, uint256 activationRound);
    event TranscoderDeactivated(address indexed transcoder, uint256 deactivationRound);
    event TranscoderSlashed(address indexed transcoder, address finder, uint256 penalty, uint256 finderReward);
    event Reward(address indexed transcoder, uint256 amount);
    event StakeUpdate(address indexed transcoder, uint256 totalStake);
    event FeesSwept(address indexed transcoder, uint256 amount, uint256 transcoderCut);
    event Bond(
        address indexed newDelegate,
        address indexed oldDelegate,
        address indexed delegator,
        uint256 additionalAmount,
        uint256 bondedAmount
    );
    event Unbond(
        address indexed delegate, address indexed delegator, uint256 unbondingLockId, uint256 amount, uint256 withdrawRound
    );
    event Rebond(address indexed delegate, address indexed delegator, uint256 unbondingLockId, uint256 amount);
    event WithdrawStake(address indexed delegator, uint256 unbondingLockId, uint256 amount, uint256 withdrawRound);
    event WithdrawFees(address indexed delegator, address recipient, uint256 amount);

    modifier currentRoundInitialized() {
        require(_roundsManager().currentRoundInitialized(), "current round is not initialized");
        _;
    }

    constructor(address controllerAddress, uint256 unbondingPeriod_, uint256 numActiveTranscoders_)
        Manager(controllerAddress)
    {
        require(numActiveTranscoders_ > 0, "numActiveTranscoders must be greater than 0");
        unbondingPeriod = unbondingPeriod_;
        numActiveTranscoders = numActiveTranscoders_;
    }

    // -------------------------------------------------------------------------------- parameters

    function setUnbondingPeriod(uint256 period) external onlyControllerOwner {
        unbondingPeriod = period;
        emit ParameterUpdate("unbondingPeriod");
    }

    function setNumActiveTranscoders(uint256 n) external onlyControllerOwner {
        require(n > 0 && n >= transcoderPool.size, "numActiveTranscoders must be at least the pool size");
        numActiveTranscoders = n;
        emit ParameterUpdate("numActiveTranscoders");
    }

    // -------------------------------------------------------------------------------- staking

    /// @notice Bond `amount` more LPT to `to` (moving any existing stake there); bonding to yourself registers you.
    function bond(uint256 amount, address to) external {
        bondWithHint(amount, to, address(0), address(0), address(0), address(0));
    }

    /// @notice `bond` with list hints: the old delegate's and the new delegate's neighbours after the change.
    function bondWithHint(uint256 amount, address to, address oldPrev, address oldNext, address newPrev, address newNext)
        public
        whenSystemNotPaused
        currentRoundInitialized
    {
        require(to != address(0), "delegate is null address");
        _requireCanDelegateTo(to);
        uint256 round = _currentRound();
        Delegator storage del = delegators[msg.sender];
        address current = del.delegate;
        uint256 moved;
        if (current != address(0) && current != to) {
            moved = _stakeOf(msg.sender, current);
            if (moved > 0) _removeStake(msg.sender, current, moved, oldPrev, oldNext, round);
        }
        require(amount + moved > 0, "bond amount must be greater than 0");
        del.delegate = to;
        _addStake(msg.sender, to, amount + moved, newPrev, newNext, round);
        if (amount > 0) {
            require(_token().transferFrom(msg.sender, _contract(ContractIds.MINTER), amount), "token transfer failed");
        }
        emit Bond(to, current, msg.sender, amount, _stakeOf(msg.sender, to));
    }

    /// @notice Move `amount` of stake into a new unbonding lock, withdrawable after the unbonding period.
    function unbond(uint256 amount) external {
        unbondWithHint(amount, address(0), address(0));
    }

    function unbondWithHint(uint256 amount, address newPrev, address newNext)
        public
        whenSystemNotPaused
        currentRoundInitialized
    {
        Delegator storage del = delegators[msg.sender];
        address delegate = del.delegate;
        require(delegate != address(0), "caller must be bonded");
        require(amount > 0, "unbond amount must be greater than 0");
        require(amount <= _stakeOf(msg.sender, delegate), "amount is greater than bonded amount");
        uint256 round = _currentRound();
        _removeStake(msg.sender, delegate, amount, newPrev, newNext, round);
        if (del.shares == 0) del.delegate = address(0);
        uint256 id = del.nextUnbondingLockId++;
        uint256 withdrawRound = round + unbondingPeriod;
        unbondingLocks[msg.sender][id] = UnbondingLock(uint128(amount), uint128(withdrawRound));
        emit Unbond(delegate, msg.sender, id, amount, withdrawRound);
    }

    /// @notice Put an unbonding lock's stake back with the caller's current delegate.
    function rebond(uint256 unbondingLockId) external {
        rebondWithHint(unbondingLockId, address(0), address(0));
    }

    function rebondWithHint(uint256 unbondingLockId, address newPrev, address newNext)
        public
        whenSystemNotPaused
        currentRoundInitialized
    {
        address delegate = delegators[msg.sender].delegate;
        require(delegate != address(0), "caller must be bonded");
        _rebond(delegate, unbondingLockId, newPrev, newNext);
    }

    /// @notice Rebond an unbonding lock's stake to `to` when the caller is fully unbonded.
    function rebondFromUnbonded(address to, uint256 unbondingLockId) external {
        rebondFromUnbondedWithHint(to, unbondingLockId, address(0), address(0));
    }

    function rebondFromUnbondedWithHint(address to, uint256 unbondingLockId, address newPrev, address newNext)
        public
        whenSystemNotPaused
        currentRoundInitialized
    {
        require(delegators[msg.sender].delegate == address(0), "caller must be unbonded");
        require(to != address(0), "delegate is null address");
        _requireCanDelegateTo(to);
        delegators[msg.sender].delegate = to;
        _rebond(to, unbondingLockId, newPrev, newNext);
    }

    /// @notice Withdraw an unbonding lock's LPT once its withdraw round has come.
    function withdrawStake(uint256 unbondingLockId) external whenSystemNotPaused currentRoundInitialized {
        UnbondingLock memory lock = unbondingLocks[msg.sender][unbondingLockId];
        require(lock.amount > 0, "invalid unbonding lock ID");
        require(lock.withdrawRound <= _currentRound(), "withdraw round must be before or equal to the current round");
        delete unbondingLocks[msg.sender][unbondingLockId];
        _minter().trustedTransferTokens(msg.sender, lock.amount);
        emit WithdrawStake(msg.sender, unbondingLockId, lock.amount, lock.withdrawRound);
    }

    /// @notice Withdraw `amount` of the caller's ETH fees (its delegator share and, for an orchestrator, its cut).
    function withdrawFees(address payable recipient, uint256 amount) external whenSystemNotPaused {
        _sweep(msg.sender);
        Delegator storage del = delegators[msg.sender];
        if (del.delegate != address(0)) {
            if (del.delegate != msg.sender) _sweep(del.delegate);
            _settle(msg.sender, del.delegate);
        }
        require(amount > 0 && amount <= del.fees, "insufficient fees to withdraw");
        del.fees -= amount;
        _minter().trustedWithdrawETH(recipient, amount);
        emit WithdrawFees(msg.sender, recipient, amount);
    }

    // -------------------------------------------------------------------------------- orchestrators

    /// @notice Set the caller's terms, in ppm: the reward share it keeps and the fee share it gives its pool.
    function transcoder(uint256 rewardCut, uint256 feeShare) external {
        transcoderWithHint(rewardCut, feeShare, address(0), address(0));
    }

    function transcoderWithHint(uint256 rewardCut, uint256 feeShare, address newPrev, address newNext)
        public
        whenSystemNotPaused
        currentRoundInitialized
    {
        require(!_roundsManager().currentRoundLocked(), "can't update transcoder params, current round is locked");
        require(rewardCut <= PPM, "invalid rewardCut percentage");
        require(feeShare <= PPM, "invalid feeShare percentage");
        require(isRegisteredTranscoder(msg.sender), "transcoder must be registered");
        _sweep(msg.sender); // fees so far split on the old terms
        Pool storage p = pools[msg.sender];
        p.rewardCut = uint32(rewardCut);
        p.feeShare = uint32(feeShare);
        if (!transcoderPool.contains(msg.sender)) _tryJoinPool(msg.sender, newPrev, newNext, _currentRound());
        emit TranscoderUpdate(msg.sender, rewardCut, feeShare);
    }

    /// @notice Mint the caller's reward for the current round and add it to its pool.
    function reward() external {
        rewardWithHint(address(0), address(0));
    }

    function rewardWithHint(address newPrev, address newNext) public whenSystemNotPaused currentRoundInitialized {
        uint256 round = _currentRound();
        require(isActiveTranscoder(msg.sender) && isRegisteredTranscoder(msg.sender), "caller must be an active transcoder");
        Pool storage p = pools[msg.sender];
        require(p.lastRewardRound != round, "caller has already called reward for the current round");
        p.lastRewardRound = uint64(round);
        uint256 activeStake = p.stakeRound < round ? p.totalStake : p.roundStake;
        uint256 minted = _minter().createReward(activeStake, currentRoundTotalActiveStake);
        if (minted > 0) _distributeReward(msg.sender, minted, newPrev, newNext, round);
        emit Reward(msg.sender, minted);
    }

    /// @notice Slash `slashAmount` ppm of the orchestrator's own stake: pay `finderFee` ppm of it to the
    /// finder, burn the rest, and evict it from the active set, effective at once. Only the Verifier.
    /// @dev Only in an initialized round, like every other stake change, so that the round's total active
    /// stake snapshot and each orchestrator's start-of-round stake agree.
    function slashTranscoder(address transcoderAddress, address finder, uint256 slashAmount, uint256 finderFee)
        external
        whenSystemNotPaused
        currentRoundInitialized
    {
        require(msg.sender == _contract(ContractIds.VERIFIER), "caller must be Verifier");
        require(slashAmount <= PPM, "invalid slashAmount percentage");
        require(finderFee <= PPM, "invalid finderFee percentage");
        uint256 round = _currentRound();
        Delegator storage del = delegators[transcoderAddress];
        Pool storage p = pools[transcoderAddress];
        uint256 penalty;
        uint256 finderReward;
        if (del.delegate == transcoderAddress && del.shares > 0) {
            _sweep(transcoderAddress);
            _settle(transcoderAddress, transcoderAddress);
            uint256 stake = _stakeOf(transcoderAddress, transcoderAddress);
            penalty = (stake * slashAmount) / PPM;
            uint256 burnShares = penalty == stake ? del.shares : _ceilDiv(penalty * p.totalShares, p.totalStake);
            del.shares -= burnShares;
            p.totalShares -= burnShares;
            _snapshotStake(p, round);
            p.totalStake -= penalty;
            // Out of the active set at once: no reward or reserve claim for the rest of this round either.
            if (transcoderPool.contains(transcoderAddress)) _leavePool(transcoderAddress, round);
            if (p.deactivationRound > round) {
                p.deactivationRound = uint64(round);
                emit TranscoderDeactivated(transcoderAddress, round);
            }
            if (del.shares == 0) del.delegate = address(0);
            emit StakeUpdate(transcoderAddress, p.totalStake);
            if (finder != address(0)) finderReward = (penalty * finderFee) / PPM;
            if (finderReward > 0) _minter().trustedTransferTokens(finder, finderReward);
            if (penalty > finderReward) _minter().trustedBurnTokens(penalty - finderReward);
        }
        emit TranscoderSlashed(transcoderAddress, finder, penalty, finderReward);
    }

    /// @notice Snapshot the next round's total active stake; RoundsManager calls it when a round starts.
    function setCurrentRoundTotalActiveStake() external {
        require(msg.sender == _contract(ContractIds.ROUNDS_MANAGER), "caller must be RoundsManager");
        currentRoundTotalActiveStake = nextRoundTotalActiveStake;
    }

    // -------------------------------------------------------------------------------- views

    /// @notice The stake bonded to orchestrators active this round (the Minter's bonding rate numerator).
    function getTotalBonded() external view returns (uint256) {
        return currentRoundTotalActiveStake;
    }

    function isRegisteredTranscoder(address t) public view returns (bool) {
        Delegator storage del = delegators[t];
        return del.delegate == t && del.shares > 0;
    }

    function isActiveTranscoder(address t) public view returns (bool) {
        Pool storage p = pools[t];
        uint256 round = _currentRound();
        return p.activationRound <= round && round < p.deactivationRound;
    }

    function getTranscoderPoolSize() external view returns (uint256) {
        return transcoderPool.size;
    }

    function getFirstTranscoderInPool() external view returns (address) {
        return transcoderPool.head;
    }

    function getNextTranscoderInPool(address t) external view returns (address) {
        return transcoderPool.getNext(t);
    }

    function isInTranscoderPool(address t) external view returns (bool) {
        return transcoderPool.contains(t);
    }

    function transcoderTotalStake(address t) external view returns (uint256) {
        return pools[t].totalStake;
    }

    function getTranscoder(address t)
        external
        view
        returns (
            uint256 totalStake,
            uint256 totalShares,
            uint256 rewardCut,
            uint256 feeShare,
            uint256 lastRewardRound,
            uint256 activationRound,
            uint256 deactivationRound,
            uint256 feeFactor
        )
    {
        Pool storage p = pools[t];
        return (
            p.totalStake,
            p.totalShares,
            p.rewardCut,
            p.feeShare,
            p.lastRewardRound,
            p.activationRound,
            p.deactivationRound,
            p.feeFactor
        );
    }

    /// @notice delegate, bonded stake now (rewards included), shares, fees now (unswept ones included), next lock id.
    function getDelegator(address d)
        external
        view
        returns (address delegate, uint256 bondedAmount, uint256 shares, uint256 fees, uint256 nextUnbondingLockId)
    {
        Delegator storage del = delegators[d];
        return (del.delegate, pendingStake(d), del.shares, pendingFees(d), del.nextUnbondingLockId);
    }

    /// @notice The delegator's stake now: its shares' value in its delegate's pool.
    function pendingStake(address d) public view returns (uint256) {
        address delegate = delegators[d].delegate;
        return delegate == address(0) ? 0 : _stakeOf(d, delegate);
    }

    /// @notice The delegator's withdrawable fees now, as if every pending sweep and settlement happened.
    function pendingFees(address d) public view returns (uint256) {
        Delegator storage del = delegators[d];
        (uint256 ownFactor, uint256 ownCut) = _previewSweep(d);
        uint256 fees = del.fees + ownCut;
        if (del.delegate != address(0) && del.shares > 0) {
            uint256 factor = ownFactor;
            if (del.delegate != d) (factor,) = _previewSweep(del.delegate);
            fees += (del.shares * (factor - del.feeFactorSnapshot)) / FEE_FACTOR_PRECISION;
        }
        return fees;
    }

    function getUnbondingLock(address d, uint256 id) external view returns (uint256 amount, uint256 withdrawRound) {
        UnbondingLock storage lock = unbondingLocks[d][id];
        return (lock.amount, lock.withdrawRound);
    }

    // -------------------------------------------------------------------------------- internals

    function _requireCanDelegateTo(address to) private view {
        if (to != msg.sender) {
            require(isRegisteredTranscoder(to), "delegate must be a registered transcoder");
            require(!isRegisteredTranscoder(msg.sender), "registered transcoders can't delegate towards other addresses");
        }
    }

    function _rebond(address delegate, uint256 unbondingLockId, address newPrev, address newNext) private {
        UnbondingLock memory lock = unbondingLocks[msg.sender][unbondingLockId];
        require(lock.amount > 0, "invalid unbonding lock ID");
        delete unbondingLocks[msg.sender][unbondingLockId];
        _addStake(msg.sender, delegate, lock.amount, newPrev, newNext, _currentRound());
        emit Rebond(delegate, msg.sender, unbondingLockId, lock.amount);
    }

    function _stakeOf(address d, address t) private view returns (uint256) {
        Pool storage p = pools[t];
        uint256 totalShares = p.totalShares;
        return totalShares == 0 ? 0 : (delegators[d].shares * p.totalStake) / totalShares;
    }

    /// @dev Shares of `d` in `t`'s pool for `amount` more stake, at the pool's current share price.
    function _addStake(address d, address t, uint256 amount, address newPrev, address newNext, uint256 round) private {
        _sweep(t);
        _settle(d, t);
        Pool storage p = pools[t];
        if (d == t && p.feesSwept == 0 && ITicketBroker(_contract(ContractIds.TICKET_BROKER)).primeFeeCounter(t)) {
            // Just swept, so the counter was 0: count from 1 from now on (see TicketBroker.feeCounter).
            p.feesSwept = 1;
        }
        uint256 newShares = p.totalShares == 0 ? amount : (amount * p.totalShares) / p.totalStake;
        require(newShares > 0, "bond amount too small");
        p.totalShares += newShares;
        delegators[d].shares += newShares;
        _snapshotStake(p, round);
        p.totalStake += amount;
        if (transcoderPool.contains(t)) {
            nextRoundTotalActiveStake += amount;
            transcoderPool.updateKey(t, p.totalStake, newPrev, newNext);
        } else if (isRegisteredTranscoder(t)) {
            _tryJoinPool(t, newPrev, newNext, round);
        }
        emit StakeUpdate(t, p.totalStake);
    }

    /// @dev Burns ceil(amount × shares / stake) of `d`'s shares (all of them when it takes its whole stake).
    function _removeStake(address d, address t, uint256 amount, address newPrev, address newNext, uint256 round) private {
        _sweep(t);
        _settle(d, t);
        Pool storage p = pools[t];
        Delegator storage del = delegators[d];
        uint256 burnShares = amount == _stakeOf(d, t) ? del.shares : _ceilDiv(amount * p.totalShares, p.totalStake);
        del.shares -= burnShares;
        p.totalShares -= burnShares;
        _snapshotStake(p, round);
        p.totalStake -= amount;
        if (transcoderPool.contains(t)) {
            if (d == t && del.shares == 0) {
                _leavePool(t, round); // the orchestrator took its whole self-bond: it resigns
            } else {
                nextRoundTotalActiveStake -= amount;
                transcoderPool.updateKey(t, p.totalStake, newPrev, newNext);
            }
        }
        emit StakeUpdate(t, p.totalStake);
    }

    function _distributeReward(address t, uint256 minted, address newPrev, address newNext, uint256 round) private {
        _sweep(t);
        _settle(t, t);
        Pool storage p = pools[t];
        uint256 cut = (minted * p.rewardCut) / PPM;
        _snapshotStake(p, round);
        p.totalStake += minted - cut; // the pool's part raises every share's value
        uint256 cutShares = (cut * p.totalShares) / p.totalStake; // the cut bought at the new price
        p.totalShares += cutShares;
        delegators[t].shares += cutShares;
        p.totalStake += cut;
        if (transcoderPool.contains(t)) {
            nextRoundTotalActiveStake += minted;
            transcoderPool.updateKey(t, p.totalStake, newPrev, newNext);
        }
        emit StakeUpdate(t, p.totalStake);
    }

    function _tryJoinPool(address t, address newPrev, address newNext, uint256 round) private {
        uint256 stake = pools[t].totalStake;
        if (stake == 0) return;
        if (transcoderPool.size >= numActiveTranscoders) {
            address last = transcoderPool.tail;
            if (stake <= transcoderPool.getKey(last)) return;
            _leavePool(last, round);
        }
        transcoderPool.insert(t, stake, newPrev, newNext);
        nextRoundTotalActiveStake += stake;
        Pool storage p = pools[t];
        p.activationRound = uint64(round + 1);
        p.deactivationRound = type(uint64).max;
        emit TranscoderActivated(t, round + 1);
    }

    function _leavePool(address t, uint256 round) private {
        nextRoundTotalActiveStake -= transcoderPool.getKey(t);
        transcoderPool.remove(t);
        pools[t].deactivationRound = uint64(round + 1);
        emit TranscoderDeactivated(t, round + 1);
    }

    function _snapshotStake(Pool storage p, uint256 round) private {
        if (p.stakeRound < round) {
            p.roundStake = uint128(p.totalStake);
            p.stakeRound = uint64(round);
        }
    }

    /// @dev Split the fees the TicketBroker credited to `t` since the last sweep: feeShare to the pool's
    /// per-share factor, the rest (with the factor's rounding remainder) to `t`'s own fees.
    function _sweep(address t) private {
        Pool storage p = pools[t];
        uint256 credited = ITicketBroker(_contract(ContractIds.TICKET_BROKER)).feeCounter(t);
        uint256 amount = credited - p.feesSwept;
        if (amount == 0) return;
        p.feesSwept = credited;
        (uint256 increment, uint256 cut) = _splitFees(p, amount);
        p.feeFactor += increment;
        delegators[t].fees += cut;
        emit FeesSwept(t, amount, cut);
    }

    function _previewSweep(address t) private view returns (uint256 factor, uint256 cut) {
        Pool storage p = pools[t];
        uint256 amount = ITicketBroker(_contract(ContractIds.TICKET_BROKER)).feeCounter(t) - p.feesSwept;
        (uint256 increment, uint256 c) = _splitFees(p, amount);
        return (p.feeFactor + increment, c);
    }

    function _splitFees(Pool storage p, uint256 amount) private view returns (uint256 increment, uint256 cut) {
        uint256 totalShares = p.totalShares;
        if (totalShares == 0) return (0, amount);
        uint256 poolFees = (amount * p.feeShare) / PPM;
        increment = (poolFees * FEE_FACTOR_PRECISION) / totalShares;
        // Round the pool's part up: delegators settle over summed increments, and each one's floor of the
        // sum can exceed the sum of per-sweep floors; charging ceil here keeps every claim covered.
        cut = amount - _ceilDiv(increment * totalShares, FEE_FACTOR_PRECISION);
    }

    /// @dev Move `d`'s fees earned in `t`'s pool since its last snapshot into its settled fees.
    function _settle(address d, address t) private {
        Delegator storage del = delegators[d];
        uint256 factor = pools[t].feeFactor;
        if (del.shares > 0) del.fees += (del.shares * (factor - del.feeFactorSnapshot)) / FEE_FACTOR_PRECISION;
        del.feeFactorSnapshot = factor;
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    function _currentRound() private view returns (uint256) {
        return _roundsManager().currentRound();
    }

    function _roundsManager() private view returns (IRoundsManager) {
        return IRoundsManager(_contract(ContractIds.ROUNDS_MANAGER));
    }

    function _minter() private view returns (IMinter) {
        return IMinter(_contract(ContractIds.MINTER));
    }

    function _token() private view returns (ILivepeerToken) {
        return ILivepeerToken(_contract(ContractIds.TOKEN));
    }
}
