"""Amounts, shares and prices as people type them (``100LPT``, ``0.5ETH``, ``10%``, ``1200wei/1000px``), parsed
exactly with ``Decimal`` into the integers the contracts take, and formatted back for tables."""

from __future__ import annotations

import re
from decimal import Decimal, Inexact, InvalidOperation, localcontext

from chalicelib.chain.deployment import PPM

#: Base units per whole token: LPT and ETH both have 18 decimals.
UNITS_PER_TOKEN = 10**18
#: The units an amount may carry, per token, as multipliers of its base unit (wei).
LPT_UNITS: dict[str, int] = {"LPT": UNITS_PER_TOKEN, "wei": 1, "": 1}
ETH_UNITS: dict[str, int] = {"ETH": UNITS_PER_TOKEN, "gwei": 10**9, "wei": 1, "": 1}
UINT256_MAX = 2**256 - 1

_AMOUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


class UnitError(ValueError):
    """Text that is not an amount, share or price of the kind asked for; the message says what would be."""


def parse_amount(text: str, units: dict[str, int]) -> int:
    """``text`` (a number and one of ``units``; no unit means base units) as an exact integer of base units."""
    match = _AMOUNT.match(text)
    by_name = {name.lower(): factor for name, factor in units.items()}
    if match is None or match.group(2).lower() not in by_name:
        named = [name for name in units if name]
        raise UnitError(
            f"{text!r} is not an amount: write a number and a unit ({', '.join(named)}), e.g. 100{named[0]}"
        )
    # Exact: Decimal's default 28 digits would round a uint256 silently, so trap any rounding instead.
    with localcontext() as context:
        context.prec = 100
        context.traps[Inexact] = True
        try:
            value = Decimal(match.group(1)) * by_name[match.group(2).lower()]
        except (InvalidOperation, Inexact):
            raise UnitError(f"{text!r} is not a number this tool can take exactly") from None
        if value != value.to_integral_value():
            raise UnitError(f"{text!r} is not a whole number of base units (18 decimals at most)")
    if value > UINT256_MAX:
        raise UnitError(f"{text!r} is too large")
    return int(value)


def parse_lpt(text: str) -> int:
    """An LPT amount (``100LPT``, ``1e18wei`` or plain base units) in base units."""
    return parse_amount(text, LPT_UNITS)


def parse_eth(text: str) -> int:
    """An ETH amount (``0.5ETH``, ``20gwei``, ``1e18wei`` or plain wei) in wei."""
    return parse_amount(text, ETH_UNITS)


def parse_ppm(text: str) -> int:
    """A share (``10%``, ``12.5%`` or ``100000ppm``) in parts per million, 0 to 1,000,000."""
    stripped = text.strip().lower()
    try:
        if stripped.endswith("%"):
            value = Decimal(stripped[:-1]) * (PPM // 100)
        elif stripped.endswith("ppm"):
            value = Decimal(stripped[:-3])
        else:
            raise UnitError(f"{text!r} is not a share: write a percentage (10%) or parts per million (100000ppm)")
    except InvalidOperation:
        raise UnitError(f"{text!r} is not a number") from None
    if value != value.to_integral_value():
        raise UnitError(f"{text!r} is finer than one part per million")
    if not 0 <= value <= PPM:
        raise UnitError(f"{text!r} is not between 0% and 100%")
    return int(value)


def parse_price(text: str) -> tuple[int, int]:
    """A price (``1200wei/1000px``, ``0.000001ETH/1px``; a bare amount is per pixel) as (pricePerUnit wei,
    pixelsPerUnit)."""
    amount, _, pixels = text.partition("/")
    price = parse_eth(amount)
    if not pixels:
        return price, 1
    digits = pixels.strip().lower().removesuffix("pixels").removesuffix("px").strip()
    if not digits.isdigit() or int(digits) == 0:
        raise UnitError(f"{text!r}: the part after '/' must be a positive number of pixels, e.g. 1000px")
    return price, int(digits)


def format_token(units: int, symbol: str) -> str:
    """Base units as whole tokens with every significant decimal (``1.5 LPT``), exact."""
    whole = Decimal(units) / UNITS_PER_TOKEN
    text = format(whole.normalize(), "f") if units else "0"
    return f"{text} {symbol}"


def format_ppm(ppm: int) -> str:
    """Parts per million as a percentage (``12.5%``)."""
    return format((Decimal(ppm) / (PPM // 100)).normalize(), "f") + "%"


def format_price(price_per_unit: int, pixels_per_unit: int) -> str:
    """An advertised price as people write it (``1200wei/1000px``), or "-" when none is advertised."""
    if pixels_per_unit == 0:
        return "-"
    return f"{price_per_unit}wei/{pixels_per_unit}px"
