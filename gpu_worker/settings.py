"""The worker's settings, read from ``LP_WORKER_*`` (the stage itself comes from ``LP_STAGE``)."""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.jobs.pixels import DEFAULT_MAX_OVERRUN


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class QueueLoopSettings(BaseSettings):
    """What every queue-loop process (``worker.QueueLoop``) reads: its queue, the stage it serves, how it polls.
    Each kind reads them under its own prefix (``LP_WORKER_``, ``LP_RECORDER_``)."""

    # The queue: its URL, or its name (default: the stage's queue of this kind, e.g. lp-dev-jobs).
    queue_url: str | None = None
    queue_name: str | None = None
    # The stage, resource prefix and region it serves: the same LP_* variables the app reads.
    stage: str = Field(default="dev", validation_alias="LP_STAGE")
    resource_prefix: str | None = Field(default=None, validation_alias="LP_RESOURCE_PREFIX")
    region: str = Field(default="us-east-1", validation_alias="LP_REGION")
    # SQS long poll.
    wait_time_s: int = Field(default=20, ge=0, le=20)
    # Extend a running job's visibility this often, as a fraction of the queue's visibility timeout.
    heartbeat_fraction: float = Field(default=1 / 3, gt=0, lt=1)
    # Stop after this many jobs (0: never); useful for one-shot runs and tests.
    max_jobs: int = Field(default=0, ge=0)
    log_level: str = "INFO"


class WorkerSettings(QueueLoopSettings):
    """How one worker process runs. Environment variables are ``LP_WORKER_`` + the field name."""

    model_config = SettingsConfigDict(env_prefix="LP_WORKER_", extra="ignore")

    # A failed job comes back after this many seconds times its receive count (capped at the
    # queue's visibility timeout) instead of a whole visibility timeout.
    retry_delay_s: float = Field(default=2.0, ge=0)
    encoder: Literal["auto", "nvenc", "libx264"] = "auto"
    x264_preset: str | None = None
    # HTTP timeouts for the presigned GET/PUTs: (connect, read) seconds.
    http_connect_timeout_s: float = 5.0
    http_read_timeout_s: float = 60.0
    # Origins (scheme://host:port) job URLs may name although not public: the same LP_ALLOWED_JOB_ORIGINS
    # the orchestrator's intake reads. By default none: only public addresses.
    allowed_job_origins: list[str] = Field(default=[], validation_alias="LP_ALLOWED_JOB_ORIGINS")
    # The most source bytes one job may make the worker download.
    max_source_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    # On-chain mode: report what each paid job made to the orchestrator's usage queue (default: the
    # stage's ``usage`` queue), so the sender is charged for exactly that.
    report_usage: bool = Field(default=False, validation_alias="LP_WORKER_REPORT_USAGE")
    usage_queue_name: str | None = None
    # A paid job makes at most this many times the output pixels it paid for (chalicelib.jobs.pixels).
    max_paid_overrun: float = Field(default=DEFAULT_MAX_OVERRUN, ge=1)
    worker_id: str = Field(default_factory=_default_worker_id)


class RecorderSettings(QueueLoopSettings):
    """How one recorder process runs (``python -m gpu_worker.recorder``). Environment: ``LP_RECORDER_`` + name."""

    model_config = SettingsConfigDict(env_prefix="LP_RECORDER_", extra="ignore")

    # Its queue is the gateway's ``recordings`` queue (default: the stage's, e.g. lp-dev-recordings).
    retry_delay_s: float = Field(default=5.0, ge=0)
    # Where MP4s are made before they are uploaded (default: the system's temporary folder).
    work_dir: str | None = None
    recorder_id: str = Field(default_factory=_default_worker_id)
