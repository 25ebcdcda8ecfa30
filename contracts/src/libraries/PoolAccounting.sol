// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ITicketBroker} from "../interfaces/IProtocol.sol";

/// @notice An orchestrator's pool in the BondingManager.
struct Pool {
    uint128 stake; // seasoned LPT wei: earns this round's reward and fees, backs `shares`
    uint128 shares;
    uint128 pendingStake; // bonded during `round`: shares only once the round is over
    uint64 round; // the last round in which the pool was brought up to date
    uint32 rewardCut; // ppm of each reward the orchestrator keeps; terms in force in `round`
    uint32 feeShare; // ppm of each fee that goes to the pool's pro-rata split
    uint32 nextRewardCut; // terms last set: in force from the round after they were set
    uint32 nextFeeShare;
    uint48 lastRewardRound;
    uint48 activationRound;
    uint48 deactivationRound; // type(uint48).max while it stays in the active set
    uint48 lastLeftRound; // the deactivation round of its last departure from the set (0: never left)
    address broker; // the TicketBroker whose credit `feesSwept` counts
    uint96 feesSwept;
    uint256 feeFactor; // cumulative delegator fees per share, × FEE_FACTOR_PRECISION
}

/// @notice A delegator (an orchestrator is its own delegator) in the BondingManager.
struct Delegator {
    address delegate;
    uint32 nextUnbondingLockId; // packed with delegate: a first unbond or bond writes no new slot for these
    uint64 pendingRound;
    uint128 shares;
    uint128 pendingStake; // bonded to `delegate` in `pendingRound`; becomes shares when that round is over
    uint128 fees; // settled, unwithdrawn ETH wei
    uint256 feeFactorSnapshot;
}

/// @notice A pool's seasoned stake, shares and fee factor at the end of a round in which stake joined: each
/// delegator's pending stake of that round becomes shares at this price, and earns fees from this factor on.
struct Conversion {
    uint128 stake;
    uint128 shares;
    uint256 feeFactor;
}

/// @notice A pool brought up to date in memory: `catchUp` stores it, the views only read it.
struct Update {
    uint256 stake;
    uint256 shares;
    uint256 pending;
    uint256 feeFactor;
    uint256 rewardCut;
    uint256 feeShare;
    uint256 ownCut; // the orchestrator's part of the fees split now
    uint256 oldBrokerFees; // fees split now that a replaced TicketBroker still holds
    uint256 credited; // the current TicketBroker's credit, all of it split now
    bool newRound; // the first update in the current round
    bool converted; // the pending stake of the pool's last round became shares at `conversion`
    Conversion conversion;
}

/// @title PoolAccounting
/// @notice How a pool and its delegators move from one round to the next. A round's rewards and fees go to
/// the stake bonded when the round began, on the terms set before it began: stake bonded during round r is
/// pending until r ends, then joins the shares at r's closing price; terms set in r apply from r + 1; fees
/// credited in r are split on r's shares and terms, the TicketBroker keeping the credit as it stood at r's
/// end (`ITicketBroker.watch`). A linked library: the BondingManager calls it, and its code does not count
/// toward the BondingManager's size limit.
/// @dev Rounding: divisions round down; a fee's pool part is charged as ceil(increment × shares / 1e27), so
/// delegators settling over summed increments are always covered; every pool holds UNOWNED_SHARES.
library PoolAccounting {
    using SafeCast for uint256;

    uint256 internal constant PPM = 1_000_000;
    uint256 internal constant FEE_FACTOR_PRECISION = 1e27;
    /// @notice Shares a pool issues to nobody with its first shares, and never burns (worth about 1e-6 LPT).
    /// A pool's share count can then never get small enough for rounding to move its price: were it down to a
    /// share or two, an unbond of 1 wei would burn a whole share and leave its value to the pool, and an
    /// orchestrator could repeat that to raise the price until stake pending in its pool converted to none.
    uint256 internal constant UNOWNED_SHARES = 1e12;

    /// @dev A broker's credit for `t`: all of it, what of it came in up to the end of the watched round (all of
    /// it while no later ticket came in), and how much was swept already.
    struct Credit {
        uint256 credited;
        uint256 atRoundEnd;
        uint256 swept;
    }

    /// @dev Declared in the BondingManager too (its ABI); emitted here in its context.
    event FeesSwept(address indexed transcoder, uint256 amount, uint256 transcoderCut);

    /// @notice Bring the pool `p` of orchestrator `t` up to `round` (see `update`) and store it: the swept fees'
    /// ETH goes from the TicketBroker(s) to the Minter, the conversion price is recorded, the orchestrator's cut
    /// is credited to `own`.
    function catchUp(
        Pool storage p,
        mapping(uint256 round => Conversion) storage conversions,
        Delegator storage own,
        address t,
        uint256 round,
        ITicketBroker broker
    ) public {
        Update memory u = update(p, t, round, broker);
        address held = p.broker;
        uint256 newFees = u.credited - (held == address(broker) ? p.feesSwept : 0);
        if (held != address(broker)) {
            if (u.oldBrokerFees > 0) ITicketBroker(held).releaseFees(u.oldBrokerFees);
            p.broker = address(broker);
        }
        if (u.converted) conversions[p.round] = u.conversion;
        if (u.newRound) p.round = uint64(round);
        p.stake = u.stake.toUint128();
        p.shares = u.shares.toUint128();
        p.pendingStake = u.pending.toUint128();
        p.rewardCut = uint32(u.rewardCut);
        p.feeShare = uint32(u.feeShare);
        p.feeFactor = u.feeFactor;
        p.feesSwept = uint96(u.credited);
        if (newFees > 0) broker.releaseFees(newFees);
        if (u.ownCut > 0) own.fees += u.ownCut.toUint128();
        if (u.oldBrokerFees + newFees > 0) emit FeesSwept(t, u.oldBrokerFees + newFees, u.ownCut);
        // A broker that took over this round knows nothing of the change still due at this round's end.
        if (held != address(broker) && !u.newRound && changesAtRoundEnd(p)) broker.watch(t, round);
    }

    /// @notice The pool `p` of orchestrator `t` brought up to `round`, in memory. In a new round: fees credited
    /// up to the end of the pool's last round are split on that round's shares and terms; that round's pending
    /// stake becomes shares at the price it ended with; the terms set in it take effect. Then the rest of the
    /// credit is split on the current shares and terms. A TicketBroker replaced since the pool's last update
    /// is swept the same way, from its own record of the round boundary, and then let go.
    function update(Pool storage p, address t, uint256 round, ITicketBroker broker)
        internal
        view
        returns (Update memory u)
    {
        u.stake = p.stake;
        u.shares = p.shares;
        u.pending = p.pendingStake;
        u.feeFactor = p.feeFactor;
        u.rewardCut = p.rewardCut;
        u.feeShare = p.feeShare;
        address held = p.broker;
        bool replaced = held != address(broker) && held != address(0);
        Credit memory old;
        if (replaced) old = _credit(ITicketBroker(held), t, p.feesSwept);
        Credit memory cur = _credit(broker, t, held == address(broker) ? p.feesSwept : 0);
        if (p.round < round) {
            u.newRound = true;
            if (changesAtRoundEnd(p)) {
                _split(u, old.atRoundEnd - old.swept);
                _split(u, cur.atRoundEnd - cur.swept);
                old.swept = old.atRoundEnd;
                cur.swept = cur.atRoundEnd;
                if (u.pending > 0) {
                    u.converted = true;
                    u.conversion = Conversion(uint128(u.stake), uint128(u.shares), u.feeFactor);
                    // A pool's first shares come with UNOWNED_SHARES, never burned; so once a pool has shares
                    // its stake is never 0 (no one can take out the unowned shares' part).
                    u.shares += u.shares == 0 ? u.pending + UNOWNED_SHARES : (u.pending * u.shares) / u.stake;
                    u.stake += u.pending;
                    u.pending = 0;
                }
                u.rewardCut = p.nextRewardCut;
                u.feeShare = p.nextFeeShare;
            }
        }
        _split(u, old.credited - old.swept);
        _split(u, cur.credited - cur.swept);
        if (replaced) u.oldBrokerFees = old.credited - p.feesSwept;
        u.credited = cur.credited;
    }

    function _credit(ITicketBroker broker, address t, uint256 swept) private view returns (Credit memory c) {
        (uint256 credited, bool watching, uint256 creditedAtWatchEnd) = broker.recipientCredit(t);
        uint256 atRoundEnd = watching ? credited : creditedAtWatchEnd;
        return Credit(credited, atRoundEnd > swept ? atRoundEnd : swept, swept);
    }

    /// @notice Bring `del`'s position in its delegate's pool `p` (already caught up to `round`) up to date: fees
    /// on its shares, and its pending stake of an earlier round turned into shares at that round's price.
    function settle(
        Delegator storage del,
        Pool storage p,
        mapping(uint256 round => Conversion) storage conversions,
        uint256 round
    ) public {
        uint256 factor = p.feeFactor;
        bool convert = del.pendingStake > 0 && del.pendingRound < round;
        Conversion memory c;
        if (convert) c = conversions[del.pendingRound];
        (uint256 added, uint256 earned) = _accrue(del.shares, del.feeFactorSnapshot, del.pendingStake, convert, c, factor);
        if (convert) {
            del.shares += added.toUint128();
            del.pendingStake = 0;
        }
        if (earned > 0) del.fees += earned.toUint128();
        del.feeFactorSnapshot = factor;
    }

    /// @notice What `d` holds as if everything were settled now: its earning stake, pending stake and shares in
    /// its delegate `t`'s pool `p`, and its fees (its own pool `own`'s cut included, when it is an orchestrator).
    function position(
        Delegator storage del,
        Pool storage own,
        Pool storage p,
        mapping(uint256 round => Conversion) storage conversions,
        address d,
        uint256 round,
        ITicketBroker broker
    ) public view returns (uint256 earning, uint256 pending, uint256 shares, uint256 fees) {
        Update memory mine;
        if (own.broker != address(0)) mine = update(own, d, round, broker);
        fees = del.fees + mine.ownCut;
        address t = del.delegate;
        if (t == address(0)) return (0, 0, 0, fees);
        Update memory u = t == d ? mine : update(p, t, round, broker);
        bool convert = del.pendingStake > 0 && del.pendingRound < round;
        Conversion memory c;
        if (convert) c = del.pendingRound == p.round ? u.conversion : conversions[del.pendingRound];
        (uint256 added, uint256 earned) =
            _accrue(del.shares, del.feeFactorSnapshot, del.pendingStake, convert, c, u.feeFactor);
        shares = del.shares + added;
        fees += earned;
        earning = u.shares == 0 ? 0 : (shares * u.stake) / u.shares;
        pending = convert ? 0 : del.pendingStake;
    }

    /// @notice The pool `p` of `t` now: total stake, shares, the terms in force this round, and the fee factor.
    function poolNow(Pool storage p, address t, uint256 round, ITicketBroker broker)
        public
        view
        returns (uint256 totalStake, uint256 shares, uint256 rewardCut, uint256 feeShare, uint256 feeFactor)
    {
        Update memory u = update(p, t, round, broker);
        return (u.stake + u.pending, u.shares, u.rewardCut, u.feeShare, u.feeFactor);
    }

    /// @notice Whether anything about the pool changes when its current round ends: stake joins, or terms start.
    function changesAtRoundEnd(Pool storage p) internal view returns (bool) {
        return p.pendingStake > 0 || p.nextRewardCut != p.rewardCut || p.nextFeeShare != p.feeShare;
    }

    /// @dev Split `amount` of fees: feeShare to the per-share factor, the rest (with the factor's rounding
    /// remainder) to the orchestrator's cut.
    function _split(Update memory u, uint256 amount) private pure {
        if (amount == 0) return;
        if (u.shares == 0) {
            u.ownCut += amount;
            return;
        }
        uint256 increment = (((amount * u.feeShare) / PPM) * FEE_FACTOR_PRECISION) / u.shares;
        u.feeFactor += increment;
        u.ownCut += amount - _ceilDiv(increment * u.shares, FEE_FACTOR_PRECISION);
    }

    /// @dev The shares `pending` stake became at `c` (when `convert`), and the fees earned by the shares held
    /// since `snapshot` and by the new ones since `c`, at fee factor `factor`.
    function _accrue(
        uint256 shares,
        uint256 snapshot,
        uint256 pending,
        bool convert,
        Conversion memory c,
        uint256 factor
    ) private pure returns (uint256 added, uint256 earned) {
        // With no shares the snapshot may be another pool's factor (the delegator just moved): nothing to earn.
        if (shares > 0) earned = (shares * (factor - snapshot)) / FEE_FACTOR_PRECISION;
        if (convert) {
            added = c.shares == 0 ? pending : (pending * c.shares) / c.stake;
            earned += (added * (factor - c.feeFactor)) / FEE_FACTOR_PRECISION;
        }
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
