"""The local network on Anvil: orchestrators registered with their stake, terms, service URI and price, and
the gateway funded as a ticket sender, so that the stack runs in on-chain mode as the Livepeer network does.

Every write goes through the same bindings and transaction sender the services use, from each stage's own
key; the deployer (Anvil's unlocked first account) only hands out LPT. The economics are local ones, chosen
so that a demo of a few dozen segments wins several tickets: a ticket's expected value is about a third of
a segment's fee, and one ticket in five wins.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from chalicelib.chain.pool_hints import ZERO_ADDRESS, find_hints
from chalicelib.chain.protocol import Protocol
from chalicelib.chain.transactions import TxSender
from devstack.chain import rpc

log = logging.getLogger("devstack.network")

ETH = 10**18
LPT = 10**18
PPM = 1_000_000


@dataclass(frozen=True)
class OrchestratorTerms:
    """What one local orchestrator bonds and asks."""

    stake_lpt: int
    reward_cut_ppm: int
    fee_share_ppm: int
    price_per_unit: int  # wei
    pixels_per_unit: int


#: The local orchestrators' terms, in stage order (cycled for more): different stakes and prices, so that
#: selection by stake and the price filter both show.
DEFAULT_TERMS: tuple[OrchestratorTerms, ...] = (
    OrchestratorTerms(3_000, 100_000, 500_000, 1_200, 1_000),
    OrchestratorTerms(1_000, 200_000, 250_000, 1_500, 1_000),
)
#: Tickets: one in five wins (face value 5x the expected value); about three pay a 2 s segment's ladder.
TICKET_FACE_VALUE_WEI = 250_000_000
TICKET_EV_WEI = 50_000_000
#: The gateway's money in the TicketBroker, and the most it pays per pixel.
GATEWAY_DEPOSIT_WEI = ETH
GATEWAY_RESERVE_WEI = ETH
MAX_PRICE_WEI_PER_PIXEL = "2"


def terms_for(index: int) -> OrchestratorTerms:
    """The terms of the ``index``-th orchestrator stage."""
    return DEFAULT_TERMS[index % len(DEFAULT_TERMS)]


def orchestrator_env(index: int) -> dict[str, str]:
    """The on-chain settings of the ``index``-th orchestrator stage (its price and tickets)."""
    terms = terms_for(index)
    return {
        "LP_PRICE_PER_UNIT": str(terms.price_per_unit),
        "LP_PIXELS_PER_UNIT": str(terms.pixels_per_unit),
        "LP_TICKET_FACE_VALUE_WEI": str(TICKET_FACE_VALUE_WEI),
        "LP_TICKET_EV_WEI": str(TICKET_EV_WEI),
    }


def bootstrap(url: str, deployment_file: Path, orchestrators: Sequence[tuple[str, str]], gateway_key: str) -> int:
    """Register each (private key, service URI) as an orchestrator and fund the gateway; return the round in
    which they are all active (the next one, which this starts and initializes).

    Run it while Anvil mines a block per transaction: it starts a fresh round first, so that its writes all
    land before the round's locked tail, then starts the next round, in which the orchestrators are active.
    """
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    protocol = Protocol.from_file(w3, deployment_file)
    deployer = protocol.deployment.deployer
    token = protocol.contract("LivepeerToken")
    registry = protocol.contract("ServiceRegistry")
    for key in [gateway_key, *(k for k, _ in orchestrators)]:
        rpc(url, "anvil_setBalance", Account.from_key(key).address, hex(100 * ETH))
    gateway = TxSender(w3, Account.from_key(gateway_key), poll_s=0.01)
    _start_next_round(url, protocol, gateway)
    for index, (key, service_uri) in enumerate(orchestrators):
        terms = terms_for(index)
        account = Account.from_key(key)
        tx = TxSender(w3, account, poll_s=0.01)
        stake = terms.stake_lpt * LPT
        w3.eth.wait_for_transaction_receipt(
            token.functions.transfer(account.address, stake).transact({"from": deployer}), poll_latency=0.01
        )
        tx.send(token.functions.approve(protocol.bonding.address, stake))
        prev, nxt = find_hints(protocol.transcoder_pool(), account.address, stake)
        tx.send(protocol.bonding.functions.bondWithHint(stake, account.address, ZERO_ADDRESS, ZERO_ADDRESS, prev, nxt))
        tx.send(protocol.bonding.functions.transcoder(terms.reward_cut_ppm, terms.fee_share_ppm))
        tx.send(registry.functions.setServiceURI(service_uri))
        tx.send(registry.functions.setPrice(terms.price_per_unit, terms.pixels_per_unit))
        log.info("orchestrator %s registered: %d LPT at %s", account.address, terms.stake_lpt, service_uri)
    total = GATEWAY_DEPOSIT_WEI + GATEWAY_RESERVE_WEI
    gateway.send(protocol.broker.functions.fundDepositAndReserve(GATEWAY_DEPOSIT_WEI, GATEWAY_RESERVE_WEI), total)
    # Registered this round, active from the next: start it now rather than wait out a round of blocks.
    return _start_next_round(url, protocol, gateway)


def _start_next_round(url: str, protocol: Protocol, sender: TxSender) -> int:
    rounds = protocol.rounds
    length = int(rounds.functions.roundLength().call())
    start = int(rounds.functions.currentRoundStartBlock().call())
    rpc(url, "anvil_mine", hex(max(start + length - protocol.w3.eth.block_number, 1)))
    sender.send(protocol.initialize_round())
    return protocol.current_round()
