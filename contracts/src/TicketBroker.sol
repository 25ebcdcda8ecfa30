// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Manager} from "./Manager.sol";
import {IBondingManager, IMinter, IRoundsManager} from "./interfaces/IProtocol.sol";
import {ContractIds} from "./libraries/ContractIds.sol";

/// @title TicketBroker
/// @notice Probabilistic micropayments with Livepeer's ticket format. Senders fund a deposit (paid from first)
/// and a reserve (each active orchestrator may claim reserve / poolSize of it per round once the deposit is
/// gone). Redemption is all or nothing.
/// @dev Gas: a redemption paid from deposit touches three cold slots of this contract (used-ticket flag, the
/// sender's packed deposit, the recipient's fee counter) plus one packed parameter slot, and makes two view
/// calls (Controller: pause + address, RoundsManager: round info). Fees are not split here: the recipient's
/// monotonic `feeCounter` is swept by the BondingManager before any change to that orchestrator's pool
/// shares, so the split is the same as if it were done eagerly, without an external call per ticket.
contract TicketBroker is Manager {
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

    struct Params {
        uint128 unlockPeriod;
        uint128 ticketValidityPeriod;
    }

    Params private params;
    mapping(address sender => Sender) private senders;
    mapping(address sender => Reserve) private reserves;
    mapping(address sender => mapping(uint256 round => mapping(address recipient => uint256))) private claimed;
    /// @notice Ticket hashes already redeemed.
    mapping(bytes32 ticketHash => bool) public usedTickets;
    /// @notice Per-recipient fee counter: its increase is the face value of the winning tickets paid to the
    /// recipient (ETH wei). It starts at 1 for an orchestrator (primed when it registers, so its first ticket
    /// updates a non-zero slot instead of paying for a new one) and at 0 for any other recipient.
    mapping(address recipient => uint256) public feeCounter;

    event DepositFunded(address indexed sender, uint256 amount);
    event ReserveFunded(address indexed reserveHolder, uint256 amount);
    event Unlock(address indexed sender, uint256 startRound, uint256 endRound);
    event UnlockCancelled(address indexed sender);
    event Withdrawal(address indexed sender, uint256 deposit, uint256 reserve);
    event WinningTicketRedeemed(
        address indexed sender, address indexed recipient, bytes32 indexed ticketHash, uint256 faceValue, uint256 fromReserve
    );
    event ReserveClaimed(address indexed reserveHolder, address indexed claimant, uint256 amount);

    constructor(address controllerAddress, uint256 unlockPeriod_, uint256 ticketValidityPeriod_) Manager(controllerAddress) {
        require(ticketValidityPeriod_ > 0, "ticketValidityPeriod must be greater than 0");
        params = Params(uint128(unlockPeriod_), uint128(ticketValidityPeriod_));
    }

    // -------------------------------------------------------------------------------- parameters

    function setUnlockPeriod(uint256 unlockPeriod_) external onlyControllerOwner {
        params.unlockPeriod = uint128(unlockPeriod_);
        emit ParameterUpdate("unlockPeriod");
    }

    function setTicketValidityPeriod(uint256 period) external onlyControllerOwner {
        require(period > 0, "ticketValidityPeriod must be greater than 0");
        params.ticketValidityPeriod = uint128(period);
        emit ParameterUpdate("ticketValidityPeriod");
    }

    function unlockPeriod() external view returns (uint256) {
        return params.unlockPeriod;
    }

    function ticketValidityPeriod() external view returns (uint256) {
        return params.ticketValidityPeriod;
    }

    // -------------------------------------------------------------------------------- funds

    /// @notice Add msg.value to the caller's deposit.
    function fundDeposit() external payable whenSystemNotPaused {
        _addDeposit(msg.sender, msg.value);
        _sendToMinter(msg.value);
    }

    /// @notice Add msg.value to the caller's reserve.
    function fundReserve() external payable whenSystemNotPaused {
        _addReserve(msg.sender, msg.value);
        _sendToMinter(msg.value);
    }

    /// @notice Split msg.value into the caller's deposit and reserve.
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external payable whenSystemNotPaused {
        require(msg.value == depositAmount + reserveAmount, "msg.value does not equal sum of deposit amount and reserve amount");
        _addDeposit(msg.sender, depositAmount);
        _addReserve(msg.sender, reserveAmount);
        _sendToMinter(msg.value);
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
        reserves[msg.sender].funds = 0;
        emit Withdrawal(msg.sender, s.deposit, r.funds);
        IMinter(_contract(ContractIds.MINTER)).trustedWithdrawETH(payable(msg.sender), uint256(s.deposit) + r.funds);
    }

    // -------------------------------------------------------------------------------- tickets

    /// @notice Redeem one winning ticket; reverts (and the ticket stays unused) unless it is valid, won,
    /// and deposit plus the recipient's reserve allocation cover its face value.
    function redeemWinningTicket(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand) external {
        _redeem(ticket, sig, recipientRand);
    }

    /// @notice Redeem several tickets; one that fails is skipped, the others still pay.
    /// @return redeemed how many were redeemed
    function batchRedeemWinningTickets(Ticket[] calldata tickets, bytes[] calldata sigs, uint256[] calldata recipientRands)
        external
        returns (uint256 redeemed)
    {
        require(tickets.length == sigs.length && sigs.length == recipientRands.length, "array lengths differ");
        for (uint256 i = 0; i < tickets.length; i++) {
            try this.redeemWinningTicket(tickets[i], sigs[i], recipientRands[i]) {
                redeemed++;
            } catch {}
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

    /// @notice Set `recipient`'s fee counter to 1 if it is 0; BondingManager only, when an orchestrator registers.
    /// @return primed whether the counter was 0
    function primeFeeCounter(address recipient) external returns (bool primed) {
        require(msg.sender == _contract(ContractIds.BONDING_MANAGER), "caller must be BondingManager");
        if (feeCounter[recipient] == 0) {
            feeCounter[recipient] = 1;
            return true;
        }
        return false;
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

    /// @notice How much of `sender`'s reserve `recipient` may still claim this round.
    function claimableReserve(address sender, address recipient) external view returns (uint256) {
        IBondingManager bm = IBondingManager(_contract(ContractIds.BONDING_MANAGER));
        if (!bm.isActiveTranscoder(recipient)) return 0;
        uint256 round = _roundsManager().currentRound();
        Reserve memory r = reserves[sender];
        uint256 base = uint256(r.funds) + (r.round == round ? r.claimedInRound : 0);
        uint256 poolSize = bm.getTranscoderPoolSize();
        uint256 alloc = poolSize == 0 ? 0 : base / poolSize;
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
        uint256 round = _requireValidAuxData(ticket.auxData);
        require(keccak256(abi.encodePacked(recipientRand)) == ticket.recipientRandHash, "recipientRand does not match recipientRandHash");
        bytes32 ticketHash = getTicketHash(ticket);
        require(!usedTickets[ticketHash], "ticket is used");
        require(isValidTicketSig(ticket.sender, sig, ticketHash), "invalid signature over ticket hash");
        require(isWinningTicket(sig, recipientRand, ticket.winProb), "ticket did not win");
        usedTickets[ticketHash] = true;

        uint256 faceValue = ticket.faceValue;
        uint256 fromReserve;
        Sender storage s = senders[ticket.sender];
        uint256 deposit = s.deposit;
        if (faceValue > deposit) {
            fromReserve = faceValue - deposit;
            s.deposit = 0;
            _claimFromReserve(ticket.sender, ticket.recipient, fromReserve, round);
        } else {
            s.deposit = uint128(deposit - faceValue);
        }
        feeCounter[ticket.recipient] += faceValue;
        emit WinningTicketRedeemed(ticket.sender, ticket.recipient, ticketHash, faceValue, fromReserve);
    }

    /// @return round the current round
    function _requireValidAuxData(bytes calldata auxData) private view returns (uint256 round) {
        require(auxData.length == 64, "invalid length for ticket auxData: must be 64 bytes");
        uint256 creationRound = uint256(bytes32(auxData[0:32]));
        bytes32 creationRoundBlockHash = bytes32(auxData[32:64]);
        IRoundsManager rm = IRoundsManager(controller.getContractWhenNotPaused(ContractIds.ROUNDS_MANAGER));
        (bytes32 blockHash, uint256 current, bool initialized) = rm.roundInfo(creationRound);
        require(initialized, "current round is not initialized");
        require(blockHash != bytes32(0), "ticket creationRound does not have a block hash");
        require(blockHash == creationRoundBlockHash, "ticket creationRoundBlockHash invalid for creationRound");
        require(creationRound + params.ticketValidityPeriod > current, "ticket is expired");
        return current;
    }

    function _claimFromReserve(address sender, address recipient, uint256 amount, uint256 round) private {
        IBondingManager bm = IBondingManager(_contract(ContractIds.BONDING_MANAGER));
        require(bm.isActiveTranscoder(recipient), "faceValue exceeds deposit and recipient is not active");
        Reserve memory r = reserves[sender];
        if (r.round != round) {
            r.round = uint32(round);
            r.claimedInRound = 0;
        }
        uint256 poolSize = bm.getTranscoderPoolSize(); // 0 when the last member resigned this round
        uint256 alloc = poolSize == 0 ? 0 : (uint256(r.funds) + r.claimedInRound) / poolSize;
        uint256 already = claimed[sender][round][recipient];
        require(already + amount <= alloc && amount <= r.funds, "faceValue exceeds deposit and reserve allocation");
        claimed[sender][round][recipient] = already + amount;
        r.funds -= uint112(amount);
        r.claimedInRound += uint112(amount);
        reserves[sender] = r;
        emit ReserveClaimed(sender, recipient, amount);
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

    function _sendToMinter(uint256 amount) private {
        if (amount > 0) IMinter(_contract(ContractIds.MINTER)).depositETH{value: amount}();
    }

    function _roundsManager() private view returns (IRoundsManager) {
        return IRoundsManager(_contract(ContractIds.ROUNDS_MANAGER));
    }
}
