"""API keys: stored as hashes, presented as Bearer tokens, and nothing works without one."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.auth.apikeys import bearer_token, new_api_key
from chalicelib.core import aws
from chalicelib.core.errors import Unauthorized
from tests.domain.conftest import Stage


def test_a_registered_key_acts_for_its_owner(stage: Stage) -> None:
    key = new_api_key()
    stage.app.wiring.apikeys().register(key, "alice")
    assert stage.app.wiring.apikeys().owner_of(f"Bearer {key}") == "alice"


def test_only_the_keys_hash_is_stored(stage: Stage) -> None:
    key = new_api_key()
    stage.app.wiring.apikeys().register(key, "bob")
    items = aws.table(stage.name("apikeys")).scan()["Items"]
    mine = [i for i in items if i["name"] == "bob"]
    assert [i["keyHash"] for i in mine] == [hashlib.sha256(key.encode()).hexdigest()]
    assert all(key not in str(value) for item in items for value in item.values())


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("Basic abc", "malformed_authorization"),
        ("Bearer ", "malformed_authorization"),
    ],
)
def test_a_malformed_authorization_header_is_named(header: str | None, code: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        bearer_token(header)
    assert refused.value.code == code


def test_requests_without_a_valid_api_key_are_refused(stage: Stage) -> None:
    none = stage.call("POST", "/stream", {"name": "x"}, Authorization="")
    assert (none.status_code, none.json_body["error"]["code"]) == (401, "missing_api_key")
    wrong = stage.call("GET", "/stream", Authorization="Bearer not-a-key")
    assert (wrong.status_code, wrong.json_body["error"]["code"]) == (401, "invalid_api_key")
    assert stage.call("GET", "/stream").status_code == 200
