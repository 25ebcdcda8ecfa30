"""Sending a segment's transcode job to an orchestrator's intake, with failover to the next one."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

import requests

from chalicelib.config import OrchestratorEndpoint
from chalicelib.errors import ApiError, Unavailable
from chalicelib.media_keys import rendition_key, result_key, source_key
from chalicelib.models import JobOutput, Profile, TranscodeJob
from chalicelib.selection import rank

log = logging.getLogger(__name__)

INTAKE_PATH = "/orchestrator/jobs"


def build_job(
    *,
    s3: Any,
    bucket: str,
    stream_id: str,
    seq: int,
    size: int,
    duration_ms: int | None,
    profiles: Sequence[Profile],
    orchestrator: str,
    ttl_s: int,
    created_at: int,
) -> TranscodeJob:
    """Return the job for one segment, with presigned URLs for the source, renditions and result."""

    def presign(method: str, key: str, content_type: str | None = None) -> str:
        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        if content_type:
            params["ContentType"] = content_type
        url: str = s3.generate_presigned_url(method, Params=params, ExpiresIn=ttl_s)
        return url

    outputs = [
        JobOutput(
            profile=p,
            key=rendition_key(stream_id, p.name, seq),
            upload_url=presign("put_object", rendition_key(stream_id, p.name, seq), "video/mp2t"),
        )
        for p in profiles
    ]
    return TranscodeJob(
        job_id=f"{stream_id}/{seq}",
        stream_id=stream_id,
        seq=seq,
        source_url=presign("get_object", source_key(stream_id, seq)),
        source_bytes=size,
        duration_ms=duration_ms,
        outputs=outputs,
        result_key=result_key(stream_id, seq),
        result_url=presign("put_object", result_key(stream_id, seq), "application/json"),
        orchestrator=orchestrator,
        created_at=created_at,
    )


class IntakeRefused(ApiError):
    """An orchestrator's intake refused a job for a reason that another orchestrator would share."""

    status = 502


def send(
    job_for: Any,
    candidates: Sequence[OrchestratorEndpoint],
    *,
    preferred: str | None,
    timeout_s: float,
    http: requests.Session,
    rng: random.Random,
) -> OrchestratorEndpoint:
    """Send the job to the first orchestrator that takes it; return that orchestrator.

    ``job_for(address)`` builds the job addressed to one orchestrator. An orchestrator that cannot
    be reached, or answers 5xx or 429, is skipped for the next in the weighted order.
    """
    if not candidates:
        raise Unavailable("no_orchestrators", "no orchestrator is configured to take work")
    failures: list[str] = []
    for orchestrator in rank(candidates, rng, preferred):
        job: TranscodeJob = job_for(orchestrator.address)
        try:
            response = http.post(orchestrator.url.rstrip("/") + INTAKE_PATH, json=job.wire(), timeout=timeout_s)
        except requests.RequestException as error:
            failures.append(f"{orchestrator.address}: {type(error).__name__}")
            log.warning("orchestrator %s unreachable: %s", orchestrator.address, error)
            continue
        if response.status_code in (200, 201, 202):
            return orchestrator
        failures.append(f"{orchestrator.address}: HTTP {response.status_code}")
        if response.status_code < 500 and response.status_code != 429:
            # A 4xx means the job itself is wrong; another orchestrator would refuse it too.
            raise IntakeRefused("job_refused", f"orchestrator refused the job: {response.text[:300]}")
        log.warning("orchestrator %s answered %s", orchestrator.address, response.status_code)
    raise Unavailable("orchestrators_unavailable", "no orchestrator took the job", tried=failures)
