"""The orchestrator's intake: check a job sent by a gateway and put it on this orchestrator's queue.

Every gateway is a stranger until it proves otherwise, and nothing is queued before every check passed:
in off-chain mode the job must be signed by a gateway this orchestrator allows; it must be addressed to
this orchestrator and recent; and every URL in it must pass the job URL policy (no loopback, private,
link-local or metadata addresses unless the operator allowed that origin). Payment checks (tickets, in
on-chain mode) slot in here too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from chalicelib.core.errors import BadRequest, Forbidden, Unauthorized, Unprocessable, invalid
from chalicelib.core.logs import log_context, logger
from chalicelib.intake.queue import JobsQueue
from chalicelib.jobs.models import TranscodeJob
from chalicelib.jobs.signing import SIGNATURE_HEADER, signer_of
from chalicelib.jobs.urls import UrlPolicy, UrlRefused, check_job


@dataclass(frozen=True)
class IntakeRules:
    """What this orchestrator takes: from whom, for whom, how old, and which URLs."""

    my_address: str | None
    allowed_gateways: Sequence[str]
    url_policy: UrlPolicy
    max_job_age_ms: int
    now_ms: int


def parse_job(body: bytes) -> TranscodeJob:
    """Parse and validate a job body, or raise a 4xx error naming what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "the body is not JSON") from None
    try:
        return TranscodeJob.model_validate(data)
    except ValidationError as error:
        raise invalid("invalid_job", "the job does not match the schema", error) from None


def authenticate_gateway(body: bytes, signature: str | None, allowed: Sequence[str]) -> str:
    """Return the allowed gateway that signed ``body``, or raise 401 (unsigned, bad signature) / 403."""
    if not signature:
        raise Unauthorized("job_unsigned", f"a job must carry its gateway's signature in {SIGNATURE_HEADER}")
    try:
        signer = signer_of(body, signature)
    except ValueError as error:
        raise Unauthorized("job_bad_signature", f"the job's signature is unusable: {error}") from None
    if signer.lower() not in {a.lower() for a in allowed}:
        raise Forbidden("gateway_not_allowed", f"this orchestrator takes no jobs from {signer}")
    return signer


def check_job_terms(job: TranscodeJob, rules: IntakeRules) -> None:
    """Refuse a job that is not for this orchestrator, too old or from the future, or names a URL the
    policy refuses (422, each with its own code)."""
    if rules.my_address is not None and job.orchestrator.lower() != rules.my_address.lower():
        raise Unprocessable(
            "wrong_orchestrator", f"this orchestrator is {rules.my_address}, the job is for {job.orchestrator}"
        )
    age_ms = rules.now_ms - job.created_at
    if not -60_000 <= age_ms <= rules.max_job_age_ms:  # a minute of clock skew either way
        raise Unprocessable(
            "job_expired", f"the job was made {age_ms / 1000:.0f} s ago; at most {rules.max_job_age_ms / 1000:.0f} s"
        )
    try:
        check_job(job, rules.url_policy)
    except UrlRefused as refused:
        raise Unprocessable("job_url_not_allowed", refused.message, reason=refused.code) from None


def take_job(body: bytes, signature: str | None, rules: IntakeRules, queue: JobsQueue) -> tuple[TranscodeJob, str]:
    """Authenticate, parse and check a job, then queue it; return it and the SQS message id."""
    gateway = authenticate_gateway(body, signature, rules.allowed_gateways)
    job = parse_job(body)
    with log_context(stream_id=job.stream_id, seq=job.seq, job_id=job.job_id):
        check_job_terms(job, rules)
        message_id = queue.send(job)
        logger.info("job queued", message_id=message_id, gateway=gateway)
        return job, message_id
