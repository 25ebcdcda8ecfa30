// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Manager} from "./Manager.sol";
import {IBondingManager, ILivepeerToken} from "./interfaces/IProtocol.sol";
import {ContractIds} from "./libraries/ContractIds.sol";

/// @title Minter
/// @notice Mints each round's rewards and holds the protocol's funds: bonded and unbonding LPT, and the ETH
/// fees swept from the TicketBroker that delegators and orchestrators have not withdrawn yet. (Broadcasters'
/// deposits and reserves stay in the TicketBroker that took them, so replacing the broker strands nothing.)
/// @dev Inflation, inflationChange and targetBondingRate are in parts per billion (PERC_DIVISOR).
contract Minter is Manager {
    uint256 public constant PERC_DIVISOR = 1_000_000_000;

    uint256 public inflation;
    uint256 public inflationChange;
    uint256 public targetBondingRate;
    uint256 public currentMintableTokens;
    uint256 public currentMintedTokens;

    event SetCurrentRewardTokens(uint256 currentMintableTokens, uint256 currentInflation);
    event RewardMinted(uint256 amount);
    event TokensBurned(uint256 amount);

    modifier onlyBondingManager() {
        require(msg.sender == _contract(ContractIds.BONDING_MANAGER), "caller must be BondingManager");
        _;
    }

    constructor(address controllerAddress, uint256 inflation_, uint256 inflationChange_, uint256 targetBondingRate_)
        Manager(controllerAddress)
    {
        require(inflation_ <= PERC_DIVISOR, "inflation must be a valid percentage");
        require(inflationChange_ <= PERC_DIVISOR, "inflation change must be a valid percentage");
        require(targetBondingRate_ <= PERC_DIVISOR, "target bonding rate must be a valid percentage");
        inflation = inflation_;
        inflationChange = inflationChange_;
        targetBondingRate = targetBondingRate_;
    }

    function setTargetBondingRate(uint256 rate) external onlyControllerOwner {
        require(rate <= PERC_DIVISOR, "target bonding rate must be a valid percentage");
        targetBondingRate = rate;
        emit ParameterUpdate("targetBondingRate");
    }

    function setInflationChange(uint256 change) external onlyControllerOwner {
        require(change <= PERC_DIVISOR, "inflation change must be a valid percentage");
        inflationChange = change;
        emit ParameterUpdate("inflationChange");
    }

    /// @notice Move inflation one step toward the target bonding rate and set this round's mintable supply.
    function setCurrentRewardTokens() external {
        require(msg.sender == _contract(ContractIds.ROUNDS_MANAGER), "caller must be RoundsManager");
        uint256 supply = _token().totalSupply();
        uint256 bonded = IBondingManager(_contract(ContractIds.BONDING_MANAGER)).getTotalBonded();
        uint256 rate = supply == 0 ? 0 : (bonded * PERC_DIVISOR) / supply;
        if (rate < targetBondingRate) {
            inflation = inflation + inflationChange > PERC_DIVISOR ? PERC_DIVISOR : inflation + inflationChange;
        } else if (rate > targetBondingRate) {
            inflation = inflation > inflationChange ? inflation - inflationChange : 0;
        }
        currentMintableTokens = (supply * inflation) / PERC_DIVISOR;
        currentMintedTokens = 0;
        emit SetCurrentRewardTokens(currentMintableTokens, inflation);
    }

    /// @notice Mint `currentMintableTokens * fracNum / fracDenom` (rounded down) to this contract.
    function createReward(uint256 fracNum, uint256 fracDenom) external onlyBondingManager returns (uint256 amount) {
        if (fracDenom == 0) return 0;
        amount = (currentMintableTokens * fracNum) / fracDenom;
        require(currentMintedTokens + amount <= currentMintableTokens, "minted tokens cannot exceed mintable");
        currentMintedTokens += amount;
        if (amount > 0) _token().mint(address(this), amount);
        emit RewardMinted(amount);
    }

    function trustedTransferTokens(address to, uint256 amount) external onlyBondingManager {
        require(_token().transfer(to, amount), "token transfer failed");
    }

    function trustedBurnTokens(uint256 amount) external onlyBondingManager {
        _token().burn(amount);
        emit TokensBurned(amount);
    }

    /// @notice Pay out withdrawn fees; BondingManager only.
    function trustedWithdrawETH(address payable to, uint256 amount) external onlyBondingManager {
        (bool ok,) = to.call{value: amount}("");
        require(ok, "ETH transfer failed");
    }

    /// @notice Take fees' ETH from a TicketBroker (the current one, or a replaced one whose last fees are swept).
    /// @dev Open to anyone: ETH sent here by anyone else is a donation that no one can claim.
    function depositETH() external payable {}

    function _token() private view returns (ILivepeerToken) {
        return ILivepeerToken(_contract(ContractIds.TOKEN));
    }
}
