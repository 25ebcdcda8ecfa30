"""Every way a command can fail, said in words for a person: each revert reason and custom error the contracts
can give, an unreachable node, a missing deployment file or key. The CLI prints the sentence and exits 1."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils.crypto import keccak

#: The revert reasons of contracts/src (every ``require`` and ``revert`` string), in words for a person.
#: tests/contracts/test_lp_cli.py greps the sources: a new reason without a sentence here fails it.
REVERT_SENTENCES: dict[str, str] = {
    # rounds
    "current round is not initialized": "the current round is not initialized yet: run `lp round initialize`",
    "round already initialized": "the current round is already initialized: nothing to do",
    "round length cannot be 0": "the round length must be at least one block",
    "round length is over MAX_ROUND_LENGTH": "the round length is over the RoundsManager's maximum",
    "round lock amount must be a valid percentage": "the round lock amount must be between 0% and 100%",
    # staking
    "delegate is null address": "you cannot bond to the zero address: give an orchestrator's address",
    "bond amount must be greater than 0": "the amount to bond must be more than 0",
    "bond amount too small": "this amount is too small to buy a single share of the orchestrator's pool: bond more",
    "token transfer failed": "the LPT transfer failed",
    "caller must be bonded": "you are not bonded to any orchestrator: bond first (`lp delegator bond`), "
    "or rebond the lock to one with `--to`",
    "caller must be unbonded": "you are still bonded: rebond the lock to your current orchestrator (leave out --to)",
    "unbond amount must be greater than 0": "the amount to unbond must be more than 0",
    "amount is greater than bonded amount": "this amount is more than your bonded stake",
    "invalid unbonding lock ID": "you have no unbonding lock with that ID (or it was already withdrawn or rebonded): "
    "`lp status` lists yours",
    "withdraw round must be before or equal to the current round": "this unbonding lock is still in its unbonding "
    "period: `lp status` shows the round from which you can withdraw it",
    "insufficient fees to withdraw": "you have no fees to withdraw, or fewer than that amount: "
    "`lp status` shows your pending fees",
    "delegate must be a registered transcoder": "that address is not a registered orchestrator: you can only "
    "delegate to one (`lp status` lists the active set)",
    "registered transcoders can't delegate towards other addresses": "you are a registered orchestrator: you cannot "
    "delegate to another one unless you unbond all your stake first",
    # orchestrators
    "can't update transcoder params, current round is locked": "the current round is in its locked tail, when no "
    "one may change terms: wait for the next round and try again",
    "invalid rewardCut percentage": "the reward cut must be between 0% and 100%",
    "invalid feeShare percentage": "the fee share must be between 0% and 100%",
    "transcoder must be registered": "you are not a registered orchestrator: bond stake to yourself first "
    "(`lp orchestrator register --stake ...`)",
    "caller can't be active or must have already called reward for the current round": "an active orchestrator may "
    "change its terms only after calling reward this round: run `lp orchestrator reward` first",
    "caller must be an active transcoder": "only an orchestrator in the current round's active set can call reward",
    "caller has already called reward for the current round": "you have already called reward in this round",
    "service URI is too long": "the service URI is too long: 512 bytes at most",
    "pixelsPerUnit must be positive": "a price must be per at least one pixel, e.g. 1200wei/1000px",
    "price out of range": "the price or its number of pixels is too large (each must fit in 128 bits)",
    # broadcasters
    "msg.value does not equal sum of deposit amount and reserve amount": "the ETH sent must equal the deposit plus "
    "the reserve",
    "sender deposit and reserve are zero": "you have no deposit or reserve in the TicketBroker",
    "unlock already initiated": "an unlock is already under way: `lp status` shows the round you can withdraw in",
    "no unlock request in progress": "no unlock is under way: run `lp broadcaster unlock` first, and withdraw once "
    "the unlock period is over",
    "account is locked": "your deposit and reserve are still locked: the unlock period is not over yet "
    "(`lp status` shows the round you can withdraw in)",
    "deposit overflow": "the deposit would be too large (over 128 bits of wei)",
    "reserve overflow": "the reserve would be too large (over 112 bits of wei)",
    "ETH transfer failed": "the ETH transfer to the recipient failed (is it a contract that refuses ETH?)",
    # tickets
    "ticket broker was replaced": "this TicketBroker was replaced by a newer one: it takes no new funds or tickets "
    "(use the current deployment file); funds already here can still be withdrawn",
    "ticket is used": "this ticket was already redeemed",
    "ticket is expired": "this ticket has expired: its creation round is too old",
    "ticket did not win": "this ticket did not win",
    "invalid signature over ticket hash": "the ticket's signature is not the sender's",
    "recipientRand does not match recipientRandHash": "the recipient's random number does not match the ticket's hash "
    "of it",
    "ticket creationRound does not have a block hash": "the ticket's creation round was never initialized",
    "ticket creationRoundBlockHash invalid for creationRound": "the ticket's block hash is not its creation round's",
    "invalid length for ticket auxData: must be 64 bytes": "the ticket's auxData must be 64 bytes",
    "ticket recipient is null address": "the ticket has no recipient",
    "ticket sender is null address": "the ticket has no sender",
    "ticket recipient is not an active orchestrator": "the ticket's recipient is not an active orchestrator",
    "ticket faceValue too large": "the ticket's face value is too large",
    "sender is unlocked": "the ticket's sender has finished unlocking its funds: its tickets no longer pay",
    "faceValue exceeds deposit and recipient is not active": "the sender's deposit does not cover the ticket, and "
    "the recipient is not active, so it may not claim from the reserve",
    "faceValue exceeds deposit and reserve allocation": "the sender's deposit and the recipient's share of its "
    "reserve do not cover the ticket",
    "array lengths differ": "the batch's tickets, signatures and random numbers are not equally many",
    "ticket redemption ran out of gas": "a ticket's redemption ran out of gas: send the batch with more gas",
    "predecessor broker does not answer": "the previous TicketBroker does not answer, so tickets cannot be checked "
    "against it",
    # governance and the protocol's own plumbing (no person's command reaches these, but say them all the same)
    "system is paused": "the protocol is paused by governance: try again once it is unpaused",
    "system is not paused": "the protocol is not paused",
    "caller must be Controller owner": "only the Controller's owner (governance) may do that",
    "controller is null address": "the Controller address is the zero address",
    "caller must be BondingManager": "only the BondingManager may do that",
    "caller must be RoundsManager": "only the RoundsManager may do that",
    "caller must be Verifier": "only the Verifier may slash",
    "caller must be the Minter": "only the Minter may mint LPT",
    "minter is null address": "the Minter address is the zero address",
    "minted tokens cannot exceed mintable": "this reward would mint more LPT than the round allows",
    "inflation must be a valid percentage": "inflation must be between 0% and 100%",
    "inflation change must be a valid percentage": "the inflation change must be between 0% and 100%",
    "target bonding rate must be a valid percentage": "the target bonding rate must be between 0% and 100%",
    "numActiveTranscoders must be greater than 0": "the active set must have room for at least one orchestrator",
    "numActiveTranscoders is over MAX_ACTIVE_TRANSCODERS": "the active set size is over the BondingManager's maximum",
    "numActiveTranscoders must be at least the pool size": "the active set size must be at least the number of "
    "orchestrators in it now",
    "unbondingPeriod is over MAX_UNBONDING_PERIOD": "the unbonding period is over the BondingManager's maximum",
    "slashAmount is over MAX_SLASH_AMOUNT": "the slash amount is over the BondingManager's maximum",
    "finderFee is over MAX_FINDER_FEE": "the finder's fee is over the BondingManager's maximum",
    "unlockPeriod is over MAX_UNLOCK_PERIOD": "the unlock period is over the TicketBroker's maximum",
    "ticketValidityPeriod must be greater than 0": "tickets must be valid for at least one round",
    "ticketValidityPeriod is over MAX_TICKET_VALIDITY_PERIOD": "the ticket validity period is over the "
    "TicketBroker's maximum",
    "id is null address": "the active set cannot hold the zero address",
    "key is zero": "an orchestrator with no stake cannot join the active set",
    "node already in list": "that orchestrator is already in the active set",
    "node not in list": "that orchestrator is not in the active set",
}

#: The custom errors (OpenZeppelin's) the deployed contracts' ABIs declare, in words.
CUSTOM_ERROR_SENTENCES: dict[str, str] = {
    "ERC20InsufficientBalance": "you do not hold that much LPT",
    "ERC20InsufficientAllowance": "the BondingManager may not spend that much of your LPT: approve it first",
    "ERC20InvalidApprover": "LPT cannot be approved from the zero address",
    "ERC20InvalidReceiver": "LPT cannot be sent to that address",
    "ERC20InvalidSender": "LPT cannot be sent from the zero address",
    "ERC20InvalidSpender": "LPT cannot be approved to the zero address",
    "SafeCastOverflowedUintDowncast": "this amount is too large for the contracts to hold",
    "OwnableInvalidOwner": "that owner address is not valid",
    "OwnableUnauthorizedAccount": "only the Controller's owner (governance) may do that",
    "AccessControlBadConfirmation": "governance: the role renouncement was not confirmed by its holder",
    "AccessControlUnauthorizedAccount": "governance: your account does not hold the role this needs",
    "FailedCall": "governance: the scheduled call failed",
    "TimelockInsufficientDelay": "governance: the delay is shorter than the timelock's minimum",
    "TimelockInvalidOperationLength": "governance: the batch's targets, values and payloads are not equally many",
    "TimelockUnauthorizedCaller": "governance: only the timelock itself may do that",
    "TimelockUnexecutedPredecessor": "governance: the operation this one depends on has not been executed",
    "TimelockUnexpectedOperationState": "governance: the operation is not in the state this needs (not ready yet, "
    "or already done)",
}

#: Solidity's panic codes (``Panic(uint256)``) a person may meet, in words.
PANIC_SENTENCES: dict[int, str] = {
    0x01: "a contract's internal check failed",
    0x11: "an amount is out of range: the contract's arithmetic would overflow or underflow",
    0x12: "the contract divided by zero",
    0x32: "the contract read past the end of a list",
}

_REVERT_PREFIX = "execution reverted: "


class CliError(Exception):
    """A failure to tell the person in words (exit code 1)."""


def explain_revert(message: str) -> str:
    """The sentence for a revert message (``execution reverted: <reason>`` or the bare reason); the contract's
    own reason when it is not in the table."""
    reason = message.split(_REVERT_PREFIX, 1)[1] if _REVERT_PREFIX in message else message
    reason = reason.strip()
    if reason in REVERT_SENTENCES:
        return REVERT_SENTENCES[reason]
    for known in sorted(REVERT_SENTENCES, key=len, reverse=True):  # the longest reason that the message quotes
        if known in message:
            return REVERT_SENTENCES[known]
    panic = re.search(r"Panic error 0x([0-9a-fA-F]+)", message)
    if panic:
        code = int(panic.group(1), 16)
        return PANIC_SENTENCES.get(code, f"the contract panicked (code {code:#x})")
    return f"the contract refused: {reason or 'no reason given'}"


def custom_error_selectors(abis: Iterable[list[dict[str, Any]]]) -> dict[str, str]:
    """``0x`` + 4-byte selector → error name, for every custom error the ABIs declare."""
    selectors: dict[str, str] = {}
    for abi in abis:
        for item in abi:
            if item.get("type") == "error":
                types = ",".join(_abi_type(i) for i in item.get("inputs", []))
                selectors["0x" + keccak(text=f"{item['name']}({types})")[:4].hex()] = item["name"]
    return selectors


def explain_custom_error(data: str, selectors: Mapping[str, str]) -> str | None:
    """The sentence for revert data that starts with a known custom error's selector, else None."""
    name = selectors.get(data[:10].lower())
    if name is None:
        return None
    return CUSTOM_ERROR_SENTENCES.get(name, f"the contract refused with {name}")


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + str(item["type"])[5:]
    return str(item["type"])
