"""The stage's on-chain identity: the address of its Ethereum key (``LP_ETH_PRIVATE_KEY``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr


@lru_cache(maxsize=4)
def address_of(private_key: SecretStr | None) -> str | None:
    """Return the checksummed address of a stage's key, or None when the stage has no key."""
    if private_key is None:
        return None
    from eth_account import Account  # only stages with a key pay for the import

    address: str = Account.from_key(private_key.get_secret_value()).address
    return address
