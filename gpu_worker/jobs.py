"""One transcode job end to end over presigned URLs: download the source, transcode, upload the
renditions and the result manifest. No queue here: the loop in ``worker.py`` owns the message."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from chalicelib.jobs.models import JobError, RenditionResult, TranscodeJob, TranscodeResult
from chalicelib.jobs.pixels import DEFAULT_MAX_OVERRUN, paid_pixel_limit
from chalicelib.jobs.urls import UrlPolicy, UrlRefused, check_job
from gpu_worker.encoders import EncoderChoice
from gpu_worker.errors import SourceTooLarge, SourceUnavailable, TranscodeError, UploadFailed, UrlNotAllowed
from gpu_worker.logs import log
from gpu_worker.transcode import Transcoded, transcode_segment

TS_CONTENT_TYPE = "video/mp2t"
JSON_CONTENT_TYPE = "application/json"
# (connect, read) seconds for every presigned GET/PUT; a whole download gets their sum.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 60.0)
# The most source bytes a worker reads (the gateway takes 4 MiB segments; this leaves room for others).
DEFAULT_MAX_SOURCE_BYTES = 32 * 1024 * 1024
CHUNK = 64 * 1024


def process_job(
    job: TranscodeJob,
    encoder: EncoderChoice,
    session: requests.Session,
    *,
    attempt: int = 1,
    final: bool = True,
    worker: str | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    policy: UrlPolicy = UrlPolicy(),
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    max_paid_overrun: float = DEFAULT_MAX_OVERRUN,
) -> TranscodeResult:
    """Run ``job`` and PUT its result manifest; return the result (``ok`` or ``failed``).

    Every URL of the job must pass ``policy`` (as written here; ``session`` should check the addresses it
    connects to: ``chalicelib.core.outbound.policy_session``), or the job fails with ``url_not_allowed``. A paid job
    (one with a ``payer``) makes at most ``max_paid_overrun`` times the pixels it paid for, or fails with
    ``exceeds_paid_pixels``; that failure is final (``final`` is then True whatever the attempt).

    Never raises for a bad job: a failure becomes a ``failed`` result with the error's stable
    code, written to ``result_url`` with ``attempt`` and ``final`` as given. A result whose own
    upload failed comes back ``failed`` with code ``upload_failed`` (nothing reached the gateway).
    """
    started = time.perf_counter()
    base = {
        "job_id": job.job_id,
        "stream_id": job.stream_id,
        "seq": job.seq,
        "orchestrator": job.orchestrator,
        "attempt": attempt,
        "encoder": encoder.name,
        "worker": worker,
    }
    marks = [time.perf_counter()]
    try:
        try:
            check_job(job, policy)
        except UrlRefused as refused:
            raise UrlNotAllowed(refused.message) from None
        source = download_source(job, session, timeout, max_source_bytes)
        marks.append(time.perf_counter())
        limit = paid_pixel_limit(job, max_paid_overrun) if job.payer is not None else None
        transcoded = transcode_segment(source, [o.profile for o in job.outputs], encoder, limit)
        marks.append(time.perf_counter())
        renditions = upload_renditions(job, transcoded, session, timeout)
        marks.append(time.perf_counter())
        result = TranscodeResult.model_validate(
            {
                **base,
                "status": "ok",
                "final": True,
                "source": transcoded.source,
                "renditions": renditions,
                "transcode_ms": transcoded.elapsed_ms,
            }
        )
    except TranscodeError as error:
        result = _failed(base, final or not error.retry, error.code, error.message, started)
    except Exception as error:  # a bug must not kill the loop; the job is retried, then DLQ'd
        log.exception("job %s failed unexpectedly", job.job_id)
        result = _failed(base, final, "internal_error", f"{type(error).__name__}: {error}", started)
    try:
        upload_result(job, result, session, timeout)
    except UploadFailed as error:
        log.error("job %s: the result manifest was not written: %s", job.job_id, error.message)
        return _failed(base, final, error.code, error.message, started)
    marks.append(time.perf_counter())
    steps = ("download", "transcode", "upload", "manifest")
    log.info(
        "job %s %s: %s",
        job.job_id,
        result.status,
        ", ".join(f"{name} {(b - a) * 1000:.0f} ms" for name, a, b in zip(steps, marks, marks[1:], strict=False)),
    )
    return result


def _failed(base: dict[str, object], final: bool, code: str, message: str, started: float) -> TranscodeResult:
    return TranscodeResult.model_validate(
        {
            **base,
            "status": "failed",
            "final": final,
            "error": JobError(code=code, message=message[:1000]),
            "transcode_ms": round((time.perf_counter() - started) * 1000),
        }
    )


def download_source(
    job: TranscodeJob,
    session: requests.Session,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
) -> bytes:
    """GET the source segment from its presigned URL, at most ``max_bytes`` and within the timeouts' sum;
    raise ``SourceUnavailable``, ``SourceTooLarge`` or ``UrlNotAllowed``. Redirects are not followed."""
    deadline = time.monotonic() + sum(timeout)
    chunks: list[bytes] = []
    size = 0
    try:
        with session.get(job.source_url, timeout=timeout, stream=True, allow_redirects=False) as response:
            if response.status_code != 200:
                raise SourceUnavailable(f"downloading the source answered HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceTooLarge(f"the source is {declared} bytes, over the {max_bytes}-byte limit")
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise SourceTooLarge(f"the source is over the {max_bytes}-byte limit")
                if time.monotonic() > deadline:
                    raise SourceUnavailable(f"downloading the source took over {sum(timeout):.0f} s")
                chunks.append(chunk)
    except UrlRefused as refused:
        raise UrlNotAllowed(f"sourceUrl: {refused.message}") from None
    except requests.RequestException as error:
        raise SourceUnavailable(f"downloading the source failed: {error}") from error
    data = b"".join(chunks)
    if len(data) != job.source_bytes:
        log.warning("job %s: source is %d bytes, the job said %d", job.job_id, len(data), job.source_bytes)
    return data


def upload_renditions(
    job: TranscodeJob,
    transcoded: Transcoded,
    session: requests.Session,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> list[RenditionResult]:
    """PUT every rendition to its output's presigned URL, side by side; return what the manifest lists."""
    outputs = {o.profile.name: o for o in job.outputs}
    with ThreadPoolExecutor(max_workers=max(1, len(transcoded.renditions)), thread_name_prefix="upload") as pool:
        uploads = [
            pool.submit(
                _put,
                session,
                outputs[r.profile.name].upload_url,
                r.data,
                TS_CONTENT_TYPE,
                timeout,
                outputs[r.profile.name].key,
            )
            for r in transcoded.renditions
        ]
        for upload in uploads:
            upload.result()  # raises the first UploadFailed
    results = []
    for rendition in transcoded.renditions:
        output = outputs[rendition.profile.name]
        results.append(
            RenditionResult(
                name=rendition.profile.name,
                key=output.key,
                width=rendition.width,
                height=rendition.height,
                bitrate=rendition.bitrate,
                codecs=rendition.codecs,
                frames=rendition.frames,
                duration_ms=rendition.duration_ms,
                bytes=len(rendition.data),
                encode_ms=rendition.encode_ms,
            )
        )
    return results


def upload_result(
    job: TranscodeJob,
    result: TranscodeResult,
    session: requests.Session,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> None:
    """PUT the result manifest (camelCase JSON) to the job's presigned ``result_url``."""
    body = result.model_dump_json(by_alias=True, exclude_none=True).encode()
    _put(session, job.result_url, body, JSON_CONTENT_TYPE, timeout, job.result_key)


def _put(
    session: requests.Session,
    url: str,
    body: bytes,
    content_type: str,
    timeout: tuple[float, float],
    what: str,
) -> None:
    try:
        response = session.put(
            url, data=body, headers={"Content-Type": content_type}, timeout=timeout, allow_redirects=False
        )
    except UrlRefused as refused:
        raise UploadFailed(f"uploading {what} refused: {refused.message}", code=UrlNotAllowed.code) from None
    except requests.RequestException as error:
        raise UploadFailed(f"uploading {what} failed: {error}") from error
    if not 200 <= response.status_code < 300:
        raise UploadFailed(f"uploading {what} answered HTTP {response.status_code}")
