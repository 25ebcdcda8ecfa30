"""`lp`, the network's command line, run for real (typer's CliRunner in process, and once as a subprocess) against
the protocol deployed on Anvil: what it sends is what the chain then holds, and every refusal comes back in words
with exit code 1 and no traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner, Result

from lpcli.app import app
from lpcli.errors import CUSTOM_ERROR_SENTENCES, REVERT_SENTENCES, explain_revert

from .conftest import ETH, LPT, Chain

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "contracts" / "src"
ARTIFACTS = ROOT / "contracts" / "build"

# A require with a reason (across lines: `[^;]` spans them), a revert with one, and every require at all.
_REQUIRE_REASON = re.compile(r'\b(?:require\s*\([^;]*?,|revert\s*\()\s*"((?:[^"\\]|\\.)*)"\s*\)\s*;', re.S)
_REQUIRE = re.compile(r"\brequire\s*\(")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


# ------------------------------------------------------------------------------------------------ the table


def _contract_sources() -> list[str]:
    return [_COMMENT.sub("", path.read_text()) for path in sorted(SOURCES.rglob("*.sol"))]


def test_every_require_in_the_contracts_has_a_reason_and_a_sentence() -> None:
    sources = _contract_sources()
    reasons = {m.group(1) for text in sources for m in _REQUIRE_REASON.finditer(text)}
    with_reason = sum(1 for text in sources for m in _REQUIRE_REASON.finditer(text) if m.group(0).startswith("req"))
    assert with_reason == sum(len(_REQUIRE.findall(text)) for text in sources), "a require without a reason string"
    assert sorted(reasons - set(REVERT_SENTENCES)) == [], "revert reasons with no sentence in lpcli/errors.py"
    assert sorted(set(REVERT_SENTENCES) - reasons) == [], "sentences for reasons the contracts no longer give"


def test_every_custom_error_in_the_built_abis_has_a_sentence() -> None:
    names = {
        item["name"]
        for path in ARTIFACTS.glob("*.json")
        for item in json.loads(path.read_text()).get("abi", [])
        if item.get("type") == "error"
    }
    if not names:
        pytest.skip("contracts not built")
    assert sorted(names - set(CUSTOM_ERROR_SENTENCES)) == []


def test_a_revert_message_becomes_its_sentence_and_an_unknown_one_keeps_its_reason() -> None:
    assert explain_revert("execution reverted: current round is not initialized") == (
        "the current round is not initialized yet: run `lp round initialize`"
    )
    assert explain_revert("execution reverted: caller must be unbonded") == REVERT_SENTENCES["caller must be unbonded"]
    assert explain_revert("execution reverted: something new") == "the contract refused: something new"


# ------------------------------------------------------------------------------------------------ running lp


@dataclass
class Lp:
    """Runs ``lp`` against the test chain, signing as ``key`` when given."""

    chain: Chain
    deployment: Path
    runner: CliRunner = field(default_factory=CliRunner)

    def env(self, key: LocalAccount | None) -> dict[str, str | None]:
        rpc = self.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        return {
            "LP_ETH_RPC_URL": str(rpc),
            "LP_DEPLOYMENT_FILE": str(self.deployment),
            "LP_ETH_PRIVATE_KEY": "0x" + key.key.hex() if key else None,
            "LP_STAGE": None,  # the chain alone, unless a test names a stage
            "COLUMNS": "200",
        }

    def run(self, *args: str, key: LocalAccount | None = None, env: dict[str, str | None] | None = None) -> Result:
        return self.runner.invoke(app, list(args), env={**self.env(key), **(env or {})})

    def ok(self, *args: str, key: LocalAccount | None = None) -> Result:
        result = self.run(*args, key=key)
        assert result.exit_code == 0, f"lp {' '.join(args)}: {result.output}"
        return result

    def fails(self, *args: str, key: LocalAccount | None = None, env: dict[str, str | None] | None = None) -> str:
        """Run a command that must fail with a sentence (exit 1, no traceback); return the sentence."""
        result = self.run(*args, key=key, env=env)
        assert result.exit_code == 1, f"lp {' '.join(args)} exited {result.exit_code}: {result.output}"
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)  # an explained exit, no crash
        assert "error:" in result.stderr
        return " ".join(result.stderr.split())

    def status(self, account: str | None = None) -> dict[str, Any]:
        args = ["status", "--json"] + (["--account", account] if account else [])
        report: dict[str, Any] = json.loads(self.ok(*args).stdout)
        return report


@pytest.fixture
def lp(chain: Chain, tmp_path: Path) -> Iterator[Lp]:
    deployment = chain.deployment.save(tmp_path / "deployment.json")
    yield Lp(chain, deployment)


def _holder(chain: Chain, lpt: int = 0) -> LocalAccount:
    """A fresh key with ETH and ``lpt`` LPT, and no approval (so lp's own approve step runs)."""
    account = chain.new_account()
    if lpt:
        chain.tx(chain.token.functions.transfer(account.address, lpt), chain.owner)
    return account


def _register(lp: Lp, who: LocalAccount, stake: str = "1000LPT") -> None:
    lp.ok("orchestrator", "register", "--stake", stake, "--reward-cut", "10%", "--fee-share", "50%",
          "--service-uri", "https://orch.example:8935", "--price", "1200wei/1000px", key=who)  # fmt: skip


# ------------------------------------------------------------------------------------------------ commands


def test_register_delegate_and_deposit_then_status_shows_what_the_chain_holds(lp: Lp, chain: Chain) -> None:
    o = _holder(chain, 1500 * LPT)
    _register(lp, o)
    assert chain.stake(o.address) == 1000 * LPT
    assert chain.bonding.functions.getTranscoderTerms(o.address).call()[2:] == [100_000, 500_000]
    assert chain.registry.functions.getServiceURI(o.address).call() == "https://orch.example:8935"
    assert chain.registry.functions.getPrice(o.address).call() == [1200, 1000]

    nonce = chain.w3.eth.get_transaction_count(o.address)
    again = lp.ok("orchestrator", "register", "--stake", "1000LPT", "--reward-cut", "10%", "--fee-share", "50%",
                  "--service-uri", "https://orch.example:8935", "--price", "1200wei/1000px", key=o)  # fmt: skip
    assert chain.w3.eth.get_transaction_count(o.address) == nonce, "a second register sends nothing"
    assert again.stdout.count("already") == 4  # stake, terms, URI, price

    d = _holder(chain, 300 * LPT)
    bonded = lp.ok("delegator", "bond", "250LPT", o.address, key=d)
    assert re.search(r"bond 250 LPT to 0x[0-9a-fA-F]{40}\s+tx 0x[0-9a-f]{64}\s+gas [\d,]+", bonded.stdout)
    b = chain.new_account()
    lp.ok("broadcaster", "deposit", "1ETH", key=b)
    lp.ok("broadcaster", "reserve", "0.5ETH", key=b)

    # One winning ticket from b to o, redeemed once o is active.
    chain.next_round()
    ticket, sig, rand = chain.make_ticket(b, o.address, 10**16)
    chain.redeem(ticket, sig, rand)

    report = lp.status(d.address)
    round_ = report["round"]
    assert (round_["current"], round_["initialized"]) == (chain.current_round(), True)
    (member,) = report["active_set"]
    assert member["address"] == o.address
    assert member["stake"] == chain.bonding.functions.transcoderTotalStake(o.address).call() == 1250 * LPT
    assert (member["reward_cut"], member["fee_share"]) == (100_000, 500_000)
    assert (member["service_uri"], member["price_per_unit"], member["pixels_per_unit"]) == (
        "https://orch.example:8935", 1200, 1000
    )  # fmt: skip
    assert member["active"] is True
    assert member["pending_fees"] == chain.fees(o.address)
    account = report["account"]
    assert account["bonded"] == chain.stake(d.address)
    assert 250 * LPT - account["bonded"] < LPT // 10**6  # shares bought at the round's end price, rounded down
    assert account["delegate"] == o.address and account["orchestrator"] is False
    assert account["lpt_balance"] == 50 * LPT
    assert account["pending_fees"] == chain.fees(d.address)
    (row,) = report["tickets"]["by_recipient"]
    assert (row["address"], row["redeemed"], row["redeemed_face_value"]) == (o.address, 1, 10**16)
    assert row["sent"] is None and row["won"] is None  # counted off chain: not yet

    sender = lp.status(b.address)
    assert sender["sender"]["deposit"] == chain.broker.functions.getSenderInfo(b.address).call()[0] == ETH - 10**16
    assert sender["sender"]["reserve"] == ETH // 2
    assert sender["sender"]["unlock_state"] == "locked"
    assert sender["tickets"]["as_sender"]["redeemed"] == 1

    tables = lp.ok("status", key=d).stdout
    assert "Active set (1)" in tables and o.address in tables and "10%" in tables and "1200wei/1000px" in tables


def test_delegator_unbonds_rebonds_and_withdraws_a_lock(lp: Lp, chain: Chain) -> None:
    o = _holder(chain, 1000 * LPT)
    _register(lp, o)
    d = _holder(chain, 100 * LPT)
    lp.ok("delegator", "bond", "100LPT", o.address, key=d)
    assert "more than your bonded stake" in lp.fails("delegator", "unbond", "101LPT", key=d)

    lp.ok("delegator", "unbond", "40LPT", key=d)
    assert chain.stake(d.address) == 60 * LPT
    lp.ok("delegator", "rebond", "0", key=d)
    assert chain.stake(d.address) == 100 * LPT
    assert "no unbonding lock with that ID" in lp.fails("delegator", "rebond", "0", key=d)

    lp.ok("delegator", "unbond", "all", key=d)
    (lock,) = lp.status(d.address)["account"]["unbonding_locks"]
    assert (lock["id"], lock["amount"]) == (1, 100 * LPT)
    assert "still in its unbonding period" in lp.fails("delegator", "withdraw-stake", "1", key=d)
    assert "not bonded to any orchestrator" in lp.fails("delegator", "rebond", "1", key=d)
    while chain.current_round() < lock["withdraw_round"]:
        chain.next_round()
    lp.ok("delegator", "withdraw-stake", "1", key=d)
    assert chain.token.functions.balanceOf(d.address).call() == 100 * LPT
    assert "no fees to withdraw" in lp.fails("delegator", "withdraw-fees", key=d)


def test_broadcaster_unlocks_and_withdraws_only_after_the_unlock_period(lp: Lp, chain: Chain) -> None:
    b = chain.new_account()
    assert "no deposit or reserve" in lp.fails("broadcaster", "unlock", key=b)
    lp.ok("broadcaster", "fund", "--deposit", "1ETH", "--reserve", "2ETH", key=b)
    assert "no unlock is under way" in lp.fails("broadcaster", "withdraw", key=b)
    lp.ok("broadcaster", "unlock", key=b)
    assert "already under way" in lp.fails("broadcaster", "unlock", key=b)
    assert "still locked" in lp.fails("broadcaster", "withdraw", key=b)
    lp.ok("broadcaster", "cancel-unlock", key=b)
    assert "no unlock is under way" in lp.fails("broadcaster", "cancel-unlock", key=b)
    lp.ok("broadcaster", "unlock", key=b)
    assert lp.status(b.address)["sender"]["unlock_state"] == "unlocking"
    withdraw_round = chain.broker.functions.getSenderInfo(b.address).call()[1]
    while chain.current_round() < withdraw_round:
        chain.next_round()
    before = chain.w3.eth.get_balance(b.address)
    lp.ok("broadcaster", "withdraw", key=b)
    assert chain.broker.functions.getSenderInfo(b.address).call()[:3] == [0, 0, 0]
    assert chain.w3.eth.get_balance(b.address) > before + 3 * ETH - 10**16  # less gas


def test_an_uninitialized_round_is_said_and_lp_round_initialize_fixes_it(lp: Lp, chain: Chain) -> None:
    o = _holder(chain, 1000 * LPT)
    chain.next_round(initialize=False)
    said = lp.fails("orchestrator", "register", "--stake", "1000LPT", "--reward-cut", "0%", "--fee-share", "0%", key=o)
    assert "the current round is not initialized yet: run `lp round initialize`" in said
    assert lp.status()["round"]["initialized"] is False
    lp.ok("round", "initialize", key=o)
    assert chain.rounds.functions.currentRoundInitialized().call()
    assert "already initialized" in lp.fails("round", "initialize", key=o)
    lp.ok("orchestrator", "register", "--stake", "1000LPT", "--reward-cut", "0%", "--fee-share", "0%", key=o)


def test_orchestrator_refusals_are_said_in_words(lp: Lp, chain: Chain) -> None:
    o = _holder(chain, 1000 * LPT)
    assert "not a registered orchestrator" in lp.fails("orchestrator", "update", "--fee-share", "20%", key=o)
    assert "do not hold that much LPT" in lp.fails(
        "orchestrator", "register", "--stake", "5000LPT", "--reward-cut", "0%", "--fee-share", "0%", key=o
    )  # a custom error (OpenZeppelin's ERC20InsufficientBalance), decoded by its selector
    _register(lp, o)
    assert "only an orchestrator in the current round's active set" in lp.fails("orchestrator", "reward", key=o)
    assert "512 bytes at most" in lp.fails("orchestrator", "update", "--service-uri", "x" * 513, key=o)
    chain.next_round()  # active now: terms may change only after this round's reward
    assert "run `lp orchestrator reward` first" in lp.fails("orchestrator", "update", "--reward-cut", "20%", key=o)
    lp.ok("orchestrator", "reward", key=o)
    assert "already called reward" in lp.fails("orchestrator", "reward", key=o)
    lp.ok("orchestrator", "update", "--reward-cut", "20%", "--stake", "900LPT", key=o)
    assert chain.bonding.functions.getTranscoderTerms(o.address).call()[2:] == [200_000, 500_000]
    assert lp.status(o.address)["account"]["unbonding_locks"][0]["amount"] > 0


def test_delegation_refusals_are_said_in_words(lp: Lp, chain: Chain) -> None:
    o = _holder(chain, 1000 * LPT)
    _register(lp, o)
    d = _holder(chain, 10 * LPT)
    stranger = chain.new_account().address
    assert "not a registered orchestrator: you can only delegate" in lp.fails(
        "delegator", "bond", "1LPT", stranger, key=d
    )
    other = _holder(chain, 1000 * LPT)
    _register(lp, other)
    assert "you cannot delegate to another one" in lp.fails("delegator", "bond", "1LPT", other.address, key=o)
    assert "too little ETH" in lp.fails("broadcaster", "deposit", "1000ETH", key=d)


def test_bad_arguments_are_usage_errors(lp: Lp, chain: Chain) -> None:
    d = chain.new_account()
    for args in (
        ("delegator", "bond", "1.5XYZ", d.address),
        ("delegator", "bond", "0.0000000000000000001LPT", d.address),
        ("orchestrator", "register", "--stake", "1LPT", "--reward-cut", "101%", "--fee-share", "0%"),
        ("orchestrator", "update", "--price", "1wei/0px"),
    ):
        result = lp.run(*args, key=d)
        assert result.exit_code == 2, result.output
    assert "not an Ethereum address" in lp.fails("delegator", "bond", "1LPT", "0x1234", key=d)


def test_a_missing_key_deployment_or_node_is_said_in_words(lp: Lp, chain: Chain, tmp_path: Path) -> None:
    assert "needs a key: set LP_ETH_PRIVATE_KEY" in lp.fails("broadcaster", "unlock")
    bad_key = "0x" + "zz" * 32
    said = lp.fails("broadcaster", "unlock", env={"LP_ETH_PRIVATE_KEY": bad_key})
    assert "does not hold a valid private key" in said and bad_key not in said
    assert "no deployment file at" in lp.fails("status", env={"LP_DEPLOYMENT_FILE": str(tmp_path / "none.json")})
    assert "cannot reach the Ethereum node at http://127.0.0.1:9" in lp.fails(
        "status", env={"LP_ETH_RPC_URL": "http://127.0.0.1:9"}
    )
    no_aws = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    said = lp.fails("status", "--stage", "orch-a")
    assert "--stage orch-a reads that stage's tables with its own settings" in said
    assert "this environment is no stage's" in said and "devstack env orch-a" in said
    assert "this environment is stage dev's" in lp.fails("status", "--stage", "orch-a", env={"LP_STAGE": "dev"})
    orchestrator = {**no_aws, "LP_STAGE": "orch-z", "LP_ROLES": '["orchestrator"]'}
    said = lp.fails("status", "--stage", "orch-z", env=orchestrator)
    assert "stage orch-z is an orchestrator, but its key (LP_ETH_PRIVATE_KEY) is not set" in said
    said = lp.fails("status", "--stage", "dev", env={**no_aws, "LP_STAGE": "dev"})
    assert "stage dev's tables could not be read: Could not connect to the endpoint URL" in said
    other = chain.deployment.model_copy(update={"chain_id": 1}).save(tmp_path / "other.json")
    assert "was deployed on chain 1" in lp.fails("status", env={"LP_DEPLOYMENT_FILE": str(other)})
    key_file = tmp_path / "key"
    account = chain.new_account()
    key_file.write_text("0x" + account.key.hex())
    result = lp.runner.invoke(app, ["--key-file", str(key_file), "status", "--json"], env=lp.env(None))
    assert json.loads(result.stdout)["account"]["address"] == account.address


def test_lp_runs_as_a_program(lp: Lp, chain: Chain) -> None:
    """The entry point itself (`python -m lpcli`, what the `lp` console script runs), outside the test process."""
    env = {**os.environ, **{k: v for k, v in lp.env(None).items() if v is not None}}
    done = subprocess.run(
        [sys.executable, "-m", "lpcli", "status", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["round"]["current"] == chain.current_round()
    env["LP_ETH_RPC_URL"] = "http://127.0.0.1:9"
    done = subprocess.run([sys.executable, "-m", "lpcli", "status"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "cannot reach" in done.stderr and "Traceback" not in done.stderr


def test_stake_changes_keep_the_active_set_sorted(lp: Lp, chain: Chain) -> None:
    """The hints lp computes put each orchestrator where its new stake belongs."""
    orchestrators = {stake: _holder(chain, stake * LPT) for stake in (300, 500, 400)}
    for stake, o in orchestrators.items():
        _register(lp, o, f"{stake}LPT")
    d = _holder(chain, 250 * LPT)
    lp.ok("delegator", "bond", "250LPT", orchestrators[300].address, key=d)  # 550: first
    lp.ok("delegator", "unbond", "200LPT", key=d)  # 350: third
    stakes = [m["stake"] for m in lp.status()["active_set"]]
    assert stakes == [500 * LPT, 400 * LPT, 350 * LPT]
