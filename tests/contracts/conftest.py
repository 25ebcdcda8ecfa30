"""One real Anvil per test session, the protocol deployed on it once, and a snapshot reverted after each test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from eth_abi import decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.abi import get_abi_output_types
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from chalicelib.chain.deployment import Deployment, ProtocolParams
from chalicelib.chain.governance import timelocked
from chalicelib.chain.tickets import Ticket, recipient_rand_hash, sign_ticket
from contracts.deploy import DEFAULT_PARAMS, deploy
from devstack.chain import anvil, anvil_binary, build_contracts

LPT = 10**18
ETH = 10**18

# Small rounds so tests move through them quickly; a small active set so eviction is cheap to reach.
TEST_PARAMS = ProtocolParams.load(DEFAULT_PARAMS).model_copy(
    update={"round_length": 200, "num_active_transcoders": 10, "initial_supply": 10_000_000 * LPT}
)


def reverts(reason: str) -> pytest.RaisesExc[ContractLogicError]:
    """Expect a contract call to revert with ``reason`` (a regular expression)."""
    return pytest.raises(ContractLogicError, match=reason)


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """Start Anvil from node_modules on a free port; stop it at the end of the session."""
    try:
        anvil_binary()
    except RuntimeError as err:  # not installed
        pytest.skip(str(err))
    # Build from source every session: a no-op when the sources' hash is unchanged, and a compiler warning
    # fails the session, so `make test` never runs stale artifacts.
    try:
        build_contracts()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    with anvil(["--auto-impersonate", "--accounts", "10"]) as url:
        yield url


@dataclass(repr=False)
class Chain:
    """The deployed protocol plus the helpers tests use to move it along."""

    def __repr__(self) -> str:  # hypothesis prints arguments; the ABIs would fill the screen
        return f"Chain(chain_id={self.deployment.chain_id})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    w3: Web3
    deployment: Deployment
    owner: ChecksumAddress
    controller: Contract
    token: Contract
    minter: Contract
    rounds: Contract
    bonding: Contract
    broker: Contract
    registry: Contract
    governance: Contract
    _salt: int = 0
    _http: requests.Session = field(default_factory=requests.Session)

    # -- chain control
    def rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(response["error"])
        return response["result"]

    def views(self, *calls: Any) -> list[Any]:
        """Many view calls (``contract.functions.f(args)``) in one JSON-RPC batch, each answered as ``.call()``
        would. web3's per-call formatting costs some 4 ms of Python a call, ten times Anvil's answer: tests that
        read every account after every step read through here."""
        batch = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_call",
                "params": [{"to": call.address, "data": call._encode_transaction_data()}, "latest"],
            }
            for i, call in enumerate(calls)
        ]
        uri = str(self.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
        answers = {a["id"]: a for a in self._http.post(uri, json=batch, timeout=60).json()}
        results = []
        for i, call in enumerate(calls):
            if "error" in answers[i]:
                raise RuntimeError(f"{call.fn_name}: {answers[i]['error']}")
            types = get_abi_output_types(call.abi)
            values = [
                Web3.to_checksum_address(v) if t == "address" else v
                for t, v in zip(types, decode(types, bytes.fromhex(answers[i]["result"][2:])), strict=True)
            ]
            results.append(values[0] if len(values) == 1 else values)
        return results

    def view(self, call: Any) -> Any:
        """One view call, answered as ``.call()`` would, without web3's formatting (see ``views``)."""
        return self.views(call)[0]

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Revert everything done inside (hypothesis examples share one session chain)."""
        snapshot = self.rpc("evm_snapshot", [])
        try:
            yield
        finally:
            assert self.rpc("evm_revert", [snapshot]) is True

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def current_round(self) -> int:
        return int(self.view(self.rounds.functions.currentRound()))

    def next_round(self, initialize: bool = True) -> int:
        """Mine to the start of the next round and (by default) initialize it."""
        length = int(self.rounds.functions.roundLength().call())
        start = int(self.rounds.functions.currentRoundStartBlock().call())
        self.mine(start + length - self.w3.eth.block_number)
        if initialize:
            self.tx(self.rounds.functions.initializeRound(), self.owner)
        return self.current_round()

    def mine_into_lock(self) -> None:
        length = int(self.rounds.functions.roundLength().call())
        start = int(self.rounds.functions.currentRoundStartBlock().call())
        self.mine(start + length - 1 - self.w3.eth.block_number)

    # -- governance: the Controller's owner is the timelock; the deployer (``owner``) proposes
    def govern(self, fn: Any) -> Any:
        """Schedule ``fn`` (an owner-only call) through Governance, wait out its delay, execute it."""
        self._salt += 1
        call = timelocked(self.governance, fn, self._salt.to_bytes(32, "big"))
        self.tx(call.schedule, self.owner)
        self.rpc("evm_increaseTime", [call.delay])
        self.mine()
        return self.tx(call.execute, self.owner)

    def set_verifier(self, verifier: str) -> None:
        """Register ``verifier`` as the Verifier (slashing is off until one is registered)."""
        self.govern(self.controller.functions.setContractInfo(Web3.keccak(text="Verifier"), verifier))

    # -- transactions
    def tx(self, fn: Any, sender: str, value: int = 0) -> Any:
        # Anvil mines at once: poll for the receipt every 2 ms, not web3's default 100 ms
        receipt = self.w3.eth.wait_for_transaction_receipt(
            fn.transact({"from": sender, "value": value}), poll_latency=0.002
        )
        assert receipt["status"] == 1
        return receipt

    def new_account(self, eth: int = 100 * ETH, lpt: int = 0) -> LocalAccount:
        """A fresh key with ETH (and LPT, approved to the BondingManager); Anvil impersonates any address."""
        account: LocalAccount = Account.create()
        self.rpc("anvil_setBalance", [account.address, hex(eth)])
        if lpt:
            self.tx(self.token.functions.transfer(account.address, lpt), self.owner)
            self.tx(self.token.functions.approve(self.bonding.address, 2**256 - 1), account.address)
        return account

    # -- protocol reads
    def stake(self, who: str) -> int:
        """``who``'s bonded stake now, rewards and pending stake included."""
        return int(self.bonding.functions.pendingStake(who).call())

    def fees(self, who: str) -> int:
        """``who``'s withdrawable fees now."""
        return int(self.bonding.functions.pendingFees(who).call())

    def pool_shares(self, orchestrator: str) -> int:
        """All the shares of ``orchestrator``'s pool: its delegators' and the unowned ones every pool holds."""
        return int(self.bonding.functions.getTranscoder(orchestrator).call()[1])

    def shares(self, who: str) -> int:
        """``who``'s shares of its delegate's pool (its pending stake converted, if its round is over)."""
        return int(self.bonding.functions.getDelegator(who).call()[2])

    # -- protocol shortcuts
    def delegate(self, delegator: LocalAccount, orchestrator: str, amount: int) -> None:
        """``delegator`` bonds ``amount`` to ``orchestrator``."""
        self.tx(self.bonding.functions.bond(amount, orchestrator), delegator.address)

    def seasoned_pool(
        self, own: int, delegated: int, reward_cut: int = 0, fee_share: int = 0
    ) -> tuple[LocalAccount, LocalAccount]:
        """An orchestrator and a delegator of it, both bonded since before the current round began."""
        o = self.register(own, reward_cut, fee_share)
        d = self.new_account(lpt=delegated)
        self.delegate(d, o.address, delegated)
        self.next_round()
        self.next_round()
        return o, d

    def active_orchestrator(self, stake: int, reward_cut: int = 0, fee_share: int = 0) -> LocalAccount:
        """A new orchestrator, active from the round this moves to (tickets pay active orchestrators only)."""
        o = self.register(stake, reward_cut, fee_share)
        self.next_round()
        return o

    def register(self, stake: int, reward_cut: int = 0, fee_share: int = 0) -> LocalAccount:
        """A new orchestrator: self-bonded with ``stake`` and its terms set."""
        o = self.new_account(lpt=stake)
        self.tx(self.bonding.functions.bond(stake, o.address), o.address)
        self.tx(self.bonding.functions.transcoder(reward_cut, fee_share), o.address)
        return o

    def round_aux(self, round_: int | None = None) -> tuple[int, bytes]:
        r = self.current_round() if round_ is None else round_
        return r, bytes(self.rounds.functions.blockHashForRound(r).call())

    def make_ticket(
        self,
        sender: LocalAccount,
        recipient: str,
        face_value: int,
        *,
        win_prob: int = 2**256 - 1,
        nonce: int = 1,
        rand: int = 12345,
        creation_round: int | None = None,
    ) -> tuple[Ticket, bytes, int]:
        """A signed ticket (winning by default: winProb = max) and its recipientRand."""
        r, block_hash = self.round_aux(creation_round)
        ticket = Ticket(
            recipient=recipient,
            sender=sender.address,
            face_value=face_value,
            win_prob=win_prob,
            sender_nonce=nonce,
            recipient_rand_hash=recipient_rand_hash(rand),
            creation_round=r,
            creation_round_block_hash=block_hash,
        )
        return ticket, sign_ticket(ticket, sender.key), rand

    def redeem(self, ticket: Ticket, sig: bytes, rand: int, sender: str | None = None) -> Any:
        fn = self.broker.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand)
        return self.tx(fn, sender or ticket.recipient)


@pytest.fixture(scope="session")
def chain_session(anvil_url: str) -> Chain:
    """Deploy once per session and start in round 1, initialized."""
    w3 = Web3(Web3.HTTPProvider(anvil_url, request_kwargs={"timeout": 60}))
    owner = w3.eth.accounts[0]
    deployment = deploy(w3, owner, TEST_PARAMS)

    def c(name: str) -> Contract:
        contract: Contract = w3.eth.contract(address=deployment.address(name), abi=deployment.contracts[name].abi)
        return contract

    chain = Chain(
        w3=w3,
        deployment=deployment,
        owner=owner,
        controller=c("Controller"),
        token=c("LivepeerToken"),
        minter=c("Minter"),
        rounds=c("RoundsManager"),
        bonding=c("BondingManager"),
        broker=c("TicketBroker"),
        registry=c("ServiceRegistry"),
        governance=c("Governance"),
    )
    chain.next_round()
    return chain


@pytest.fixture
def chain(chain_session: Chain) -> Iterator[Chain]:
    """The session's chain, reverted to its starting snapshot after the test."""
    snapshot = chain_session.rpc("evm_snapshot", [])
    try:
        yield chain_session
    finally:
        assert chain_session.rpc("evm_revert", [snapshot]) is True
