"""Round automation on a real chain: each round is initialized once and each operated orchestrator calls
``reward()`` once, however often the schedule fires and whoever else acts first."""

from __future__ import annotations

from chalicelib.chain.duties import perform_round_duties
from chalicelib.chain.protocol import Protocol
from chalicelib.chain.transactions import TxSender
from tests.contracts.conftest import LPT, Chain


def _duties(chain: Chain, key: object) -> tuple[Protocol, TxSender]:
    return Protocol(chain.w3, chain.deployment), TxSender(chain.w3, key, poll_s=0.002)  # type: ignore[arg-type]


def test_a_new_round_is_initialized_and_rewarded_once(chain: Chain) -> None:
    o = chain.active_orchestrator(1_000 * LPT)
    protocol, tx = _duties(chain, o)
    round_ = chain.next_round(initialize=False)
    stake = chain.stake(o.address)
    first = perform_round_duties(protocol, tx)
    assert first.round == round_ and first.initialized is not None and first.rewarded is not None
    # The reward is the pool's, less the pool's unowned shares' part (about 1e-6 of it).
    assert first.minted > 0 and abs(chain.stake(o.address) - (stake + first.minted)) <= first.minted // 10**5
    assert protocol.transcoder(o.address).last_reward_round == round_
    rewarded = chain.stake(o.address)
    again = perform_round_duties(protocol, tx)  # the schedule fires again within the round
    assert (again.initialized, again.rewarded, again.minted) == (None, None, 0)
    assert chain.stake(o.address) == rewarded


def test_a_round_someone_else_initialized_is_only_rewarded(chain: Chain) -> None:
    o = chain.active_orchestrator(1_000 * LPT)
    protocol, tx = _duties(chain, o)
    chain.next_round()  # initialized by the deployer
    done = perform_round_duties(protocol, tx)
    assert done.initialized is None and done.rewarded is not None and done.minted > 0


def test_a_key_that_is_not_an_active_orchestrator_only_initializes(chain: Chain) -> None:
    bystander = chain.new_account()
    protocol, tx = _duties(chain, bystander)
    chain.next_round(initialize=False)
    done = perform_round_duties(protocol, tx)
    assert done.initialized is not None and done.rewarded is None
    assert protocol.current_round_initialized()
