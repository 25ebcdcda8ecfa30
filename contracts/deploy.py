"""Deploy the protocol contracts, wire them through the Controller, and write the deployment JSON.

Usage: ``python -m contracts.deploy [--params contracts/protocol.json] [--out PATH]``, against ``ETH_RPC_URL``
(default the local Anvil, http://127.0.0.1:8545). It starts nothing: the node must be running. Transactions
come from ``DEPLOYER_PRIVATE_KEY`` when set, else from the node's first unlocked account (Anvil's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_typing import ChecksumAddress, HexAddress, HexStr
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.middleware import SignAndSendRawMiddlewareBuilder

from chalicelib.chain.deployment import ContractInfo, Deployment, ProtocolParams, default_deployment_path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "contracts" / "build"
DEFAULT_PARAMS = ROOT / "contracts" / "protocol.json"
DEFAULT_RPC = "http://127.0.0.1:8545"
ZERO_ADDRESS = ChecksumAddress(HexAddress(HexStr("0x" + "00" * 20)))
#: Libraries with public functions, deployed on their own and linked into the BondingManager.
LIBRARY_NAMES = ("SortedDoublyLL", "PoolAccounting")


def load_artifact(name: str) -> dict[str, Any]:
    """The ABI and bytecode that contracts/build.mjs wrote for ``name``."""
    path = BUILD_DIR / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `make contracts` first")
    artifact: dict[str, Any] = json.loads(path.read_text())
    return artifact


def contract_id(name: str) -> bytes:
    """The Controller's registry key for a contract: keccak256 of its name."""
    return keccak(text=name)


def _transact(w3: Web3, fn: Any, sender: ChecksumAddress) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction failed: {fn}")
    return receipt


def link(artifact: dict[str, Any], libraries: Mapping[str, str]) -> str:
    """``artifact``'s creation bytecode with each linked library's address written over its placeholders."""
    code = str(artifact["bytecode"])[2:]
    for by_name in artifact.get("linkReferences", {}).values():
        for name, refs in by_name.items():
            if name not in libraries:
                raise RuntimeError(f"{artifact['contractName']} links {name}, which is not deployed")
            address = libraries[name][2:].lower()
            for ref in refs:
                start = ref["start"] * 2
                code = code[:start] + address + code[start + ref["length"] * 2 :]
    return "0x" + code


def _deploy_one(
    w3: Web3, name: str, sender: ChecksumAddress, *args: Any, libraries: Mapping[str, str] | None = None
) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=link(artifact, libraries or {}))
    receipt = _transact(w3, factory.constructor(*args), sender)
    contract: Contract = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    return contract


def deploy(w3: Web3, deployer: ChecksumAddress, params: ProtocolParams) -> Deployment:
    """Deploy every contract with ``params``, register them in the Controller, and hand the Controller to the
    Governance timelock (``deployer`` its only proposer, anyone its executor).

    No Verifier is registered: slashing stays off until a verification contract is registered through
    Governance. The token's only minter is the Minter, fixed in its constructor.
    """
    controller = _deploy_one(w3, "Controller", deployer)
    c = controller.address
    minter = _deploy_one(
        w3, "Minter", deployer, c, params.inflation, params.inflation_change, params.target_bonding_rate
    )
    libraries = {name: _deploy_one(w3, name, deployer).address for name in LIBRARY_NAMES}
    deployed: dict[str, Contract] = {
        "Controller": controller,
        "LivepeerToken": _deploy_one(w3, "LivepeerToken", deployer, minter.address, deployer, params.initial_supply),
        "Minter": minter,
        "RoundsManager": _deploy_one(w3, "RoundsManager", deployer, c, params.round_length, params.round_lock_amount),
        "BondingManager": _deploy_one(
            w3,
            "BondingManager",
            deployer,
            c,
            params.unbonding_period,
            params.num_active_transcoders,
            params.slash_amount,
            params.finder_fee,
            libraries=libraries,
        ),
        "TicketBroker": _deploy_one(
            w3, "TicketBroker", deployer, c, params.unlock_period, params.ticket_validity_period, ZERO_ADDRESS
        ),
        "ServiceRegistry": _deploy_one(w3, "ServiceRegistry", deployer, c),
    }
    for name, contract in deployed.items():
        if name != "Controller":
            _transact(w3, controller.functions.setContractInfo(contract_id(name), contract.address), deployer)
    governance = _deploy_one(w3, "Governance", deployer, params.governance_delay, [deployer], [ZERO_ADDRESS])
    _transact(w3, controller.functions.transferOwnership(governance.address), deployer)
    deployed["Governance"] = governance
    return Deployment(
        chain_id=w3.eth.chain_id,
        block_number=w3.eth.block_number,
        deployer=deployer,
        verifier=ZERO_ADDRESS,
        params=params,
        contracts={
            name: ContractInfo(address=contract.address, abi=load_artifact(name)["abi"])
            for name, contract in deployed.items()
        },
        libraries=libraries,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry: deploy, print the addresses and the deployment file's path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default=os.environ.get("ETH_RPC_URL", DEFAULT_RPC))
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS)
    parser.add_argument("--out", type=Path, default=None, help="default: deployments/<chainId>.json")
    args = parser.parse_args(argv)

    w3 = Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        print(f"no Ethereum node answers at {args.rpc} (start Anvil, or set ETH_RPC_URL)", file=sys.stderr)
        return 1
    key = os.environ.get("DEPLOYER_PRIVATE_KEY")
    if key:
        account = Account.from_key(key)
        w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
        deployer = account.address
    else:
        deployer = w3.eth.accounts[0]
    params = ProtocolParams.load(args.params)
    print(f"deploying to chain {w3.eth.chain_id} at {args.rpc} from {deployer} ...")
    deployment = deploy(w3, deployer, params)
    for name, info in deployment.contracts.items():
        print(f"  {name:16} {info.address}")
    out = args.out or ROOT / default_deployment_path(deployment.chain_id)
    deployment.save(out)
    print(f"deployment written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
