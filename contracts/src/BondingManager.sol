// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Manager} from "./Manager.sol";
import {ILivepeerToken, IMinter, IRoundsManager, ITicketBroker} from "./interfaces/IProtocol.sol";
import {ContractIds} from "./libraries/ContractIds.sol";
import {Conversion, Delegator, Pool, PoolAccounting} from "./libraries/PoolAccounting.sol";
import {SortedDoublyLL} from "./libraries/SortedDoublyLL.sol";

/// @title BondingManager
/// @notice Delegated proof of stake. Each orchestrator (transcoder) has a pool: delegators, itself included,
/// hold shares of the pool's stake. Rewards raise the value of a share (compounding with no per-round
/// bookkeeping); fees raise a cumulative fee-per-share factor. Both make a delegator's earnings O(1) to
/// claim however many rounds passed.
/// @dev A round's rewards and fees go to the stake that was bonded when the round began, on the terms set
/// before it began. Stake bonded (or moved, or rebonded) during round r is *pending*: it counts toward the
/// active set and next round's reward at once, but it holds no shares until r ends; it joins the shares at
/// the price of the end of r, the first time anything touches the pool in a later round. Terms set during r
/// apply from r + 1. The TicketBroker keeps the pool's fee credit as it stood at the end of r, so fees
/// credited in r go to r's holders and terms, and later fees to the new ones.
/// Rounding, stated once: every division rounds down except the shares burned on unbond and slash, which
/// round up; so a delegator never takes out more than its exact share, and the dust (at most one wei per
/// delegator per event) stays with the pool. A fee's pool part is charged as ceil(increment × shares / 1e27)
/// and the rest is the orchestrator's cut, so a fee split never owes more than it holds.
contract BondingManager is Manager {
    using SortedDoublyLL for SortedDoublyLL.Data;
    using SafeCast for uint256;

    uint256 public constant PPM = 1_000_000;
    uint256 public constant FEE_FACTOR_PRECISION = 1e27;
    /// @notice Hard upper bounds on what the Controller's owner may set.
    uint256 public constant MAX_UNBONDING_PERIOD = 100; // rounds
    uint256 public constant MAX_ACTIVE_TRANSCODERS = 1000;
    uint256 public constant MAX_SLASH_AMOUNT = 250_000; // ppm of the orchestrator's own stake
    uint256 public constant MAX_FINDER_FEE = 500_000; // ppm of the penalty

    struct UnbondingLock {
        uint128 amount; // one slot per lock
        uint128 withdrawRound;
    }

    mapping(address transcoder => Pool) private pools;
    mapping(address delegator => Delegator) private delegators;
    mapping(address delegator => mapping(uint256 id => UnbondingLock)) private unbondingLocks;
    mapping(address transcoder => mapping(uint256 round => Conversion)) private conversions;
    SortedDoublyLL.Data private transcoderPool;

    uint256 public numActiveTranscoders;
    uint256 public unbondingPeriod;
    uint256 public slashAmount;
    uint256 public finderFee;
    uint256 public nextRoundTotalActiveStake;
    uint256 public currentRoundTotalActiveStake;
    /// @notice How many orchestrators were active when the current round began (the reserve's divisor).
    uint256 public currentRoundActiveSetSize;

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

    constructor(
        address controllerAddress,
        uint256 unbondingPeriod_,
        uint256 numActiveTranscoders_,
        uint256 slashAmount_,
        uint256 finderFee_
    ) Manager(controllerAddress) {
        _requireValidUnbondingPeriod(unbondingPeriod_);
        require(numActiveTranscoders_ > 0, "numActiveTranscoders must be greater than 0");
        require(numActiveTranscoders_ <= MAX_ACTIVE_TRANSCODERS, "numActiveTranscoders is over MAX_ACTIVE_TRANSCODERS");
        _requireValidSlashing(slashAmount_, finderFee_);
        unbondingPeriod = unbondingPeriod_;
        numActiveTranscoders = numActiveTranscoders_;
        slashAmount = slashAmount_;
        finderFee = finderFee_;
    }

    // -------------------------------------------------------------------------------- parameters

    function setUnbondingPeriod(uint256 period) external onlyControllerOwner {
        _requireValidUnbondingPeriod(period);
        unbondingPeriod = period;
        emit ParameterUpdate("unbondingPeriod");
    }

    function setNumActiveTranscoders(uint256 n) external onlyControllerOwner {
        require(n > 0 && n >= transcoderPool.size, "numActiveTranscoders must be at least the pool size");
        require(n <= MAX_ACTIVE_TRANSCODERS, "numActiveTranscoders is over MAX_ACTIVE_TRANSCODERS");
        numActiveTranscoders = n;
        emit ParameterUpdate("numActiveTranscoders");
    }

    /// @notice Set the slash (ppm of the orchestrator's own stake) and the finder's fee (ppm of the penalty).
    function setSlashing(uint256 slashAmount_, uint256 finderFee_) external onlyControllerOwner {
        _requireValidSlashing(slashAmount_, finderFee_);
        slashAmount = slashAmount_;
        finderFee = finderFee_;
        emit ParameterUpdate("slashing");
    }

    // -------------------------------------------------------------------------------- staking

    /// @notice Bond `amount` more LPT to `to` (moving any existing stake there); bonding to yourself registers
    /// you. New and moved stake earns from the next round.
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
            moved = _removeStake(msg.sender, current, type(uint256).max, oldPrev, oldNext, round);
        }
        require(amount + moved > 0, "bond amount must be greater than 0");
        del.delegate = to;
        uint256 bonded = _addStake(msg.sender, to, amount + moved, newPrev, newNext, round);
        if (amount > 0) {
            require(_token().transferFrom(msg.sender, _contract(ContractIds.MINTER), amount), "token transfer failed");
        }
        emit Bond(to, current, msg.sender, amount, bonded);
    }

    /// @notice Move `amount` of stake into a new unbonding lock, withdrawable after the unbonding period.
    /// Stake bonded this round (which earns nothing yet) is unbonded first.
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
        uint256 round = _currentRound();
        _removeStake(msg.sender, delegate, amount, newPrev, newNext, round);
        if (!_hasStake(del)) del.delegate = address(0);
        uint256 id = del.nextUnbondingLockId++;
        uint256 withdrawRound = round + unbondingPeriod;
        unbondingLocks[msg.sender][id] = UnbondingLock(amount.toUint128(), uint128(withdrawRound));
        emit Unbond(delegate, msg.sender, id, amount, withdrawRound);
    }

    /// @notice Put an unbonding lock's stake back with the caller's current delegate (earning from next round).
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
        uint256 round = _currentRound();
        if (pools[msg.sender].broker != address(0)) _catchUp(msg.sender, round); // its own cut
        Delegator storage del = delegators[msg.sender];
        address delegate = del.delegate;
        if (delegate != address(0)) {
            if (delegate != msg.sender) _catchUp(delegate, round);
            _settle(msg.sender, delegate, round);
        }
        require(amount > 0 && amount <= del.fees, "insufficient fees to withdraw");
        del.fees -= uint128(amount);
        _minter().trustedWithdrawETH(recipient, amount);
        emit WithdrawFees(msg.sender, recipient, amount);
    }

    // -------------------------------------------------------------------------------- orchestrators

    /// @notice Set the caller's terms, in ppm: the reward share it keeps and the fee share it gives its pool.
    /// They apply from the next round, so a round's rewards and fees are shared on terms its delegators could
    /// see before it began. As in Livepeer, an active orchestrator may change them only after this round's
    /// `reward()`, and no one in the round's locked tail.
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
        uint256 round = _currentRound();
        require(
            !isActiveTranscoder(msg.sender) || pools[msg.sender].lastRewardRound == round,
            "caller can't be active or must have already called reward for the current round"
        );
        (Pool storage p, ITicketBroker broker) = _catchUp(msg.sender, round);
        bool wasChanging = PoolAccounting.changesAtRoundEnd(p);
        p.nextRewardCut = uint32(rewardCut);
        p.nextFeeShare = uint32(feeShare);
        if (!wasChanging && PoolAccounting.changesAtRoundEnd(p)) broker.watch(msg.sender, round);
        if (!transcoderPool.contains(msg.sender)) _tryJoinPool(msg.sender, newPrev, newNext, round);
        emit TranscoderUpdate(msg.sender, rewardCut, feeShare);
    }

    /// @notice Mint the caller's reward for the current round and add it to its pool's stake.
    function reward() external {
        rewardWithHint(address(0), address(0));
    }

    function rewardWithHint(address newPrev, address newNext) public whenSystemNotPaused currentRoundInitialized {
        uint256 round = _currentRound();
        require(isActiveTranscoder(msg.sender) && isRegisteredTranscoder(msg.sender), "caller must be an active transcoder");
        (Pool storage p,) = _catchUp(msg.sender, round);
        require(p.lastRewardRound != round, "caller has already called reward for the current round");
        p.lastRewardRound = uint48(round);
        // Minted for the stake that was bonded when the round began and is still here (seasoned): stake that
        // left forfeits its part, which is not minted. (Minting it for those who stay would let an orchestrator
        // unbond down to one share before its reward and inflate that share's price, so that the stake pending
        // in its pool converts to almost nothing.) So a reward raises the share price by at most
        // mintable / total active stake, and pending stake, which holds no shares, gets none of it.
        uint256 minted = _minter().createReward(p.stake, currentRoundTotalActiveStake);
        if (minted > 0) {
            _settle(msg.sender, msg.sender, round); // before its shares grow
            uint256 cut = (minted * p.rewardCut) / PPM;
            uint256 stake = p.stake + minted - cut; // the pool's part raises every seasoned share's value
            uint256 cutShares = p.shares == 0 ? cut : (cut * p.shares) / stake; // the cut bought at the new price
            p.shares += cutShares.toUint128();
            delegators[msg.sender].shares += cutShares.toUint128();
            p.stake = (stake + cut).toUint128();
            uint256 total = p.stake + p.pendingStake;
            if (transcoderPool.contains(msg.sender)) {
                nextRoundTotalActiveStake += minted;
                transcoderPool.updateKey(msg.sender, total, newPrev, newNext);
            }
            emit StakeUpdate(msg.sender, total);
        }
        emit Reward(msg.sender, minted);
    }

    /// @notice Slash `slashAmount` ppm of the orchestrator's own stake: pay `finderFee` ppm of it to the
    /// finder, burn the rest, and evict it from the active set, effective at once. Only the Verifier, which is
    /// unset (slashing off) until a verification contract is registered.
    /// @dev Only in an initialized round, like every other stake change, so that the round's total active
    /// stake snapshot and each orchestrator's start-of-round stake agree.
    function slashTranscoder(address transcoderAddress, address finder)
        external
        whenSystemNotPaused
        currentRoundInitialized
    {
        address verifier = _contract(ContractIds.VERIFIER);
        require(verifier != address(0) && msg.sender == verifier, "caller must be Verifier");
        uint256 round = _currentRound();
        uint256 penalty;
        uint256 finderReward;
        if (isRegisteredTranscoder(transcoderAddress)) {
            (Pool storage p, ITicketBroker broker) = _catchUp(transcoderAddress, round);
            _settle(transcoderAddress, transcoderAddress, round);
            Delegator storage del = delegators[transcoderAddress];
            penalty = (_stakeIn(del, p) * slashAmount) / PPM;
            _take(del, p, penalty);
            // Out of the active set at once: no reward or reserve claim for the rest of this round either.
            if (transcoderPool.contains(transcoderAddress)) _leavePool(transcoderAddress, round);
            else broker.forget(transcoderAddress); // its cached payability is re-asked after the slash
            if (p.deactivationRound > round) {
                p.deactivationRound = uint48(round);
                p.lastLeftRound = uint48(round);
                emit TranscoderDeactivated(transcoderAddress, round);
            }
            if (!_hasStake(del)) del.delegate = address(0);
            emit StakeUpdate(transcoderAddress, p.stake + p.pendingStake);
            if (finder != address(0)) finderReward = (penalty * finderFee) / PPM;
            if (finderReward > 0) _minter().trustedTransferTokens(finder, finderReward);
            if (penalty > finderReward) _minter().trustedBurnTokens(penalty - finderReward);
        }
        emit TranscoderSlashed(transcoderAddress, finder, penalty, finderReward);
    }

    /// @notice Snapshot the round's total active stake and active-set size; RoundsManager calls it when a
    /// round starts.
    function setCurrentRoundTotalActiveStake() external {
        require(msg.sender == _contract(ContractIds.ROUNDS_MANAGER), "caller must be RoundsManager");
        currentRoundTotalActiveStake = nextRoundTotalActiveStake;
        currentRoundActiveSetSize = transcoderPool.size;
    }

    // -------------------------------------------------------------------------------- views

    /// @notice The stake bonded to orchestrators active this round (the Minter's bonding rate numerator).
    function getTotalBonded() external view returns (uint256) {
        return currentRoundTotalActiveStake;
    }

    function isRegisteredTranscoder(address t) public view returns (bool) {
        Delegator storage del = delegators[t];
        return del.delegate == t && _hasStake(del);
    }

    function isActiveTranscoder(address t) public view returns (bool) {
        Pool storage p = pools[t];
        uint256 round = _currentRound();
        return p.activationRound <= round && round < p.deactivationRound;
    }

    /// @notice Whether a ticket may pay `t` this round: it is registered, and active now or left the active set
    /// within the last `graceRounds` rounds (its tickets from then are still valid). `payableBase` is what the
    /// TicketBroker caches: `t` stays payable while round < payableBase + the validity period, unless it leaves
    /// the set or resigns first (the BondingManager then calls `forget`). Also the round at whose end its pool
    /// changes (new stake joins or new terms start), if it does, so that the broker keeps the credit as it stood.
    function recipientStatus(address t, uint256 graceRounds)
        external
        view
        returns (bool payable_, uint256 payableBase, bool changing, uint256 changeRound)
    {
        Pool storage p = pools[t];
        uint256 round = _currentRound();
        if (p.activationRound <= round && p.deactivationRound == type(uint48).max) {
            payableBase = type(uint48).max; // active, and staying: until it leaves
        } else {
            payableBase = p.lastLeftRound; // 0 if it never left: then it was never active
        }
        payable_ = payableBase != 0 && round < payableBase + graceRounds && isRegisteredTranscoder(t);
        return (payable_, payableBase, PoolAccounting.changesAtRoundEnd(p), p.round);
    }

    /// @notice Whether `t` is active this round and can be paid (registered: one that resigned this round is
    /// still active until it ends), and how many were active when the round began.
    function activeSetInfo(address t) external view returns (bool active, uint256 activeSetSize) {
        return (isActiveTranscoder(t) && isRegisteredTranscoder(t), currentRoundActiveSetSize);
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

    /// @notice All the stake bonded to `t`, pending included: its key in the active set.
    function transcoderTotalStake(address t) external view returns (uint256) {
        return pools[t].stake + pools[t].pendingStake;
    }

    /// @notice The pool now: total stake, shares, the terms in force this round, reward and activation rounds,
    /// and the fee factor.
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
        (totalStake, totalShares, rewardCut, feeShare, feeFactor) =
            PoolAccounting.poolNow(p, t, _currentRound(), _broker());
        return (
            totalStake, totalShares, rewardCut, feeShare, p.lastRewardRound, p.activationRound, p.deactivationRound, feeFactor
        );
    }

    /// @notice The terms in force this round and the terms last set (in force from the next round if they were
    /// set this round).
    function getTranscoderTerms(address t)
        external
        view
        returns (uint256 rewardCut, uint256 feeShare, uint256 nextRewardCut, uint256 nextFeeShare)
    {
        (,, rewardCut, feeShare,) = PoolAccounting.poolNow(pools[t], t, _currentRound(), _broker());
        return (rewardCut, feeShare, pools[t].nextRewardCut, pools[t].nextFeeShare);
    }

    /// @notice delegate, bonded stake now (rewards and pending stake included), shares, fees now (unswept ones
    /// included), next lock id.
    function getDelegator(address d)
        external
        view
        returns (address delegate, uint256 bondedAmount, uint256 shares, uint256 fees, uint256 nextUnbondingLockId)
    {
        (uint256 earning, uint256 pending, uint256 s, uint256 f) = _delegatorNow(d);
        return (delegators[d].delegate, earning + pending, s, f, delegators[d].nextUnbondingLockId);
    }

    /// @notice The delegator's stake now: what earns this round's reward and fees, and what was bonded this
    /// round and earns from the next.
    function delegatorStake(address d) external view returns (uint256 earning, uint256 pending) {
        (earning, pending,,) = _delegatorNow(d);
    }

    /// @notice The delegator's stake now, pending stake included.
    function pendingStake(address d) public view returns (uint256) {
        (uint256 earning, uint256 pending,,) = _delegatorNow(d);
        return earning + pending;
    }

    /// @notice The delegator's withdrawable fees now, as if every pending sweep and settlement happened.
    function pendingFees(address d) public view returns (uint256) {
        (,,, uint256 fees) = _delegatorNow(d);
        return fees;
    }

    function getUnbondingLock(address d, uint256 id) external view returns (uint256 amount, uint256 withdrawRound) {
        UnbondingLock storage lock = unbondingLocks[d][id];
        return (lock.amount, lock.withdrawRound);
    }

    // -------------------------------------------------------------------------------- internals: pools

    /// @dev Bring `t`'s pool up to `round` and store it (PoolAccounting.catchUp).
    function _catchUp(address t, uint256 round) private returns (Pool storage p, ITicketBroker broker) {
        broker = _broker();
        p = pools[t];
        PoolAccounting.catchUp(p, conversions[t], delegators[t], t, round, broker);
    }

    // -------------------------------------------------------------------------------- internals: delegators

    /// @dev Bring `d`'s position in `t`'s pool (already caught up to `round`) up to date.
    function _settle(address d, address t, uint256 round) private {
        PoolAccounting.settle(delegators[d], pools[t], conversions[t], round);
    }

    /// @dev `d`'s earning stake, pending stake, shares and withdrawable fees as if everything were settled now.
    function _delegatorNow(address d)
        private
        view
        returns (uint256 earning, uint256 pending, uint256 shares, uint256 fees)
    {
        Delegator storage del = delegators[d];
        address t = del.delegate;
        return PoolAccounting.position(del, pools[d], pools[t], conversions[t], d, _currentRound(), _broker());
    }

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

    function _hasStake(Delegator storage del) private view returns (bool) {
        return del.shares > 0 || del.pendingStake > 0;
    }

    /// @dev A settled delegator's stake in its caught-up pool: its shares' value plus its pending stake.
    function _stakeIn(Delegator storage del, Pool storage p) private view returns (uint256) {
        uint256 shares = del.shares;
        return del.pendingStake + (shares == 0 ? 0 : (shares * p.stake) / p.shares);
    }

    /// @dev Add `amount` to `d`'s pending stake in `t`'s pool; returns `d`'s stake there after it.
    function _addStake(address d, address t, uint256 amount, address newPrev, address newNext, uint256 round)
        private
        returns (uint256 bonded)
    {
        (Pool storage p, ITicketBroker broker) = _catchUp(t, round);
        _settle(d, t, round);
        Delegator storage del = delegators[d];
        // At today's price; the price at the round's end is at least that, so this only stops dust bonds.
        require(p.shares == 0 || (amount * p.shares) / p.stake > 0, "bond amount too small");
        bool wasChanging = PoolAccounting.changesAtRoundEnd(p);
        del.pendingStake += amount.toUint128();
        del.pendingRound = uint64(round);
        p.pendingStake += amount.toUint128();
        uint256 total = p.stake + p.pendingStake;
        if (transcoderPool.contains(t)) {
            nextRoundTotalActiveStake += amount;
            transcoderPool.updateKey(t, total, newPrev, newNext);
        } else if (isRegisteredTranscoder(t)) {
            _tryJoinPool(t, newPrev, newNext, round);
        }
        if (!wasChanging) broker.watch(t, round);
        emit StakeUpdate(t, total);
        return _stakeIn(del, p);
    }

    /// @dev Remove `amount` (all of it for type(uint256).max) of `d`'s stake from `t`'s pool; returns the
    /// amount removed. An orchestrator that takes its whole self-bond resigns.
    function _removeStake(address d, address t, uint256 amount, address newPrev, address newNext, uint256 round)
        private
        returns (uint256)
    {
        (Pool storage p, ITicketBroker broker) = _catchUp(t, round);
        _settle(d, t, round);
        Delegator storage del = delegators[d];
        uint256 held = _stakeIn(del, p);
        if (amount == type(uint256).max) amount = held;
        require(amount <= held, "amount is greater than bonded amount");
        _take(del, p, amount);
        uint256 total = p.stake + p.pendingStake;
        bool resigns = d == t && !_hasStake(del);
        if (transcoderPool.contains(t)) {
            if (resigns) {
                _leavePool(t, round); // which drops the broker's cache too
            } else {
                nextRoundTotalActiveStake -= amount;
                transcoderPool.updateKey(t, total, newPrev, newNext);
            }
        } else if (resigns) {
            broker.forget(t); // out of the set already, maybe still in its grace rounds: no more tickets now
        }
        emit StakeUpdate(t, total);
        return amount;
    }

    /// @dev Take `amount` of a settled delegator's stake: pending stake first (it earns nothing yet), then
    /// ceil(amount × shares / stake) shares (all of them when it takes their whole value).
    function _take(Delegator storage del, Pool storage p, uint256 amount) private {
        uint256 fromPending = amount < del.pendingStake ? amount : del.pendingStake;
        if (fromPending > 0) {
            del.pendingStake -= uint128(fromPending);
            p.pendingStake -= uint128(fromPending);
        }
        uint256 rest = amount - fromPending;
        if (rest == 0) return;
        uint256 value = (uint256(del.shares) * p.stake) / p.shares;
        uint256 burn = rest == value ? del.shares : _ceilDiv(rest * p.shares, p.stake);
        del.shares -= burn.toUint128();
        p.shares -= burn.toUint128();
        p.stake -= rest.toUint128();
    }

    function _tryJoinPool(address t, address newPrev, address newNext, uint256 round) private {
        uint256 stake = pools[t].stake + pools[t].pendingStake;
        if (stake == 0) return;
        if (transcoderPool.size >= numActiveTranscoders) {
            address last = transcoderPool.tail;
            if (stake <= transcoderPool.getKey(last)) return;
            _leavePool(last, round);
        }
        transcoderPool.insert(t, stake, newPrev, newNext);
        nextRoundTotalActiveStake += stake;
        Pool storage p = pools[t];
        // One that left the set this round and joins it again stays active through the round (otherwise
        // anyone could evict an orchestrator, free the seat and make it rejoin, costing it this round).
        if (!(p.activationRound <= round && round < p.deactivationRound)) p.activationRound = uint48(round + 1);
        p.deactivationRound = type(uint48).max;
        emit TranscoderActivated(t, p.activationRound);
    }

    function _leavePool(address t, uint256 round) private {
        nextRoundTotalActiveStake -= transcoderPool.getKey(t);
        transcoderPool.remove(t);
        pools[t].deactivationRound = uint48(round + 1);
        pools[t].lastLeftRound = uint48(round + 1); // kept when it rejoins: its tickets from before stay payable
        _broker().forget(t); // it cached "payable for good"; now it is payable only for the grace rounds
        emit TranscoderDeactivated(t, round + 1);
    }

    function _requireValidUnbondingPeriod(uint256 period) private pure {
        require(period <= MAX_UNBONDING_PERIOD, "unbondingPeriod is over MAX_UNBONDING_PERIOD");
    }

    function _requireValidSlashing(uint256 slashAmount_, uint256 finderFee_) private pure {
        require(slashAmount_ <= MAX_SLASH_AMOUNT, "slashAmount is over MAX_SLASH_AMOUNT");
        require(finderFee_ <= MAX_FINDER_FEE, "finderFee is over MAX_FINDER_FEE");
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

    function _broker() private view returns (ITicketBroker) {
        return ITicketBroker(_contract(ContractIds.TICKET_BROKER));
    }

    function _token() private view returns (ILivepeerToken) {
        return ILivepeerToken(_contract(ContractIds.TOKEN));
    }
}
