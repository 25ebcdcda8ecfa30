"""Which URLs a job may make an orchestrator's worker fetch or write.

A job comes from a gateway, which in an open network may be a stranger, and names the URLs the worker GETs
(the source) and PUTs (renditions, the result manifest). Every one of them must pass the server-side request
policy of ``core.urls`` (http(s) to public addresses, plus the origins the operator allows): the intake
checks the URLs as written, the worker the addresses it connects to. The policy's names are re-exported
here, where the worker and the intake have always found them.
"""

from __future__ import annotations

from chalicelib.core.urls import Address, Origin, UrlPolicy, UrlRefused, is_public, literal_address
from chalicelib.jobs.models import TranscodeJob

__all__ = [
    "Address",
    "Origin",
    "UrlPolicy",
    "UrlRefused",
    "check_job",
    "is_public",
    "job_urls",
    "literal_address",
]


def job_urls(job: TranscodeJob) -> list[tuple[str, str]]:
    """Every URL a job makes the worker use, with its field name on the wire."""
    outputs = [(f"outputs[{i}].uploadUrl", o.upload_url) for i, o in enumerate(job.outputs)]
    return [("sourceUrl", job.source_url), *outputs, ("resultUrl", job.result_url)]


def check_job(job: TranscodeJob, policy: UrlPolicy) -> None:
    """Refuse ``job`` unless every URL it names is allowed (as written; the worker checks the addresses)."""
    for field, url in job_urls(job):
        try:
            policy.check(url)
        except UrlRefused as refused:
            raise UrlRefused(refused.code, f"{field}: {refused.message}") from None
