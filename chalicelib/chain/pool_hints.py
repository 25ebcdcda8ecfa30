"""Hints for the BondingManager's sorted active set: the neighbours a stake change will land between.

With a correct ``(prev, next)`` hint, inserting or moving an orchestrator costs O(1) gas however large the
active set; a stale hint still works but walks the list. Callers read the pool off chain (or from the events
projection) and pass it here, largest stake first.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_typing import ChecksumAddress, HexAddress, HexStr

ZERO_ADDRESS = ChecksumAddress(HexAddress(HexStr("0x" + "00" * 20)))


def find_hints(
    pool: Sequence[tuple[ChecksumAddress, int]], address: ChecksumAddress, new_stake: int
) -> tuple[ChecksumAddress, ChecksumAddress]:
    """``(prev, next)`` for ``address`` at ``new_stake`` in ``pool`` (sorted by stake, descending).

    ``address`` itself is skipped, so the same call serves an insertion and a move. Ties go after the existing
    members of equal stake, as the contract's list walk places them.
    """
    prev = ZERO_ADDRESS
    for member, stake in pool:
        if member == address:
            continue
        if stake < new_stake:
            return prev, member
        prev = member
    return prev, ZERO_ADDRESS
