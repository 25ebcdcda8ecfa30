"""The deployment script's CLI and file, and the typed Python bindings every service uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import ContractLogicError

from chalicelib.chain.deployment import CONTRACT_NAMES, GOVERNANCE, Deployment
from chalicelib.chain.pool_hints import ZERO_ADDRESS, find_hints
from chalicelib.chain.protocol import Protocol, revert_code
from contracts.deploy import main as deploy_main

from .conftest import ETH, LPT, Chain

A, B, C, D = (ChecksumAddress(Web3.to_checksum_address(f"0x{n:040x}")) for n in (1, 2, 3, 4))  # type: ignore[arg-type]


def test_find_hints_places_inserts_and_moves() -> None:
    pool = [(A, 300), (B, 200), (C, 100)]
    assert find_hints(pool, D, 400) == (ZERO_ADDRESS, A)
    assert find_hints(pool, D, 250) == (A, B)
    assert find_hints(pool, D, 200) == (B, C)  # ties go after existing members
    assert find_hints(pool, D, 50) == (C, ZERO_ADDRESS)
    assert find_hints(pool, C, 250) == (A, B)  # a move skips the member itself
    assert find_hints([], D, 1) == (ZERO_ADDRESS, ZERO_ADDRESS)


def test_deploy_command_writes_a_loadable_deployment(
    chain: Chain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    out = tmp_path / "deployment.json"
    assert deploy_main(["--rpc", url, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "TicketBroker" in printed
    deployment = Deployment.load(out)
    assert set(deployment.contracts) == {*CONTRACT_NAMES, GOVERNANCE}
    protocol = Protocol(chain.w3, deployment)
    controller = protocol.contract("Controller")
    for name in CONTRACT_NAMES[1:]:
        assert controller.functions.getContract(Web3.keccak(text=name)).call() == deployment.address(name)
    assert controller.functions.getContract(Web3.keccak(text="Verifier")).call() == ZERO_ADDRESS == deployment.verifier
    assert controller.functions.owner().call() == deployment.address(GOVERNANCE)
    assert set(deployment.libraries) == {"SortedDoublyLL", "PoolAccounting"}
    assert deployment.params.round_length == 50  # contracts/protocol.json


def test_deploy_command_explains_a_missing_node(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_main(["--rpc", "http://127.0.0.1:9"]) == 1
    assert "no Ethereum node answers" in capsys.readouterr().err


def test_bindings_read_rounds_funds_pool_and_fees(chain: Chain) -> None:
    p = Protocol(chain.w3, chain.deployment)
    o = chain.register(1000 * LPT, fee_share=0)
    chain.register(2000 * LPT)
    chain.next_round()  # both active: tickets pay active orchestrators only
    assert p.current_round() == chain.current_round() and p.current_round_initialized()
    assert p.round_block_hash(p.current_round()) == chain.round_aux()[1]
    pool = p.transcoder_pool()
    assert [stake for _, stake in pool] == [2000 * LPT, 1000 * LPT]
    assert p.transcoder(o.address).total_stake == 1000 * LPT
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDepositAndReserve(ETH, 2 * ETH), s.address, value=3 * ETH)
    assert p.sender_info(s.address).deposit == ETH and p.sender_info(s.address).reserve == 2 * ETH
    ticket, sig, rand = chain.make_ticket(s, o.address, 10**15)
    chain.tx(p.redeem_winning_ticket(ticket, sig, rand), o.address)
    assert p.ticket_used(ticket.hash()) and p.pending_fees(o.address) == 10**15
    with pytest.raises(ContractLogicError) as refused:
        chain.tx(p.redeem_winning_ticket(ticket, sig, rand), o.address)
    assert revert_code(str(refused.value)) == "ticket_replayed"
    t2, sig2, rand2 = chain.make_ticket(s, o.address, 10**15, nonce=2)
    chain.tx(p.batch_redeem_winning_tickets([(t2, sig2, rand2)]), o.address)
    assert p.pending_fees(o.address) == 2 * 10**15
    assert p.is_active_transcoder(o.address)
    chain.tx(p.reward(o.address), o.address)
    assert p.transcoder(o.address).last_reward_round == p.current_round()
    chain.tx(chain.registry.functions.setServiceURI("https://o.example"), o.address)
    assert p.service_uri(o.address) == "https://o.example"


def test_deploy_command_signs_with_deployer_private_key(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from eth_account import Account

    key = Account.create()
    chain.rpc("anvil_setBalance", [key.address, hex(100 * ETH)])
    monkeypatch.setenv("DEPLOYER_PRIVATE_KEY", key.key.hex())
    url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    out = tmp_path / "signed.json"
    assert deploy_main(["--rpc", url, "--out", str(out)]) == 0
    deployment = Deployment.load(out)
    assert deployment.deployer == key.address
    protocol = Protocol(chain.w3, deployment)
    governance = protocol.contract(GOVERNANCE)
    assert protocol.contract("Controller").functions.owner().call() == governance.address
    proposer = governance.functions.PROPOSER_ROLE().call()
    assert governance.functions.hasRole(proposer, key.address).call()  # the deployer proposes, and waits like anyone
    admin = governance.functions.DEFAULT_ADMIN_ROLE().call()
    assert not governance.functions.hasRole(admin, key.address).call()
    assert key.address in capsys.readouterr().out


def test_events_are_decoded_in_chain_order_with_stable_keys(chain: Chain) -> None:
    from chalicelib.chain.events import fetch_events

    p = Protocol(chain.w3, chain.deployment)
    start = chain.w3.eth.block_number + 1
    o = chain.register(1000 * LPT, fee_share=100_000)
    chain.next_round()
    s = chain.new_account()
    chain.tx(chain.broker.functions.fundDeposit(), s.address, value=ETH)
    ticket, sig, rand = chain.make_ticket(s, o.address, 10**15)
    chain.redeem(ticket, sig, rand)
    events = fetch_events(p, start, chain.w3.eth.block_number)
    names = [(e.contract, e.event) for e in events]
    for expected in [
        ("BondingManager", "TranscoderActivated"),
        ("BondingManager", "StakeUpdate"),
        ("BondingManager", "Bond"),
        ("BondingManager", "TranscoderUpdate"),
        ("TicketBroker", "DepositFunded"),
        ("TicketBroker", "WinningTicketRedeemed"),
    ]:
        assert expected in names
    assert names.index(("BondingManager", "Bond")) < names.index(("TicketBroker", "WinningTicketRedeemed"))
    redeemed = next(e for e in events if e.event == "WinningTicketRedeemed")
    assert redeemed.args["ticketHash"] == "0x" + ticket.hash().hex()
    assert redeemed.args["faceValue"] == 10**15 and redeemed.args["recipient"] == o.address
    assert len({e.key for e in events}) == len(events)
    assert fetch_events(p, start, chain.w3.eth.block_number) == events  # same logs, same keys
