"""``GET /openapi.json``: an OpenAPI 3.1 document built from the payload models, equal to the app's routes."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator import validate  # comes with moto[server]

from chalicelib.core.errors import ErrorBody, NotFound, invalid
from chalicelib.core.health import Health
from chalicelib.ingest.service import IngestOutcome
from chalicelib.intake.service import JobAccepted
from chalicelib.openapi.codes import ERROR_STATUS
from chalicelib.openapi.document import build_document
from chalicelib.openapi.operations import OPERATIONS
from chalicelib.payments.errors import REFUSAL_CODES
from chalicelib.streams.models import StreamCreate
from tests.domain.conftest import Stage

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "put", "post", "delete", "patch")


def document(app_module: ModuleType, roles: tuple[str, ...] | None = None) -> dict[str, Any]:
    return build_document(roles, None, app_module.app.routes)  # type: ignore[arg-type]


def routes_of(app_module: ModuleType) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in app_module.app.routes.items() for method in methods}


def operations_of(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item if method in METHODS}


def test_every_route_of_the_app_is_an_operation_of_the_document(app_module: ModuleType) -> None:
    # A route added to app.py without its line in chalicelib/openapi/operations.py fails here, and the reverse.
    assert operations_of(document(app_module)) == routes_of(app_module)


def test_the_document_is_valid_openapi_3_1(app_module: ModuleType) -> None:
    doc = document(app_module)
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    # JSON all the way down (it is served with json.dumps).
    assert json.loads(json.dumps(doc)) == doc


def test_a_stage_describes_the_operations_its_roles_serve(app_module: ModuleType) -> None:
    gateway = operations_of(document(app_module, ("gateway",)))
    orchestrator = operations_of(document(app_module, ("orchestrator",)))
    assert ("POST", "/stream") in gateway and ("POST", "/orchestrator/jobs") not in gateway
    assert ("POST", "/orchestrator/jobs") in orchestrator and ("GET", "/stream") not in orchestrator
    assert {("GET", "/health"), ("GET", "/openapi.json")} <= gateway & orchestrator


def test_every_field_of_every_payload_has_a_description(app_module: ModuleType) -> None:
    schemas = document(app_module)["components"]["schemas"]
    missing = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert missing == []


def test_payloads_are_camel_case_on_the_wire(app_module: ModuleType) -> None:
    stream = document(app_module)["components"]["schemas"]["Stream"]
    assert {"streamKey", "playbackId", "isActive", "createdAt"} <= set(stream["properties"])
    assert "stream_key" not in stream["properties"]


def test_operations_have_unique_ids_and_the_handlers_docstrings(app_module: ModuleType) -> None:
    doc = document(app_module)
    operations = [item[method] for item in doc["paths"].values() for method in item if method in METHODS]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    create = doc["paths"]["/stream"]["post"]
    assert create["operationId"] == "createStream"
    assert create["summary"] == app_module.create_stream.__doc__.splitlines()[0]
    assert "``" not in json.dumps(doc)  # reStructuredText quoting became Markdown's


def test_the_api_key_is_a_bearer_scheme_on_the_stream_and_webhook_operations(app_module: ModuleType) -> None:
    doc = document(app_module)
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key",
        "description": "An API key, sent as `Authorization: Bearer <api key>`.",
    }
    assert doc["paths"]["/stream"]["get"]["security"] == [{"apiKey": []}]
    assert doc["paths"]["/webhook/{webhook_id}"]["patch"]["security"] == [{"apiKey": []}]
    assert doc["paths"]["/playback/{playback_id}"]["get"]["security"] == []
    unauthorized = doc["paths"]["/stream"]["get"]["responses"]["401"]
    assert "`invalid_api_key`" in unauthorized["description"]
    assert unauthorized["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_media_routes_carry_their_real_content_types(app_module: ModuleType) -> None:
    paths = document(app_module)["paths"]
    assert set(paths["/hls/{playback_id}/index.m3u8"]["get"]["responses"]["200"]["content"]) == {
        "application/vnd.apple.mpegurl"
    }
    assert set(paths["/hls/{playback_id}/{rendition}/{file}"]["get"]["responses"]["200"]["content"]) == {
        "application/vnd.apple.mpegurl",
        "video/mp2t",
    }
    assert "text/html" in paths["/play/{playback_id}"]["get"]["responses"]["200"]["content"]
    assert "video/mp2t" in paths["/live/{stream_key}/{name}"]["put"]["requestBody"]["content"]


def test_request_bodies_are_the_models_validation_schemas(app_module: ModuleType) -> None:
    doc = document(app_module)
    body = doc["paths"]["/stream"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    create = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert create["required"] == ["name"] and create["additionalProperties"] is False
    # What the model takes, the schema says: a gop may be a number; a profile may not be named `source`.
    profile = doc["components"]["schemas"]["Profile-Input"]["properties"]
    assert {"type": "number"} in profile["gop"]["anyOf"] and profile["name"]["not"] == {"const": "source"}


def test_uint256_fields_are_decimal_strings_on_the_wire(app_module: ModuleType) -> None:
    schemas = document(app_module)["components"]["schemas"]
    written = schemas["TicketParams-Output"]["properties"]["faceValue"]
    assert written["type"] == "string" and written["pattern"] == "^0*[1-9][0-9]*$"
    taken = schemas["TicketParams-Input"]["properties"]["faceValue"]
    assert {s["type"] for s in taken["anyOf"]} == {"integer", "string"}
    assert not keys_named("gt", schemas)  # no pydantic-only keyword leaks into the JSON Schema


def keys_named(key: str, node: Any) -> list[Any]:
    if isinstance(node, dict):
        return ([node[key]] if key in node else []) + [v for value in node.values() for v in keys_named(key, value)]
    if isinstance(node, list):
        return [v for item in node for v in keys_named(key, item)]
    return []


def test_servers_is_the_public_url_or_relative(app_module: ModuleType) -> None:
    routes = app_module.app.routes
    assert build_document(("gateway",), "https://video.example/", routes)["servers"] == [
        {"url": "https://video.example"}
    ]
    assert build_document(("gateway",), None, routes)["servers"] == [{"url": "/"}]


def test_openapi_json_is_served_publicly_as_json(stage: Stage) -> None:
    stage.configure(public_url="https://video.example")
    response = stage.client.http.get("/openapi.json", headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    served = response.json_body
    assert served["servers"] == [{"url": "https://video.example"}]
    # The unit stage plays both roles: it serves (and describes) both.
    assert {"/stream", "/orchestrator/jobs"} <= set(served["paths"])


def test_answers_match_their_documented_models(stage: Stage) -> None:
    Health.model_validate(stage.get("/health").json_body)
    ErrorBody.model_validate(stage.call("GET", "/stream/nope").json_body)
    ErrorBody.model_validate(stage.call("POST", "/stream", {"name": ""}).json_body)
    ErrorBody.model_validate(stage.call("GET", "/stream", Authorization="Basic x").json_body)


def test_the_push_and_intake_answers_keep_their_wire_shape() -> None:
    # Both became models (to be described); their JSON stayed what gateways and broadcasters read.
    playlist = IngestOutcome(stream_id="s", seq=None, status="playlist")
    assert playlist.wire() == {"streamId": "s", "seq": None, "status": "playlist", "orchestrator": None}
    assert JobAccepted(job_id="s/1", message_id=None).wire() == {"jobId": "s/1", "messageId": None}
    spent = JobAccepted(job_id="s/1", message_id="m", ticket_params_spent=True).wire()
    assert spent == {"jobId": "s/1", "messageId": "m", "ticketParamsSpent": True}


def test_error_bodies_match_the_documented_schema() -> None:
    ErrorBody.model_validate(NotFound("stream_not_found", "no stream 'x'").body())
    with pytest.raises(Exception) as refused:
        StreamCreate.model_validate({"name": "", "profiles": [{"name": "x", "width": 1}]})
    body = ErrorBody.model_validate(invalid("invalid_body", "bad", refused.value).body())  # type: ignore[arg-type]
    assert body.error.errors and {issue.loc for issue in body.error.errors} >= {"name", "profiles.0.width"}


def raised_codes() -> dict[str, set[int]]:
    """Each error code raised with a literal in chalicelib and app.py, with the status of the error raised."""
    from chalicelib.core import errors

    status_of = {
        name: cls.status
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError)
    }
    status_of["invalid"] = errors.Unprocessable.status
    found: dict[str, set[int]] = {}
    for path in [*sorted((ROOT / "chalicelib").rglob("*.py")), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in status_of
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, set()).add(status_of[node.func.id])
    return found


def test_every_error_code_raised_is_documented_with_its_status() -> None:
    raised = raised_codes()
    assert raised, "the scan found no raise sites"
    wrong = {code: statuses for code, statuses in raised.items() if statuses != {ERROR_STATUS.get(code)}}
    assert wrong == {}
    assert all(ERROR_STATUS[code] == 402 for code in REFUSAL_CODES)


def test_every_code_an_operation_names_exists() -> None:
    named = {code for op in OPERATIONS for code in op.errors}
    assert named <= set(ERROR_STATUS)
