"""The orchestrator's intake: a signed, recent, well-formed job addressed to it, naming only allowed URLs,
is queued; anything else is refused with its own code, and nothing is queued."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from chalicelib.core.clock import now_ms
from chalicelib.dispatch.jobs import build_job
from chalicelib.jobs.models import TranscodeJob
from chalicelib.jobs.signing import SIGNATURE_HEADER, sign_body
from chalicelib.streams.profiles import DEFAULT_PROFILES
from tests.domain.conftest import ORCHESTRATOR, ORCHESTRATOR_KEY, Stage

GATEWAY_KEY = SecretStr(ORCHESTRATOR_KEY)  # the unit stage is its own (allowed) gateway


def job(stage: Stage, orchestrator: str = ORCHESTRATOR, created_at: int | None = None) -> TranscodeJob:
    return build_job(
        media=stage.app.wiring.media(),
        stream_id="00000000-0000-0000-0000-000000000001",
        seq=5,
        size=188,
        duration_ms=2000,
        profiles=DEFAULT_PROFILES[:2],
        orchestrator=orchestrator,
        ttl_s=60,
        created_at=now_ms() if created_at is None else created_at,
    )


def post(stage: Stage, body: bytes, key: SecretStr | None = GATEWAY_KEY, signature: str | None = None) -> object:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    elif key is not None:
        headers[SIGNATURE_HEADER] = sign_body(body, key)
    return stage.client.http.post("/orchestrator/jobs", headers=headers, body=body)


def code(response: object) -> tuple[int, str]:
    return response.status_code, response.json_body["error"]["code"]  # type: ignore[attr-defined]


def test_a_signed_job_for_this_orchestrator_is_queued_with_its_id(stage: Stage) -> None:
    sent = job(stage)
    response = post(stage, json.dumps(sent.wire()).encode())
    assert response.status_code == 202  # type: ignore[attr-defined]
    [message] = stage.receive("jobs")
    assert response.json_body == {"jobId": sent.job_id, "messageId": message["MessageId"]}  # type: ignore[attr-defined]
    assert TranscodeJob.model_validate_json(message["Body"]) == sent
    assert message["MessageAttributes"]["jobId"]["StringValue"] == sent.job_id


def test_a_job_without_an_allowed_gateways_signature_is_refused(stage: Stage) -> None:
    body = json.dumps(job(stage).wire()).encode()
    stranger = SecretStr("0x" + Account.create().key.hex())
    assert code(post(stage, body, key=None)) == (401, "job_unsigned")
    assert code(post(stage, body, signature="0x1234")) == (401, "job_bad_signature")
    assert code(post(stage, body, signature="0x" + "00" * 65)) == (401, "job_bad_signature")
    assert code(post(stage, body, key=stranger)) == (403, "gateway_not_allowed")
    # the allowed gateway's signature over another body: recovers someone else
    assert code(post(stage, body, signature=sign_body(body + b" ", GATEWAY_KEY))) == (403, "gateway_not_allowed")
    assert stage.receive("jobs") == []


def test_a_job_for_another_orchestrator_is_refused(stage: Stage) -> None:
    other = job(stage, orchestrator="0x" + "11" * 20)
    assert code(post(stage, json.dumps(other.wire()).encode())) == (422, "wrong_orchestrator")
    assert stage.receive("jobs") == []


@pytest.mark.parametrize("age_s", [301, -120])
def test_a_job_made_long_ago_or_in_the_future_is_refused(stage: Stage, age_s: int) -> None:
    stale = job(stage, created_at=now_ms() - age_s * 1000)
    assert code(post(stage, json.dumps(stale.wire()).encode())) == (422, "job_expired")
    assert stage.receive("jobs") == []


@pytest.mark.parametrize(
    ("field", "url", "reason"),
    [
        ("sourceUrl", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "url_host_not_allowed"),
        ("sourceUrl", "http://127.0.0.1:8000/live/secret", "url_host_not_allowed"),
        ("sourceUrl", "http://[::1]/x", "url_host_not_allowed"),
        ("sourceUrl", "http://10.0.0.5/x", "url_host_not_allowed"),
        ("sourceUrl", "http://localhost:4566/bucket/key", "url_host_not_allowed"),
        ("sourceUrl", "file:///etc/passwd", "url_scheme_not_allowed"),
        ("resultUrl", "http://192.168.1.1/admin", "url_host_not_allowed"),
        ("resultUrl", "http://2130706433/x", "url_host_not_allowed"),
        ("uploadUrl", "gopher://example.com/x", "url_scheme_not_allowed"),
        ("uploadUrl", "http://metadata.google.internal/computeMetadata/v1/", "url_host_not_allowed"),
    ],
)
def test_a_job_naming_a_url_the_policy_refuses_is_refused_and_nothing_is_queued(
    stage: Stage, field: str, url: str, reason: str
) -> None:
    wire = job(stage).wire()
    if field == "uploadUrl":
        wire["outputs"][1]["uploadUrl"] = url
    else:
        wire[field] = url
    response = post(stage, json.dumps(wire).encode())
    assert code(response) == (422, "job_url_not_allowed")
    assert response.json_body["error"]["reason"] == reason  # type: ignore[attr-defined]
    assert stage.receive("jobs") == []
    # the honest job beside it is taken
    assert post(stage, json.dumps(job(stage).wire()).encode()).status_code == 202  # type: ignore[attr-defined]


def test_an_origin_the_operator_allows_may_be_named(stage: Stage) -> None:
    wire = job(stage).wire()
    wire["sourceUrl"] = "http://127.0.0.1:4566/media/source.ts"
    stage.configure(allowed_job_origins=["http://127.0.0.1:4566"])
    assert post(stage, json.dumps(wire).encode()).status_code == 202  # type: ignore[attr-defined]
    wire["sourceUrl"] = "http://127.0.0.1:4567/media/source.ts"  # another port of the same host is not
    assert code(post(stage, json.dumps(wire).encode())) == (422, "job_url_not_allowed")


def test_a_malformed_job_is_refused_naming_what_is_wrong(stage: Stage) -> None:
    assert code(post(stage, b"{nope")) == (400, "invalid_json")
    broken = {**job(stage).wire(), "seq": -1}
    broken.pop("sourceUrl")
    invalid = post(stage, json.dumps(broken).encode())
    assert code(invalid) == (422, "invalid_job")
    assert {e["loc"] for e in invalid.json_body["error"]["errors"]} == {"seq", "sourceUrl"}  # type: ignore[attr-defined]
    assert stage.receive("jobs") == []


# A job signed by an allowed gateway, with one field (at any depth) replaced by any JSON value or removed: what a
# careless or hostile gateway may send once its signature is good. Schemathesis, which fuzzes the API from its
# description, cannot sign, so it never gets past the signature check.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key path into a JSON value (dict keys and list indexes)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in [(*prefix, k), *_paths(v, (*prefix, k))]]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in [(*prefix, i), *_paths(v, (*prefix, i))]]
    return []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_signed_job_with_any_field_changed_is_taken_or_refused_with_a_code_never_a_500(
    stage: Stage, data: st.DataObject
) -> None:
    wire = job(stage).wire()
    path = data.draw(st.sampled_from(_paths(wire)))
    parent: Any = wire
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(JSON_VALUES)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    response: Any = post(stage, json.dumps(wire).encode())
    queued = stage.receive("jobs")
    if response.status_code == 202:
        [message] = queued
        TranscodeJob.model_validate_json(message["Body"])  # what a worker reads is a whole job
    else:
        assert 400 <= response.status_code < 500, (path, response.status_code, response.body)
        assert isinstance(response.json_body["error"]["code"], str) and response.json_body["errors"]
        assert queued == []
