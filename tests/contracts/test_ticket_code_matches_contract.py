"""The Python ticket code and the TicketBroker agree: hash, signature and winning rule."""

from __future__ import annotations

from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.chain.tickets import (
    SECP256K1_HALF_N,
    TICKET_PACKED_LENGTH,
    UINT256_MAX,
    Ticket,
    is_valid_ticket_signature,
    is_winning_ticket,
    parse_aux_data,
    recipient_rand,
    recipient_rand_hash,
    sign_ticket,
    win_prob_for,
)

from .conftest import Chain

uint256 = st.integers(min_value=0, max_value=UINT256_MAX)
bytes32 = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
tickets = st.builds(
    Ticket,
    recipient=addresses,
    sender=addresses,
    face_value=uint256,
    win_prob=uint256,
    sender_nonce=uint256,
    recipient_rand_hash=bytes32,
    creation_round=uint256,
    creation_round_block_hash=bytes32,
)
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(ticket=tickets)
def test_python_ticket_hash_equals_contract_hash(chain: Chain, ticket: Ticket) -> None:
    assert len(ticket.packed()) == TICKET_PACKED_LENGTH
    assert parse_aux_data(ticket.aux_data) == (ticket.creation_round, ticket.creation_round_block_hash)
    assert bytes(chain.broker.functions.getTicketHash(ticket.as_contract_args()).call()) == ticket.hash()


@EXAMPLES
@given(ticket=tickets, key=st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < 2**255))
def test_python_signed_ticket_verifies_on_chain(chain: Chain, ticket: Ticket, key: bytes) -> None:
    signer = Account.from_key(key)
    ticket = ticket.model_copy(update={"sender": signer.address})
    sig = sign_ticket(ticket, key)
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert int.from_bytes(sig[32:64], "big") <= SECP256K1_HALF_N
    assert is_valid_ticket_signature(ticket, sig)
    assert chain.broker.functions.isValidTicketSig(signer.address, sig, ticket.hash()).call() is True
    other = ticket.model_copy(update={"sender_nonce": (ticket.sender_nonce + 1) % (UINT256_MAX + 1)})
    assert chain.broker.functions.isValidTicketSig(signer.address, sig, other.hash()).call() is False
    assert not is_valid_ticket_signature(other, sig)


@EXAMPLES
@given(sig=st.binary(min_size=65, max_size=65), rand=uint256, win_prob=uint256)
def test_winning_rule_is_the_same_on_both_sides(chain: Chain, sig: bytes, rand: int, win_prob: int) -> None:
    on_chain = chain.broker.functions.isWinningTicket(sig, rand, win_prob).call()
    assert on_chain is is_winning_ticket(sig, rand, win_prob)


def test_winning_rule_edges(chain: Chain) -> None:
    sig, rand = b"\x01" * 65, 7
    from eth_utils.crypto import keccak

    value = int.from_bytes(keccak(sig + rand.to_bytes(32, "big")), "big")
    for win_prob, expected in ((value, False), (value + 1, True), (0, False), (UINT256_MAX, True)):
        assert is_winning_ticket(sig, rand, win_prob) is expected
        assert chain.broker.functions.isWinningTicket(sig, rand, win_prob).call() is expected


def test_high_s_signature_is_refused_on_both_sides(chain: Chain) -> None:
    signer = Account.create()
    ticket = Ticket(
        recipient="0x" + "11" * 20,
        sender=signer.address,
        face_value=1,
        win_prob=1,
        sender_nonce=1,
        recipient_rand_hash=b"\x00" * 32,
        creation_round=1,
        creation_round_block_hash=b"\x00" * 32,
    )
    sig = sign_ticket(ticket, signer.key)
    s = int.from_bytes(sig[32:64], "big")
    malleable = sig[:32] + (2 * SECP256K1_HALF_N + 1 - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    assert not is_valid_ticket_signature(ticket, malleable)
    assert chain.broker.functions.isValidTicketSig(signer.address, malleable, ticket.hash()).call() is False
    wrong_v = sig[:64] + bytes([sig[64] - 27])
    assert not is_valid_ticket_signature(ticket, wrong_v)
    assert chain.broker.functions.isValidTicketSig(signer.address, wrong_v, ticket.hash()).call() is False


def test_recipient_rand_is_a_deterministic_hmac_of_seed_and_params() -> None:
    params = {
        "recipient": "0x" + "22" * 20,
        "sender": "0x" + "33" * 20,
        "face_value": 10**15,
        "win_prob": 2**200,
        "creation_round": 5,
        "creation_round_block_hash": b"\x44" * 32,
    }
    a = recipient_rand(b"secret", b"\x01" * 32, **params)  # type: ignore[arg-type]
    assert a == recipient_rand(b"secret", b"\x01" * 32, **params)  # type: ignore[arg-type]
    assert a != recipient_rand(b"secret", b"\x02" * 32, **params)  # type: ignore[arg-type]
    assert a != recipient_rand(b"other", b"\x01" * 32, **params)  # type: ignore[arg-type]
    assert a != recipient_rand(b"secret", b"\x01" * 32, **{**params, "face_value": 10**15 + 1})  # type: ignore[arg-type]
    assert len(recipient_rand_hash(a)) == 32


def test_win_prob_for_gives_the_expected_value() -> None:
    face = 10**16
    wp = win_prob_for(10**12, face)
    assert face * wp // UINT256_MAX in (10**12 - 1, 10**12)
