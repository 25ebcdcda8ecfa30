"""`lp`'s amounts, shares and prices: parsed exactly into the integers the contracts take, or refused in words."""

from __future__ import annotations

import pytest

from lpcli.units import UnitError, format_ppm, format_token, parse_eth, parse_lpt, parse_ppm, parse_price

LPT = 10**18


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("100LPT", 100 * LPT),
        ("0.5lpt", LPT // 2),
        ("1e18wei", LPT),
        ("1e18", LPT),
        ("7", 7),
        ("1.5e-3LPT", 15 * 10**14),
    ],
)
def test_lpt_amounts_take_units_and_mean_base_units_without_one(text: str, units: int) -> None:
    assert parse_lpt(text) == units


def test_amounts_are_exact_beyond_decimals_default_precision() -> None:
    big = "123456789012345678901234567890123456789"
    assert parse_eth(big + "wei") == int(big)
    assert parse_eth("0.123456789012345678ETH") == 123456789012345678


@pytest.mark.parametrize("text", ["0.0000000000000000001LPT", "1e80LPT", "12abc", "-1LPT", "LPT", "1ETH"])
def test_an_lpt_amount_that_is_not_whole_base_units_or_not_lpt_is_refused(text: str) -> None:
    with pytest.raises(UnitError):
        parse_lpt(text)


def test_eth_amounts_take_eth_gwei_and_wei() -> None:
    assert (parse_eth("0.5ETH"), parse_eth("20gwei"), parse_eth("3wei")) == (LPT // 2, 20 * 10**9, 3)


@pytest.mark.parametrize(("text", "ppm"), [("10%", 100_000), ("12.5%", 125_000), ("100000ppm", 100_000), ("0%", 0)])
def test_shares_are_percentages_or_parts_per_million(text: str, ppm: int) -> None:
    assert parse_ppm(text) == ppm


@pytest.mark.parametrize("text", ["101%", "0.00001%", "10", "x%"])
def test_a_share_out_of_range_too_fine_or_without_a_unit_is_refused(text: str) -> None:
    with pytest.raises(UnitError):
        parse_ppm(text)


def test_prices_are_wei_per_pixels() -> None:
    assert parse_price("1200wei/1000px") == (1200, 1000)
    assert parse_price("0.000001ETH/1px") == (10**12, 1)
    assert parse_price("5") == (5, 1)
    for bad in ("1wei/0px", "1wei/px", "1LPT/1px"):
        with pytest.raises(UnitError):
            parse_price(bad)


def test_formatting_is_exact_and_short() -> None:
    assert (format_token(15 * 10**17, "LPT"), format_token(10**21, "LPT"), format_token(0, "ETH")) == (
        "1.5 LPT", "1000 LPT", "0 ETH"
    )  # fmt: skip
    assert format_token(1, "ETH") == "0.000000000000000001 ETH"
    assert (format_ppm(125_000), format_ppm(1_000_000)) == ("12.5%", "100%")
