"""Sending a segment's transcode job to an orchestrator's intake, with failover to the next one."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence

import requests

from chalicelib.core.errors import Unavailable
from chalicelib.core.logs import logger
from chalicelib.core.settings import OrchestratorEndpoint
from chalicelib.dispatch.errors import IntakeRefused
from chalicelib.dispatch.selection import rank
from chalicelib.jobs.models import TranscodeJob
from chalicelib.jobs.signing import SIGNATURE_HEADER

__all__ = ["INTAKE_PATH", "IntakeRefused", "send"]

INTAKE_PATH = "/orchestrator/jobs"


def send(
    job_for: Callable[[str], TranscodeJob],
    candidates: Sequence[OrchestratorEndpoint],
    *,
    preferred: str | None,
    timeout_s: float,
    http: requests.Session,
    rng: random.Random,
    sign: Callable[[bytes], str] | None = None,
) -> OrchestratorEndpoint:
    """Send the job to the first orchestrator that takes it; return that orchestrator.

    ``job_for(address)`` builds the job addressed to one orchestrator; ``sign(body)`` (the gateway's key)
    signs the exact body sent. An orchestrator that cannot be reached, answers 5xx or 429, or does not take
    jobs from this gateway (401, 403) is skipped for the next in the weighted order.
    """
    if not candidates:
        raise Unavailable("no_orchestrators", "no orchestrator is configured to take work")
    failures: list[str] = []
    for orchestrator in rank(candidates, rng, preferred):
        body = json.dumps(job_for(orchestrator.address).wire(), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if sign is not None:
            headers[SIGNATURE_HEADER] = sign(body)
        try:
            response = http.post(
                orchestrator.url.rstrip("/") + INTAKE_PATH, data=body, headers=headers, timeout=timeout_s
            )
        except requests.RequestException as error:
            failures.append(f"{orchestrator.address}: {type(error).__name__}")
            logger.warning("orchestrator unreachable", orchestrator=orchestrator.address, error=str(error))
            continue
        if response.status_code in (200, 201, 202):
            return orchestrator
        failures.append(f"{orchestrator.address}: HTTP {response.status_code}")
        if response.status_code in (401, 403):
            # This orchestrator does not take work from this gateway; another may.
            logger.warning(
                "orchestrator refused this gateway", orchestrator=orchestrator.address, answer=response.text[:300]
            )
            continue
        if response.status_code < 500 and response.status_code != 429:
            # A 4xx means the job itself is wrong; another orchestrator would refuse it too.
            raise IntakeRefused("job_refused", f"orchestrator refused the job: {response.text[:300]}")
        logger.warning(
            "orchestrator did not take the job", orchestrator=orchestrator.address, status=response.status_code
        )
    raise Unavailable("orchestrators_unavailable", "no orchestrator took the job", tried=failures)
