"""RoundsManager, Minter, Controller, LivepeerToken and ServiceRegistry."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from .conftest import LPT, Chain, reverts

PERC = 1_000_000_000


# ------------------------------------------------------------------------------------------------ rounds


def test_initialize_round_records_the_previous_block_hash_once_per_round(chain: Chain) -> None:
    chain.next_round(initialize=False)
    r = chain.current_round()
    assert not chain.rounds.functions.currentRoundInitialized().call()
    receipt = chain.tx(chain.rounds.functions.initializeRound(), chain.new_account().address)
    expected = chain.w3.eth.get_block(receipt["blockNumber"] - 1)["hash"]
    (ev,) = chain.rounds.events.NewRound().process_receipt(receipt, errors=DISCARD)
    assert (ev.args.round, ev.args.blockHash) == (r, expected)
    assert chain.rounds.functions.blockHashForRound(r).call() == expected
    assert chain.rounds.functions.currentRoundInitialized().call()
    assert chain.rounds.functions.lastInitializedRound().call() == r
    with reverts("round already initialized"):
        chain.tx(chain.rounds.functions.initializeRound(), chain.owner)


def test_last_tenth_of_a_round_is_locked(chain: Chain) -> None:
    chain.next_round()
    assert not chain.rounds.functions.currentRoundLocked().call()
    length = chain.rounds.functions.roundLength().call()
    start = chain.rounds.functions.currentRoundStartBlock().call()
    chain.mine(start + length - length // 10 - 1 - chain.w3.eth.block_number)  # last unlocked block
    assert not chain.rounds.functions.currentRoundLocked().call()
    chain.mine(1)
    assert chain.rounds.functions.currentRoundLocked().call()


def test_round_length_change_keeps_the_round_number_continuous(chain: Chain) -> None:
    r = chain.current_round()
    chain.govern(chain.rounds.functions.setRoundLength(50))
    assert chain.current_round() == r
    assert chain.next_round() == r + 1
    assert chain.rounds.functions.roundLength().call() == 50


def test_reverts_when_rounds_parameters_are_wrong_or_set_by_others(chain: Chain) -> None:
    with reverts("caller must be Controller owner"):
        chain.tx(chain.rounds.functions.setRoundLength(10), chain.new_account().address)
    with reverts("round length cannot be 0"):
        chain.govern(chain.rounds.functions.setRoundLength(0))
    with reverts("round lock amount must be a valid percentage"):
        chain.govern(chain.rounds.functions.setRoundLockAmount(1_000_001))
    chain.next_round(initialize=False)
    with reverts("current round is not initialized"):
        chain.govern(chain.rounds.functions.setRoundLength(10))


def test_reverts_when_initialize_round_while_paused(chain: Chain) -> None:
    chain.next_round(initialize=False)
    chain.govern(chain.controller.functions.pause())
    with reverts("system is paused"):
        chain.tx(chain.rounds.functions.initializeRound(), chain.owner)


# ------------------------------------------------------------------------------------------------ minter


def test_inflation_rises_while_bonded_share_is_below_target(chain: Chain) -> None:
    chain.register(1000 * LPT)  # 0.01% bonded: far below 50%
    before = chain.minter.functions.inflation().call()
    chain.next_round()
    after = chain.minter.functions.inflation().call()
    assert after == before + 500
    supply = chain.token.functions.totalSupply().call()
    assert chain.minter.functions.currentMintableTokens().call() == supply * after // PERC
    assert chain.minter.functions.currentMintedTokens().call() == 0


def test_inflation_falls_while_bonded_share_is_above_target(chain: Chain) -> None:
    supply = chain.token.functions.totalSupply().call()
    chain.register(supply * 6 // 10)  # 60% bonded
    chain.next_round()  # snapshot counts it from this round on
    before = chain.minter.functions.inflation().call()
    chain.next_round()
    assert chain.minter.functions.inflation().call() == before - 500


def test_reverts_when_minter_is_called_by_others(chain: Chain) -> None:
    x = chain.new_account().address
    with reverts("caller must be RoundsManager"):
        chain.tx(chain.minter.functions.setCurrentRewardTokens(), x)
    with reverts("caller must be BondingManager"):
        chain.tx(chain.minter.functions.createReward(1, 1), x)
    with reverts("caller must be BondingManager"):
        chain.tx(chain.minter.functions.trustedTransferTokens(x, 1), x)
    with reverts("caller must be BondingManager"):
        chain.tx(chain.minter.functions.trustedBurnTokens(1), x)
    with reverts("caller must be BondingManager"):
        chain.tx(chain.minter.functions.trustedWithdrawETH(x, 1), x)
    with reverts("caller must be BondingManager"):  # the TicketBroker no longer pays anyone from the Minter
        chain.tx(chain.minter.functions.trustedWithdrawETH(x, 1), chain.broker.address)
    with reverts("caller must be Controller owner"):
        chain.tx(chain.minter.functions.setInflationChange(1), x)
    with reverts("target bonding rate must be a valid percentage"):
        chain.govern(chain.minter.functions.setTargetBondingRate(PERC + 1))
    chain.govern(chain.minter.functions.setTargetBondingRate(PERC // 3))
    assert chain.minter.functions.targetBondingRate().call() == PERC // 3


# ------------------------------------------------------------------------------------------------ controller, token


def test_controller_registers_contracts_and_only_its_owner_may(chain: Chain) -> None:
    key = b"\x01" * 32
    x = chain.new_account().address
    chain.govern(chain.controller.functions.setContractInfo(key, x))
    assert chain.controller.functions.getContract(key).call() == x
    for caller in (x, chain.owner):  # a stranger, and the deployer: only Governance owns the Controller
        with pytest.raises(ContractCustomError):
            chain.tx(chain.controller.functions.setContractInfo(key, x), caller)
        with pytest.raises(ContractCustomError):
            chain.tx(chain.controller.functions.pause(), caller)
    chain.govern(chain.controller.functions.pause())
    with reverts("system is paused"):
        chain.govern(chain.controller.functions.pause())
    with reverts("system is paused"):
        chain.controller.functions.getContractsWhenNotPaused(key, key).call()
    chain.govern(chain.controller.functions.unpause())
    with reverts("system is not paused"):
        chain.govern(chain.controller.functions.unpause())
    assert chain.controller.functions.getContractsWhenNotPaused(key, b"\x02" * 32).call() == [x, "0x" + "00" * 20]


def test_only_the_minter_can_ever_mint(chain: Chain) -> None:
    assert chain.token.functions.minter().call() == chain.minter.address
    for caller in (chain.owner, chain.governance.address, chain.bonding.address):
        with reverts("caller must be the Minter"):
            chain.tx(chain.token.functions.mint(caller, 1), caller)
    assert {i["name"] for i in chain.token.abi if i["type"] == "function"}.isdisjoint(
        {"grantRole", "revokeRole", "renounceRole", "transferOwnership"}
    )
    supply = chain.token.functions.totalSupply().call()
    chain.tx(chain.token.functions.burn(LPT), chain.owner)
    assert chain.token.functions.totalSupply().call() == supply - LPT


# ------------------------------------------------------------------------------------------------ service registry


def test_service_uri_is_published_with_an_event(chain: Chain) -> None:
    o = chain.new_account()
    receipt = chain.tx(chain.registry.functions.setServiceURI("https://o1.example:8935"), o.address)
    (ev,) = chain.registry.events.ServiceURIUpdate().process_receipt(receipt)
    assert (ev.args.addr, ev.args.serviceURI) == (o.address, "https://o1.example:8935")
    assert chain.registry.functions.getServiceURI(o.address).call() == "https://o1.example:8935"
    assert chain.registry.functions.getServiceURI(chain.owner).call() == ""
    with reverts("service URI is too long"):
        chain.tx(chain.registry.functions.setServiceURI("x" * 513), o.address)
    chain.govern(chain.controller.functions.pause())
    with reverts("system is paused"):
        chain.tx(chain.registry.functions.setServiceURI("https://o2.example"), o.address)


def test_a_price_is_advertised_per_orchestrator_with_an_event(chain: Chain) -> None:
    o = chain.new_account()
    assert chain.registry.functions.getPrice(o.address).call() == [0, 0]
    receipt = chain.tx(chain.registry.functions.setPrice(1200, 1000), o.address)
    (ev,) = chain.registry.events.PriceUpdate().process_receipt(receipt)
    assert (ev.args.addr, ev.args.pricePerUnit, ev.args.pixelsPerUnit) == (o.address, 1200, 1000)
    assert chain.registry.functions.getPrice(o.address).call() == [1200, 1000]
    assert chain.registry.functions.getPrice(chain.owner).call() == [0, 0]
    with reverts("pixelsPerUnit must be positive"):
        chain.tx(chain.registry.functions.setPrice(1, 0), o.address)
    with reverts("price out of range"):
        chain.tx(chain.registry.functions.setPrice(2**128, 1), o.address)


def test_the_deployment_round_is_initialized_at_deployment(chain: Chain) -> None:
    from chalicelib.chain.deployment import ProtocolParams
    from contracts.deploy import deploy

    params = ProtocolParams.model_validate({**chain.deployment.params.model_dump(), "round_length": 10_000})
    fresh = deploy(chain.w3, chain.owner, params)
    rounds = chain.w3.eth.contract(address=fresh.address("RoundsManager"), abi=fresh.contracts["RoundsManager"].abi)
    r = rounds.functions.currentRound().call()
    assert rounds.functions.currentRoundInitialized().call()
    assert rounds.functions.blockHashForRound(r).call() != b"\x00" * 32
    with reverts("round already initialized"):
        chain.tx(rounds.functions.initializeRound(), chain.owner)


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("BondingManager", ("0x" + "00" * 20, 7, 10, 0, 0), "controller is null address"),
        ("BondingManager", (None, 7, 0, 0, 0), "numActiveTranscoders must be greater than 0"),
        ("BondingManager", (None, 101, 10, 0, 0), "unbondingPeriod is over MAX_UNBONDING_PERIOD"),
        ("BondingManager", (None, 7, 1001, 0, 0), "numActiveTranscoders is over MAX_ACTIVE_TRANSCODERS"),
        ("BondingManager", (None, 7, 10, 250_001, 0), "slashAmount is over MAX_SLASH_AMOUNT"),
        ("BondingManager", (None, 7, 10, 0, 500_001), "finderFee is over MAX_FINDER_FEE"),
        ("RoundsManager", (None, 1_000_001, 0), "round length is over MAX_ROUND_LENGTH"),
        ("TicketBroker", (None, 101, 2, "0x" + "00" * 20), "unlockPeriod is over MAX_UNLOCK_PERIOD"),
        ("TicketBroker", (None, 2, 101, "0x" + "00" * 20), "ticketValidityPeriod is over MAX_TICKET_VALIDITY_PERIOD"),
        ("LivepeerToken", ("0x" + "00" * 20, "0x" + "00" * 20, 0), "minter is null address"),
        ("Minter", (None, 10**9 + 1, 0, 0), "inflation must be a valid percentage"),
        ("Minter", (None, 0, 10**9 + 1, 0), "inflation change must be a valid percentage"),
        ("RoundsManager", (None, 0, 0), "round length cannot be 0"),
        ("TicketBroker", (None, 2, 0, "0x" + "00" * 20), "ticketValidityPeriod must be greater than 0"),
    ],
)
def test_reverts_when_constructor_parameters_are_invalid(
    chain: Chain, name: str, args: tuple[object, ...], reason: str
) -> None:
    from contracts.deploy import link, load_artifact

    artifact = load_artifact(name)
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=link(artifact, chain.deployment.libraries))
    args = tuple(chain.controller.address if a is None else a for a in args)
    with reverts(reason):
        factory.constructor(*args).transact({"from": chain.owner})
