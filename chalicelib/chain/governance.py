"""Owner actions through the Governance timelock: schedule a call, wait out the delay, execute it.

The Controller's owner is OpenZeppelin's ``TimelockController`` (``contracts/src/Governance.sol``): a
parameter change, a re-pointed contract or a pause is first scheduled (public on chain at once), and can
be executed by anyone once ``getMinDelay()`` seconds have passed. These return the two calls unsent, as
``Protocol``'s writes do; the caller signs and sends them its own way, ``delay`` seconds apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.contract.contract import ContractFunction

NO_PREDECESSOR = b"\0" * 32


@dataclass(frozen=True)
class TimelockedCall:
    """One owner call as Governance runs it: ``schedule`` now, ``execute`` after ``delay`` seconds."""

    schedule: ContractFunction
    execute: ContractFunction
    delay: int


def timelocked(governance: Contract, call: ContractFunction, salt: bytes) -> TimelockedCall:
    """``call`` (an owner-only function, unsent) scheduled with the minimum delay; ``salt`` (32 bytes) tells
    apart two schedulings of the same call."""
    data = call._encode_transaction_data()
    delay = int(governance.functions.getMinDelay().call())
    return TimelockedCall(
        schedule=governance.functions.schedule(call.address, 0, data, NO_PREDECESSOR, salt, delay),
        execute=governance.functions.execute(call.address, 0, data, NO_PREDECESSOR, salt),
        delay=delay,
    )
