"""schemathesis against ``/openapi.json`` on the local stack: no 5xx, and every answer as the document says.

Every operation the gateway serves (and the orchestrator's intake, on an orchestrator) gets valid and invalid
requests generated from the document that stage serves, sent over HTTP with the stack's API key. Each answer
must be no 5xx, of a documented status and content type, and match its documented schema. Path parameters are
generated, and then also bound to a live stream and webhook made for the run (a segment pushed, a delivery
attempted), so that the answers about things that exist are checked too.

The examples are derandomized, so a run is repeatable; ``CONFORMANCE_EXAMPLES=200`` looks further (the
default, 10 per operation and mode, keeps the run well under a minute on two cores), and ``CONFORMANCE_RANDOM=1``
draws new examples each run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.openapi.describe import Operation
from chalicelib.openapi.operations import OPERATIONS
from devstack.stack import LocalStack
from tests.domain.footage import tiny_segments
from tests.integration.conftest import Api, wait_for

EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "10"))
# CONFORMANCE_RANDOM=1: new examples every run, to look beyond the fixed ones.
FIXED = os.environ.get("CONFORMANCE_RANDOM", "") in ("", "0")
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
# A loopback receiver: the local stack allows those (LP_WEBHOOK_ALLOW_LOOPBACK); nothing listens on port 9.
RECEIVER = "http://127.0.0.1:9/hooks"
#: The path parameters bound to existing things in a second run of each operation that has one.
EXISTING = ("stream_id", "webhook_id", "playback_id", "stream_key")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Existing:
    """Path parameters naming things that exist: a stream with a segment and a webhook with a delivery."""

    kept: dict[str, str]
    # DELETE gets its own: the other operations keep theirs.
    doomed: dict[str, str]


@pytest.fixture(scope="module")
def existing(api: Api) -> Existing:
    def made(name: str) -> dict[str, str]:
        stream = api.create_stream(name)
        hook = api.call("POST", "/webhook", json={"name": name, "url": RECEIVER, "events": ["stream.started"],
                                                  "streamId": stream["id"]})  # fmt: skip
        assert hook.status_code == 201, hook.text
        return {"stream_id": stream["id"], "stream_key": stream["streamKey"], "playback_id": stream["playbackId"],
                "webhook_id": hook.json()["id"]}  # fmt: skip

    kept, doomed = made("conformance"), made("conformance, deleted")
    assert api.push(kept["stream_key"], 0, tiny_segments(1)[0]).status_code == 202
    # stream.started is posted (and refused: nothing listens) and the master playlist is made.
    wait_for(lambda: api.call("GET", f"/webhook/{kept['webhook_id']}/log").json(), 30, what="a delivery attempt")
    wait_for(lambda: api.get(f"/hls/{kept['playback_id']}/index.m3u8").status_code == 200, 60, what="a playlist")
    return Existing({**kept, "rendition": "source", "file": "0.ts"}, doomed)


@pytest.fixture(scope="module")
def gateway_schema(api: Api) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(api.url("/openapi.json"))


@pytest.fixture(scope="module")
def orchestrator_schema(stack: LocalStack) -> Iterator[schemathesis.BaseSchema]:
    yield schemathesis.openapi.from_url(stack.orchestrator_urls["orch-a"] + "/openapi.json")


def check(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    bound: dict[str, str] | None = None,
    body: dict[str, str] | None = None,
) -> None:
    """Run the generated requests of one operation in one mode, every answer through ``CHECKS``; ``bound`` fixes
    path parameters, ``body`` fields of a JSON object body that has them."""
    strategy = operation.as_strategy(mode, path_parameters=bound)
    if body:
        strategy = strategy.map(lambda case: _with_fields(case, body))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=FIXED, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def test(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        test()
    except Unsatisfiable:
        pytest.skip("nothing in this request can be invalid: each of its parameters may be any string")


def _with_fields(case: schemathesis.Case, fields: dict[str, str]) -> schemathesis.Case:
    if isinstance(case.body, dict):
        case.body.update({name: value for name, value in fields.items() if case.body.get(name) is not None})
    return case


def binds(op: Operation) -> bool:
    """Whether the operation names existing things: a path parameter, or a webhook's URL and stream."""
    return any(f"{{{name}}}" in op.path for name in EXISTING) or (op.tag == "webhook" and op.body is not None)


def variants(operations: list[Operation]) -> list[Any]:
    """Each operation in each mode, with its path parameters generated, then bound to existing things."""
    cases = []
    for op in operations:
        for mode in GenerationMode:
            cases.append(pytest.param(op.method, op.path, mode, False, id=f"{op.method} {op.path} {mode}"))
            if binds(op):
                cases.append(pytest.param(op.method, op.path, mode, True, id=f"{op.method} {op.path} {mode} existing"))
    return cases


@pytest.mark.parametrize(
    "method,path,mode,on_existing", variants([op for op in OPERATIONS if op.role in (None, "gateway")])
)
def test_the_gateway_answers_as_its_document_says(
    gateway_schema: schemathesis.BaseSchema,
    api: Api,
    existing: Existing,
    method: str,
    path: str,
    mode: GenerationMode,
    on_existing: bool,
) -> None:
    operation = gateway_schema[path][method]
    names = {p.name for p in operation.path_parameters}
    source = existing.doomed if method == "DELETE" else existing.kept
    bound = {name: value for name, value in source.items() if name in names} if on_existing else None
    # A webhook pointed at a receiver the stack allows, for a stream that exists, can be made and changed.
    body = {"url": RECEIVER, "streamId": existing.kept["stream_id"]} if on_existing else None
    check(operation, mode, {"Authorization": f"Bearer {api.key}"}, bound, body)


@pytest.mark.parametrize(
    "method,path,mode,on_existing", variants([op for op in OPERATIONS if op.role == "orchestrator"])
)
def test_an_orchestrator_answers_as_its_document_says(
    orchestrator_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode, on_existing: bool
) -> None:
    check(orchestrator_schema[path][method], mode, {})
