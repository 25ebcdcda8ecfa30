// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Manager} from "./Manager.sol";
import {IBondingManager, IMinter, IRoundsManager, ITicketBroker} from "./interfaces/IProtocol.sol";
import {ContractIds} from "./libraries/ContractIds.sol";

/// @title TicketBroker
/// @notice Probabilistic micropayments with Livepeer's ticket format. Senders fund a deposit (paid from first)
/// and a reserve (each orchestrator active this round may claim reserve / the round's active-set size of it
/// once the deposit is gone). Redemption is all or nothing, and pays only orchestrators that are active, or were
/// while the ticket could have been made.
/// @dev This contract holds the senders' ETH. A winning ticket only moves value from the sender's deposit to
/// the recipient's `credited` counter (one packed slot); the BondingManager sweeps that counter before any
/// change to the orchestrator's pool and takes the swept fees' ETH to the Minter (`releaseFees`). So the hot
/// path makes no call per ticket to split fees, and a replaced broker keeps paying its senders back.
contract TicketBroker is Manager {
    /// @notice Hard upper bounds on the period parameters, in rounds.
    uint256 public constant MAX_UNLOCK_PERIOD = 100;
    uint256 public constant MAX_TICKET_VALIDITY_PERIOD = 100;

    struct Ticket {
        address recipient;
        address sender;
        uint256 faceValue;
        uint256 winProb;
        uint256 senderNonce;
        bytes32 recipientRandHash;
        bytes auxData; // creationRound (uint256) ‖ creationRoundBlockHash (bytes32)
    }

    struct Sender {
        uint128 deposit;
        uint64 withdrawRound; // 0 = not unlocking
    }

    struct Reserve {
        uint112 funds; // remaining
        uint112 claimedInRound; // claimed in `round`; funds + claimedInRound is the round's base
        uint32 round;
    }

    /// @dev One slot, read on the hot path anyway.
    struct Params {
        uint32 unlockPeriod;
        uint32 ticketValidityPeriod;
        uint32 firstRound; // the round of the first ticket redeemed here (this broker was the current one then)
        address previous; // the broker this one replaced (zero for the first)
    }

    /// @dev Everything a redemption writes about its recipient, in one slot. `creditedAtWatchEnd` and
    /// `watchRound` let the BondingManager split fees at a round boundary without a call per ticket: when its
    /// pool changes at the end of a round (new stake joins, new terms start), it asks to `watch` that round,
    /// and the first ticket redeemed in a later round keeps the credit as it was before it.
    struct Recipient {
        uint88 credited; // face value of every winning ticket paid to the recipient (only grows)
        uint88 creditedAtWatchEnd; // `credited` when the first ticket after the watched round came in
        uint40 watchedRoundPlusOne; // the watched round + 1; 0 once that happened, or when nothing is watched
        uint40 payableBase; // it may be paid while round < payableBase + ticketValidityPeriod (the BondingManager's
        // answer, cached; 0: not asked yet; the BondingManager drops it when the orchestrator leaves the set)
    }

    Params private params;
    mapping(address sender => Sender) private senders;
    mapping(address sender => Reserve) private reserves;
    mapping(address sender => mapping(uint256 round => mapping(address recipient => uint256))) private claimed;
    mapping(address recipient => Recipient) private recipients;
    /// @notice Ticket hashes already redeemed.
    mapping(bytes32 ticketHash => bool) public usedTickets;

    event DepositFunded(address indexed sender, uint256 amount);
    event ReserveFunded(address indexed reserveHolder, uint256 amount);
    event Unlock(address indexed sender, uint256 startRound, uint256 endRound);
    event UnlockCancelled(address indexed sender);
    event Withdrawal(address indexed sender, uint256 deposit, uint256 reserve);
    event WinningTicketRedeemed(
        address indexed sender, address indexed recipient, bytes32 indexed ticketHash, uint256 faceValue, uint256 fromReserve
    );
    event ReserveClaimed(address indexed reserveHolder, address indexed claimant, uint256 amount);
    event FeesReleased(uint256 amount);

    modifier onlyBondingManager() {
        require(msg.sender == _contract(ContractIds.BONDING_MANAGER), "caller must be BondingManager");
        _;
    }

    /// @dev A replaced broker takes no new money and pays no new tickets; its senders can still withdraw.
    modifier onlyCurrentBroker() {
        require(_contract(ContractIds.TICKET_BROKER) == address(this), "ticket broker was replaced");
        _;
    }

    /// @param previous_ the TicketBroker this one replaces (zero for the first): a ticket it redeemed is not
    /// paid again here.
    constructor(address controllerAddress, uint256 unlockPeriod_, uint256 ticketValidityPeriod_, address previous_)
        Manager(controllerAddress)
    {
        _requireValidPeriods(unlockPeriod_, ticketValidityPeriod_);
        params = Params(uint32(unlockPeriod_), uint32(ticketValidityPeriod_), 0, previous_);
    }

    // -------------------------------------------------------------------------------- parameters

    function setUnlockPeriod(uint256 unlockPeriod_) external onlyControllerOwner {
        _requireValidPeriods(unlockPeriod_, params.ticketValidityPeriod);
        params.unlockPeriod = uint32(unlockPeriod_);
        emit ParameterUpdate("unlockPeriod");
    }

    function setTicketValidityPeriod(uint256 period) external onlyControllerOwner {
        _requireValidPeriods(params.unlockPeriod, period);
        params.ticketValidityPeriod = uint32(period);
        emit ParameterUpdate("ticketValidityPeriod");
    }

    function unlockPeriod() external view returns (uint256) {
        return params.unlockPeriod;
    }

    function ticketValidityPeriod() external view returns (uint256) {
        return params.ticketValidityPeriod;
    }

    // -------------------------------------------------------------------------------- funds

    /// @notice Add msg.value to the caller's deposit (and cancel an unlock in progress).
    function fundDeposit() external payable whenSystemNotPaused onlyCurrentBroker {
        _endUnlock(msg.sender);
        _addDeposit(msg.sender, msg.value);
    }

    /// @notice Add msg.value to the caller's reserve (and cancel an unlock in progress).
    function fundReserve() external payable whenSystemNotPaused onlyCurrentBroker {
        _endUnlock(msg.sender);
        _addReserve(msg.sender, msg.value);
    }

    /// @notice Split msg.value into the caller's deposit and reserve (and cancel an unlock in progress).
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount)
        external
        payable
        whenSystemNotPaused
        onlyCurrentBroker
    {
        require(msg.value == depositAmount + reserveAmount, "msg.value does not equal sum of deposit amount and reserve amount");
        _endUnlock(msg.sender);
        _addDeposit(msg.sender, depositAmount);
        _addReserve(msg.sender, reserveAmount);
    }

    /// @notice Start the unlock period; deposit and reserve can be withdrawn after it.
    function unlock() external whenSystemNotPaused {
        Sender storage s = senders[msg.sender];
        require(s.deposit > 0 || reserves[msg.sender].funds > 0, "sender deposit and reserve are zero");
        require(s.withdrawRound == 0, "unlock already initiated");
        uint256 round = _roundsManager().currentRound();
        uint256 withdrawRound = round + params.unlockPeriod;
        s.withdrawRound = uint64(withdrawRound);
        emit Unlock(msg.sender, round, withdrawRound);
    }

    /// @notice Stop an unlock in progress.
    function cancelUnlock() external whenSystemNotPaused {
        Sender storage s = senders[msg.sender];
        require(s.withdrawRound != 0, "no unlock request in progress");
        s.withdrawRound = 0;
        emit UnlockCancelled(msg.sender);
    }

    /// @notice Withdraw the whole deposit and reserve once the unlock period is over.
    function withdraw() external whenSystemNotPaused {
        Sender memory s = senders[msg.sender];
        Reserve memory r = reserves[msg.sender];
        require(s.deposit > 0 || r.funds > 0, "sender deposit and reserve are zero");
        require(s.withdrawRound != 0, "no unlock request in progress");
        require(s.withdrawRound <= _roundsManager().currentRound(), "account is locked");
        delete senders[msg.sender];
        // The whole record: a reserve funded again later starts from a clean base, not from the old claims.
        delete reserves[msg.sender];
        emit Withdrawal(msg.sender, s.deposit, r.funds);
        (bool ok,) = payable(msg.sender).call{value: uint256(s.deposit) + r.funds}("");
        require(ok, "ETH transfer failed");
    }

    // -------------------------------------------------------------------------------- tickets

    /// @notice Redeem one winning ticket; reverts (and the ticket stays unused) unless it is valid, won, pays a
    /// registered orchestrator, and deposit plus the recipient's reserve allocation cover its face value.
    function redeemWinningTicket(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand) external {
        _redeem(ticket, sig, recipientRand);
    }

    /// @notice Redeem several tickets; one that fails on its merits is skipped, the others still pay.
    /// @dev A ticket that fails with no revert reason ran out of gas (or was malformed): the whole batch reverts
    /// then, so a caller cannot drop tickets by sending the batch with too little gas.
    /// @return redeemed how many were redeemed
    function batchRedeemWinningTickets(Ticket[] calldata tickets, bytes[] calldata sigs, uint256[] calldata recipientRands)
        external
        returns (uint256 redeemed)
    {
        require(tickets.length == sigs.length && sigs.length == recipientRands.length, "array lengths differ");
        for (uint256 i = 0; i < tickets.length; i++) {
            try this.redeemWinningTicket(tickets[i], sigs[i], recipientRands[i]) {
                redeemed++;
            } catch (bytes memory reason) {
                require(reason.length > 0, "ticket redemption ran out of gas");
            }
        }
    }

    /// @notice keccak256 of the 232 packed bytes of the ticket (the hash the sender signs with eth_sign).
    function getTicketHash(Ticket calldata ticket) public pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                ticket.recipient,
                ticket.sender,
                ticket.faceValue,
                ticket.winProb,
                ticket.senderNonce,
                ticket.recipientRandHash,
                ticket.auxData
            )
        );
    }

    /// @notice The winning rule: uint256(keccak256(sig ‖ recipientRand)) < winProb.
    function isWinningTicket(bytes calldata sig, uint256 recipientRand, uint256 winProb) public pure returns (bool) {
        return uint256(keccak256(abi.encodePacked(sig, recipientRand))) < winProb;
    }

    /// @notice Whether `sig` is `signer`'s eth_sign (EIP-191) signature over `ticketHash` (65 bytes, low s).
    function isValidTicketSig(address signer, bytes calldata sig, bytes32 ticketHash) public pure returns (bool) {
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(MessageHashUtils.toEthSignedMessageHash(ticketHash), sig);
        return err == ECDSA.RecoverError.NoError && recovered == signer;
    }

    // -------------------------------------------------------------------------------- BondingManager hooks

    /// @notice Drop the cached answer that `recipient` may be paid (it left the active set, or resigned).
    function forget(address recipient) external onlyBondingManager {
        recipients[recipient].payableBase = 0;
    }

    /// @notice Keep `recipient`'s credit as it stands at the end of `round` (its pool changes then).
    function watch(address recipient, uint256 round) external onlyBondingManager {
        recipients[recipient].watchedRoundPlusOne = uint40(round + 1); // round 0 is a round too
    }

    /// @notice Send `amount` of swept fees' ETH to the Minter, which pays delegators their withdrawals.
    function releaseFees(uint256 amount) external onlyBondingManager {
        IMinter(_contract(ContractIds.MINTER)).depositETH{value: amount}();
        emit FeesReleased(amount);
    }

    // -------------------------------------------------------------------------------- views

    /// @notice deposit, withdrawRound (0 = not unlocking), reserve funds remaining, reserve claimed this round.
    function getSenderInfo(address sender)
        external
        view
        returns (uint256 deposit, uint256 withdrawRound, uint256 reserve, uint256 reserveClaimedInCurrentRound)
    {
        Sender memory s = senders[sender];
        Reserve memory r = reserves[sender];
        uint256 round = _roundsManager().currentRound();
        return (s.deposit, s.withdrawRound, r.funds, r.round == round ? r.claimedInRound : 0);
    }

    /// @notice The fees credited to `recipient` (only grows); whether a round is still watched (no ticket came
    /// in after it yet); and, once one did, the credit as it stood at the end of the watched round.
    function recipientCredit(address recipient)
        external
        view
        returns (uint256 credited, bool watching, uint256 creditedAtWatchEnd)
    {
        Recipient memory r = recipients[recipient];
        return (r.credited, r.watchedRoundPlusOne != 0, r.creditedAtWatchEnd);
    }

    /// @notice Whether a ticket made in `creationRound` was redeemed here, or on a broker this one replaced
    /// before it took over.
    function isTicketUsed(bytes32 ticketHash, uint256 creationRound) public view returns (bool) {
        if (usedTickets[ticketHash]) return true;
        Params memory p = params;
        if (p.previous == address(0) || (p.firstRound != 0 && creationRound > p.firstRound)) return false;
        return _usedBefore(p.previous, ticketHash, creationRound);
    }

    /// @notice The broker this one replaced, and the round its first ticket was redeemed in (0: none yet).
    function succession() external view returns (address previous, uint256 firstRound) {
        return (params.previous, params.firstRound);
    }

    /// @notice How much of `sender`'s reserve `recipient` may still claim this round.
    function claimableReserve(address sender, address recipient) external view returns (uint256) {
        (bool active, uint256 activeSetSize) = _bondingManager().activeSetInfo(recipient);
        if (!active || activeSetSize == 0) return 0;
        uint256 round = _roundsManager().currentRound();
        Reserve memory r = reserves[sender];
        uint256 alloc = (uint256(r.funds) + (r.round == round ? r.claimedInRound : 0)) / activeSetSize;
        uint256 already = claimed[sender][round][recipient];
        return alloc > already ? alloc - already : 0;
    }

    /// @notice How much of `sender`'s reserve `recipient` claimed in the current round.
    function claimedReserve(address sender, address recipient) external view returns (uint256) {
        return claimed[sender][_roundsManager().currentRound()][recipient];
    }

    // -------------------------------------------------------------------------------- internals

    function _redeem(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand) private {
        require(ticket.recipient != address(0), "ticket recipient is null address");
        require(ticket.sender != address(0), "ticket sender is null address");
        Params memory p = params;
        (uint256 round, uint256 creationRound) = _requireValidAuxData(ticket.auxData, p.ticketValidityPeriod);
        require(keccak256(abi.encodePacked(recipientRand)) == ticket.recipientRandHash, "recipientRand does not match recipientRandHash");
        bytes32 ticketHash = getTicketHash(ticket);
        require(!usedTickets[ticketHash], "ticket is used");
        if (p.previous != address(0) && (p.firstRound == 0 || creationRound <= p.firstRound)) {
            // made before this broker took over: it may have been redeemed on the one before
            require(!_usedBefore(p.previous, ticketHash, creationRound), "ticket is used");
        }
        if (p.firstRound == 0) params.firstRound = uint32(round);
        require(isValidTicketSig(ticket.sender, sig, ticketHash), "invalid signature over ticket hash");
        require(isWinningTicket(sig, recipientRand, ticket.winProb), "ticket did not win");
        usedTickets[ticketHash] = true;

        uint256 faceValue = ticket.faceValue;
        Recipient memory rec = recipients[ticket.recipient];
        if (rec.payableBase == 0 || round >= uint256(rec.payableBase) + p.ticketValidityPeriod) {
            // Paying any address would let a sender pay an address of its own and skip the unlock period; paying
            // any registered one, too (registering costs a wei of stake). So only orchestrators that are active,
            // or were within the ticket validity period, are paid: to take its deposit back this way a sender
            // must run an orchestrator in the top N by stake. Asked once and cached until the answer lapses or
            // the BondingManager drops it (the orchestrator left the active set or resigned). A broker that took
            // over from another learns here, too, whether the pool changes at a round's end it must keep the
            // credit of.
            (bool payable_, uint256 base, bool changing, uint256 changeRound) =
                _bondingManager().recipientStatus(ticket.recipient, p.ticketValidityPeriod);
            require(payable_, "ticket recipient is not an active orchestrator");
            rec.payableBase = uint40(base < type(uint40).max ? base : type(uint40).max);
            if (changing && rec.watchedRoundPlusOne == 0 && rec.credited == 0) {
                rec.watchedRoundPlusOne = uint40(changeRound + 1);
            }
        }
        if (rec.watchedRoundPlusOne != 0 && round >= rec.watchedRoundPlusOne) {
            // the first ticket after the watched round: what came before it belongs to that round
            rec.creditedAtWatchEnd = rec.credited;
            rec.watchedRoundPlusOne = 0;
        }
        uint256 credited = uint256(rec.credited) + faceValue;
        require(credited <= type(uint88).max, "ticket faceValue too large");
        rec.credited = uint88(credited);
        recipients[ticket.recipient] = rec;

        uint256 fromReserve;
        Sender storage s = senders[ticket.sender];
        uint256 withdrawRound = s.withdrawRound;
        // As in Livepeer: once its unlock period is over the sender may withdraw at any moment, so no ticket
        // can count on its funds any more.
        require(withdrawRound == 0 || round < withdrawRound, "sender is unlocked");
        uint256 deposit = s.deposit;
        if (faceValue > deposit) {
            fromReserve = faceValue - deposit;
            s.deposit = 0;
            _claimFromReserve(ticket.sender, ticket.recipient, fromReserve, round);
        } else {
            s.deposit = uint128(deposit - faceValue);
        }
        emit WinningTicketRedeemed(ticket.sender, ticket.recipient, ticketHash, faceValue, fromReserve);
    }

    /// @return round the current round
    /// @return creationRound the round the ticket was made in
    function _requireValidAuxData(bytes calldata auxData, uint256 validityPeriod)
        private
        view
        returns (uint256 round, uint256 creationRound)
    {
        require(auxData.length == 64, "invalid length for ticket auxData: must be 64 bytes");
        creationRound = uint256(bytes32(auxData[0:32]));
        bytes32 creationRoundBlockHash = bytes32(auxData[32:64]);
        (address rounds, address broker) =
            controller.getContractsWhenNotPaused(ContractIds.ROUNDS_MANAGER, ContractIds.TICKET_BROKER);
        require(broker == address(this), "ticket broker was replaced");
        (bytes32 blockHash, uint256 current, bool initialized) = IRoundsManager(rounds).roundInfo(creationRound);
        require(initialized, "current round is not initialized");
        require(blockHash != bytes32(0), "ticket creationRound does not have a block hash");
        require(blockHash == creationRoundBlockHash, "ticket creationRoundBlockHash invalid for creationRound");
        require(creationRound + validityPeriod > current, "ticket is expired");
        return (current, creationRound);
    }

    function _claimFromReserve(address sender, address recipient, uint256 amount, uint256 round) private {
        (bool active, uint256 activeSetSize) = _bondingManager().activeSetInfo(recipient);
        require(active, "faceValue exceeds deposit and recipient is not active");
        Reserve memory r = reserves[sender];
        if (r.round != round) {
            r.round = uint32(round);
            r.claimedInRound = 0;
        }
        uint256 alloc = activeSetSize == 0 ? 0 : (uint256(r.funds) + r.claimedInRound) / activeSetSize;
        uint256 already = claimed[sender][round][recipient];
        require(already + amount <= alloc && amount <= r.funds, "faceValue exceeds deposit and reserve allocation");
        claimed[sender][round][recipient] = already + amount;
        r.funds -= uint112(amount);
        r.claimedInRound += uint112(amount);
        reserves[sender] = r;
        emit ReserveClaimed(sender, recipient, amount);
    }

    /// @dev New money means the sender means to keep paying: as in Livepeer, funding ends an unlock.
    function _endUnlock(address sender) private {
        Sender storage s = senders[sender];
        if (s.withdrawRound != 0) {
            s.withdrawRound = 0;
            emit UnlockCancelled(sender);
        }
    }

    function _addDeposit(address sender, uint256 amount) private {
        uint256 deposit = uint256(senders[sender].deposit) + amount;
        require(deposit <= type(uint128).max, "deposit overflow");
        senders[sender].deposit = uint128(deposit);
        emit DepositFunded(sender, amount);
    }

    function _addReserve(address sender, uint256 amount) private {
        uint256 funds = uint256(reserves[sender].funds) + amount;
        require(funds <= type(uint112).max, "reserve overflow");
        reserves[sender].funds = uint112(funds);
        emit ReserveFunded(sender, amount);
    }

    function _requireValidPeriods(uint256 unlockPeriod_, uint256 ticketValidityPeriod_) private pure {
        require(unlockPeriod_ <= MAX_UNLOCK_PERIOD, "unlockPeriod is over MAX_UNLOCK_PERIOD");
        require(ticketValidityPeriod_ > 0, "ticketValidityPeriod must be greater than 0");
        require(ticketValidityPeriod_ <= MAX_TICKET_VALIDITY_PERIOD, "ticketValidityPeriod is over MAX_TICKET_VALIDITY_PERIOD");
    }

    /// @dev Whether `broker` (a predecessor) or one before it redeemed the ticket. A predecessor too old to
    /// answer `isTicketUsed` is asked its `usedTickets`; one that answers neither fails the ticket with a reason.
    function _usedBefore(address broker, bytes32 ticketHash, uint256 creationRound) private view returns (bool) {
        try ITicketBroker(broker).isTicketUsed(ticketHash, creationRound) returns (bool used) {
            return used;
        } catch {
            try ITicketBroker(broker).usedTickets(ticketHash) returns (bool used) {
                return used;
            } catch {
                revert("predecessor broker does not answer");
            }
        }
    }

    function _roundsManager() private view returns (IRoundsManager) {
        return IRoundsManager(_contract(ContractIds.ROUNDS_MANAGER));
    }

    function _bondingManager() private view returns (IBondingManager) {
        return IBondingManager(_contract(ContractIds.BONDING_MANAGER));
    }
}
