"""The orchestrator's intake: a well-formed job addressed to it is queued; anything else is refused."""

from __future__ import annotations

import json

from chalicelib.dispatch.jobs import build_job
from chalicelib.jobs.models import TranscodeJob
from chalicelib.streams.profiles import DEFAULT_PROFILES
from tests.domain.conftest import ORCHESTRATOR, Stage


def job(stage: Stage, orchestrator: str = ORCHESTRATOR) -> TranscodeJob:
    return build_job(
        media=stage.app.wiring.media(),
        stream_id="00000000-0000-0000-0000-000000000001",
        seq=5,
        size=188,
        duration_ms=2000,
        profiles=DEFAULT_PROFILES[:2],
        orchestrator=orchestrator,
        ttl_s=60,
        created_at=1,
    )


def test_a_job_for_this_orchestrator_is_queued_with_its_id(stage: Stage) -> None:
    sent = job(stage)
    response = stage.client.http.post(
        "/orchestrator/jobs", headers={"Content-Type": "application/json"}, body=json.dumps(sent.wire()).encode()
    )
    assert response.status_code == 202
    [message] = stage.receive("jobs")
    assert response.json_body == {"jobId": sent.job_id, "messageId": message["MessageId"]}
    assert TranscodeJob.model_validate_json(message["Body"]) == sent
    assert message["MessageAttributes"]["jobId"]["StringValue"] == sent.job_id


def test_a_job_for_another_orchestrator_is_refused(stage: Stage) -> None:
    other = job(stage, orchestrator="0x" + "11" * 20)
    response = stage.client.http.post(
        "/orchestrator/jobs", headers={"Content-Type": "application/json"}, body=json.dumps(other.wire()).encode()
    )
    assert (response.status_code, response.json_body["error"]["code"]) == (422, "wrong_orchestrator")
    assert stage.receive("jobs") == []


def test_a_malformed_job_is_refused_naming_what_is_wrong(stage: Stage) -> None:
    headers = {"Content-Type": "application/json"}
    not_json = stage.client.http.post("/orchestrator/jobs", headers=headers, body=b"{nope")
    assert (not_json.status_code, not_json.json_body["error"]["code"]) == (400, "invalid_json")
    broken = {**job(stage).wire(), "seq": -1}
    broken.pop("sourceUrl")
    invalid = stage.client.http.post("/orchestrator/jobs", headers=headers, body=json.dumps(broken).encode())
    assert (invalid.status_code, invalid.json_body["error"]["code"]) == (422, "invalid_job")
    assert {e["loc"] for e in invalid.json_body["error"]["errors"]} == {"seq", "sourceUrl"}
    assert stage.receive("jobs") == []
