// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Manager} from "./Manager.sol";

/// @title ServiceRegistry
/// @notice Where each orchestrator publishes the URI its gateway-facing service answers on, and the price
/// it asks: `pricePerUnit` wei for every `pixelsPerUnit` output pixels. The price is an advertisement that
/// gateways filter on before they ask; what binds is the price the orchestrator quotes with its ticket
/// parameters, which a gateway refuses when it is over its own maximum.
contract ServiceRegistry is Manager {
    struct Price {
        uint128 pricePerUnit;
        uint128 pixelsPerUnit;
    }

    mapping(address account => string) private serviceURIs;
    mapping(address account => Price) private prices;

    event ServiceURIUpdate(address indexed addr, string serviceURI);
    event PriceUpdate(address indexed addr, uint256 pricePerUnit, uint256 pixelsPerUnit);

    constructor(address controllerAddress) Manager(controllerAddress) {}

    /// @notice Publish the caller's service URI.
    function setServiceURI(string calldata serviceURI) external whenSystemNotPaused {
        require(bytes(serviceURI).length <= 512, "service URI is too long");
        serviceURIs[msg.sender] = serviceURI;
        emit ServiceURIUpdate(msg.sender, serviceURI);
    }

    /// @notice Advertise the caller's price: `pricePerUnit` wei per `pixelsPerUnit` output pixels.
    function setPrice(uint256 pricePerUnit, uint256 pixelsPerUnit) external whenSystemNotPaused {
        require(pixelsPerUnit > 0, "pixelsPerUnit must be positive");
        require(pricePerUnit <= type(uint128).max && pixelsPerUnit <= type(uint128).max, "price out of range");
        prices[msg.sender] = Price(uint128(pricePerUnit), uint128(pixelsPerUnit));
        emit PriceUpdate(msg.sender, pricePerUnit, pixelsPerUnit);
    }

    /// @notice The price `addr` advertised, (0, 0) if none.
    function getPrice(address addr) external view returns (uint256 pricePerUnit, uint256 pixelsPerUnit) {
        Price memory price = prices[addr];
        return (price.pricePerUnit, price.pixelsPerUnit);
    }

    /// @notice The service URI `addr` published, or "".
    function getServiceURI(address addr) external view returns (string memory) {
        return serviceURIs[addr];
    }
}
