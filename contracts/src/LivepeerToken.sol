// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";

/// @title LivepeerToken (LPT)
/// @notice ERC20 whose only minter is the Minter fixed at deployment: no account holds a role that can mint,
/// or grant one. Holders, and so the protocol for slashing, can burn their own balance.
contract LivepeerToken is ERC20, ERC20Burnable {
    /// @notice The one address that may mint: the protocol's Minter, which mints only each round's reward.
    address public immutable minter;

    constructor(address minter_, address holder, uint256 initialSupply) ERC20("Livepeer Token", "LPT") {
        require(minter_ != address(0), "minter is null address");
        minter = minter_;
        _mint(holder, initialSupply);
    }

    /// @notice Mint `amount` to `to`; only the Minter.
    function mint(address to, uint256 amount) external {
        require(msg.sender == minter, "caller must be the Minter");
        _mint(to, amount);
    }
}
