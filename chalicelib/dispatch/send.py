"""Sending a segment's transcode job to an orchestrator's intake, with failover to the next one."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Literal

import requests
from pydantic import ValidationError

from chalicelib.core import timing
from chalicelib.core.errors import Unavailable
from chalicelib.core.logs import logger
from chalicelib.core.settings import OrchestratorEndpoint
from chalicelib.dispatch.errors import IntakeRefused
from chalicelib.dispatch.health import HealthBook
from chalicelib.dispatch.selection import Weights, rank
from chalicelib.jobs.models import TranscodeJob
from chalicelib.jobs.signing import SIGNATURE_HEADER
from chalicelib.payments.models import PaidJob, Quote
from chalicelib.payments.sender import Payer, QuoteRefused

__all__ = ["INTAKE_PATH", "IntakeRefused", "send"]

INTAKE_PATH = "/orchestrator/jobs"

_Verdict = Literal["taken", "taken_spent", "next", "pay_again"]


def send(
    job_for: Callable[[str], TranscodeJob],
    candidates: Sequence[OrchestratorEndpoint],
    *,
    preferred: str | None,
    timeout_s: float,
    http: requests.Session,
    rng: random.Random,
    sign: Callable[[bytes], str] | None = None,
    payer: Payer | None = None,
    health: HealthBook | None = None,
    max_attempts: int = 3,
    now_ms: int = 0,
    weights: Weights = Weights(),
) -> OrchestratorEndpoint:
    """Send the job to the first orchestrator that takes it; return that orchestrator.

    ``job_for(address)`` builds the job addressed to one orchestrator; ``payer`` (on-chain mode) adds the
    tickets paying for it; ``sign(body)`` (the gateway's key) signs the exact body sent. An orchestrator that
    cannot be reached, answers 5xx or 429, does not take jobs from this gateway (401, 403), or whose quote
    the gateway will not pay from, is skipped for the next in the weighted order. One that refuses a payment
    (402) is paid once more from a fresh quote (its round may just have ended), then skipped. At most
    ``max_attempts`` orchestrators are tried; each one that does not take the job gets a strike in ``health``.
    """
    if not candidates:
        raise Unavailable("no_orchestrators", "no orchestrator is configured to take work")
    failures: list[str] = []
    for orchestrator in rank(candidates, rng, preferred, weights)[:max_attempts]:
        tried = len(failures)
        taken = False
        for _ in range(2 if payer is not None else 1):
            job = job_for(orchestrator.address)
            if payer is not None:
                try:
                    with timing.timed(timing.TICKETS):
                        job = payer.pay(orchestrator.address, orchestrator.url, job)
                except QuoteRefused as refused:
                    failures.append(f"{orchestrator.address}: {refused.code}")
                    logger.warning(
                        "orchestrator's quote refused", orchestrator=orchestrator.address, reason=refused.code
                    )
                    break
            verdict, renewed = _post(orchestrator, job, timeout_s, http, sign, failures)
            if verdict in ("taken", "taken_spent"):
                if payer is not None:
                    if renewed is not None:
                        payer.renew(orchestrator.address, renewed)
                    elif verdict == "taken_spent":
                        payer.forget(orchestrator.address)  # a ticket won: the next job asks for a new quote
                taken = True
                break
            if verdict == "next":
                break
            assert payer is not None
            payer.forget(orchestrator.address)
        if health is not None:
            if taken:
                health.clear(orchestrator.address)
            else:
                health.strike(orchestrator.address, "; ".join(failures[tried:])[:200], now_ms)
        if taken:
            return orchestrator
    raise Unavailable("orchestrators_unavailable", "no orchestrator took the job", tried=failures)


def _post(
    orchestrator: OrchestratorEndpoint,
    job: TranscodeJob,
    timeout_s: float,
    http: requests.Session,
    sign: Callable[[bytes], str] | None,
    failures: list[str],
) -> tuple[_Verdict, Quote | None]:
    """POST the job; return the verdict, and the fresh quote a paid job's 202 may carry."""
    body = json.dumps(job.wire(), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if sign is not None:
        headers[SIGNATURE_HEADER] = sign(body)
    try:
        response = http.post(orchestrator.url.rstrip("/") + INTAKE_PATH, data=body, headers=headers, timeout=timeout_s)
    except requests.RequestException as error:
        failures.append(f"{orchestrator.address}: {type(error).__name__}")
        logger.warning("orchestrator unreachable", orchestrator=orchestrator.address, error=str(error))
        return "next", None
    if response.status_code in (200, 201, 202):
        if isinstance(job, PaidJob):  # the orchestrator's own time on the tickets (and its queue), as it says
            reported = timing.durations(response.headers.get(timing.HEADER))
            for name in set(timing.FROM_ORCHESTRATOR) & reported.keys():
                timing.add(name, reported[name])
        return _taken(response)
    failures.append(f"{orchestrator.address}: HTTP {response.status_code}")
    if response.status_code == 402:
        logger.warning(
            "orchestrator refused the payment", orchestrator=orchestrator.address, answer=response.text[:300]
        )
        return ("pay_again" if isinstance(job, PaidJob) else "next"), None
    if response.status_code in (401, 403):
        # This orchestrator does not take work from this gateway; another may.
        logger.warning(
            "orchestrator refused this gateway", orchestrator=orchestrator.address, answer=response.text[:300]
        )
        return "next", None
    if response.status_code < 500 and response.status_code != 429:
        # A 4xx means the job itself is wrong; another orchestrator would refuse it too.
        raise IntakeRefused("job_refused", f"orchestrator refused the job: {response.text[:300]}")
    logger.warning("orchestrator did not take the job", orchestrator=orchestrator.address, status=response.status_code)
    return "next", None


def _taken(response: requests.Response) -> tuple[_Verdict, Quote | None]:
    """Read a 202: whether the quote paid from is spent, and the fresh one the orchestrator sent, if any."""
    try:
        answer = response.json()
    except ValueError:
        return "taken", None
    if not isinstance(answer, dict):
        return "taken", None
    renewed = None
    if answer.get("quote") is not None:
        try:
            renewed = Quote.model_validate(answer["quote"])
        except ValidationError:
            logger.warning("the orchestrator's renewed quote is malformed: it is not used")
    return ("taken_spent" if answer.get("ticketParamsSpent") else "taken"), renewed
