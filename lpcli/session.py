"""What every command starts from: the node, the deployment, and (for writes) the key, each checked with an
error in words when it is missing or wrong."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from pydantic import ValidationError
from web3 import Web3
from web3.contract import Contract

from chalicelib.chain.deployment import Deployment
from chalicelib.chain.protocol import Protocol
from chalicelib.chain.transactions import TxSender
from lpcli.errors import CliError, custom_error_selectors

DEFAULT_RPC = "http://127.0.0.1:8545"
DEFAULT_DEPLOYMENT = Path(".devstack/deployment.json")
KEY_ENV = "LP_ETH_PRIVATE_KEY"
#: The password of a JSON keystore given with --key-file (asked for when unset).
KEY_PASSWORD_ENV = "LP_ETH_KEY_PASSWORD"


@dataclass
class Options:
    """The global options, as given (nothing is opened until a command asks)."""

    rpc: str = DEFAULT_RPC
    deployment: Path = DEFAULT_DEPLOYMENT
    key_file: Path | None = None
    _session: Session | None = field(default=None, repr=False)

    def session(self) -> Session:
        """The connected session (opened once)."""
        if self._session is None:
            self._session = Session.open(self.rpc, self.deployment)
        return self._session

    def opened(self) -> Session | None:
        """The session if a command opened it, else None."""
        return self._session

    def account(self) -> LocalAccount:
        """The key that signs: ``LP_ETH_PRIVATE_KEY``, or --key-file (a hex key or a JSON keystore)."""
        return load_account(self.key_file)


@dataclass
class Session:
    """A node that answers and holds the deployment's contracts."""

    w3: Web3
    protocol: Protocol
    rpc: str

    @classmethod
    def open(cls, rpc: str, deployment_path: Path) -> Session:
        """Load the deployment file, connect, and check that the node holds that deployment."""
        if not deployment_path.is_file():
            raise CliError(
                f"no deployment file at {deployment_path}: start the local chain with `make up`, or point "
                "--deployment (LP_DEPLOYMENT_FILE) at the deployment to use"
            )
        try:
            deployment = Deployment.load(deployment_path)
        except (ValidationError, ValueError) as error:
            raise CliError(f"{deployment_path} is not a deployment file: {str(error).splitlines()[0]}") from None
        w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
        try:
            chain_id = w3.eth.chain_id
            code = w3.eth.get_code(deployment.address("BondingManager"))
        except (OSError, ValueError) as error:
            raise CliError(unreachable(rpc, error)) from None
        if chain_id != deployment.chain_id:
            raise CliError(
                f"the node at {rpc} is chain {chain_id}, but {deployment_path} was deployed on chain "
                f"{deployment.chain_id}: use the matching --rpc or --deployment"
            )
        if not code:
            raise CliError(
                f"the node at {rpc} has no contracts at the addresses in {deployment_path}: the file is from "
                "another run of the chain (restart the stack with `make up`, or use its deployment file)"
            )
        return cls(w3=w3, protocol=Protocol(w3, deployment), rpc=rpc)

    def contract(self, name: str) -> Contract:
        """A deployed contract by name."""
        return self.protocol.contract(name)

    def sender(self, account: LocalAccount) -> TxSender:
        """A transaction sender for ``account``, polling quickly (a local chain mines at once)."""
        return TxSender(self.w3, account, poll_s=0.05)

    def error_selectors(self) -> dict[str, str]:
        """Custom-error selectors of every deployed contract."""
        return custom_error_selectors(info.abi for info in self.protocol.deployment.contracts.values())


def unreachable(rpc: str, error: Exception) -> str:
    """The sentence for a node that does not answer."""
    return (
        f"cannot reach the Ethereum node at {rpc} ({type(error).__name__}): is the local chain up (`make up`)? "
        "Otherwise point --rpc (LP_ETH_RPC_URL) at one"
    )


def load_account(key_file: Path | None) -> LocalAccount:
    """The signing key from --key-file, else from ``LP_ETH_PRIVATE_KEY``; never echoed, even in an error."""
    if key_file is not None:
        if not key_file.is_file():
            raise CliError(f"no key file at {key_file}")
        text = key_file.read_text().strip()
        source = f"the key file {key_file}"
        if text.startswith("{"):
            return _decrypt_keystore(text, source)
    else:
        text = os.environ.get(KEY_ENV, "").strip()
        source = KEY_ENV
        if not text:
            raise CliError(
                f"this command signs a transaction and needs a key: set {KEY_ENV} in the environment, or pass "
                "--key-file with a file that holds it"
            )
    try:
        account: LocalAccount = Account.from_key(text)
    except (ValueError, TypeError):
        raise CliError(f"{source} does not hold a valid private key (64 hex digits)") from None
    return account


def _decrypt_keystore(text: str, source: str) -> LocalAccount:
    import typer  # only to ask for the password

    password = os.environ.get(KEY_PASSWORD_ENV)
    if password is None:
        password = typer.prompt(f"password for {source}", hide_input=True)
    try:
        key = Account.decrypt(json.loads(text), password)
    except (ValueError, TypeError, KeyError):
        raise CliError(f"{source} could not be decrypted: wrong password, or not a keystore file") from None
    account: LocalAccount = Account.from_key(key)
    return account


def address_of(text: str) -> ChecksumAddress:
    """``text`` as a checksummed address, or an error in words."""
    if not Web3.is_address(text):
        raise CliError(f"{text!r} is not an Ethereum address (0x and 40 hex digits)")
    return Web3.to_checksum_address(text)
