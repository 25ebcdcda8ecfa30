"""``python -m gpu_worker``: run the transcoding worker against the stage's jobs queue."""

from __future__ import annotations

import argparse
import sys

import boto3

from chalicelib.core.outbound import policy_session
from chalicelib.core.resources import physical_name
from chalicelib.jobs.urls import UrlPolicy
from gpu_worker.encoders import select_encoder
from gpu_worker.logs import log
from gpu_worker.settings import WorkerSettings
from gpu_worker.worker import JobQueue, UsageQueue, Worker


def parse_args(argv: list[str] | None = None) -> WorkerSettings:
    """Read ``LP_WORKER_*`` settings; command-line options override them."""
    parser = argparse.ArgumentParser(prog="python -m gpu_worker", description=__doc__)
    parser.add_argument("--queue-url", help="the jobs queue URL (default: from --queue-name)")
    parser.add_argument("--queue-name", help="the jobs queue name (default: the stage's jobs queue)")
    parser.add_argument("--encoder", choices=["auto", "nvenc", "libx264"])
    parser.add_argument("--x264-preset")
    parser.add_argument("--wait-time-s", type=int)
    parser.add_argument("--max-jobs", type=int, help="exit after this many messages (0: never)")
    parser.add_argument("--log-level")
    given = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    return WorkerSettings(**given)


def main(argv: list[str] | None = None) -> int:
    """Start the worker: choose the encoder, find the queue, loop until stopped."""
    options = parse_args(argv)
    log.setLevel(options.log_level.upper())
    encoder = select_encoder(options.encoder, options.x264_preset)
    sqs = boto3.session.Session().client("sqs", region_name=options.region)
    if options.queue_url:
        queue = JobQueue(sqs, options.queue_url)
    else:
        default = physical_name(options.stage, "jobs", options.resource_prefix)
        queue = JobQueue.named(sqs, options.queue_name or default)
    usage_name = options.usage_queue_name or physical_name(options.stage, "usage", options.resource_prefix)
    usage = UsageQueue(sqs, sqs.get_queue_url(QueueName=usage_name)["QueueUrl"]) if options.report_usage else None
    policy = UrlPolicy.allowing(options.allowed_job_origins)
    with policy_session(policy) as session:
        worker = Worker(
            queue,
            encoder,
            session,
            wait_time_s=options.wait_time_s,
            heartbeat_fraction=options.heartbeat_fraction,
            max_jobs=options.max_jobs,
            retry_delay_s=options.retry_delay_s,
            worker_id=options.worker_id,
            timeout=(options.http_connect_timeout_s, options.http_read_timeout_s),
            policy=policy,
            max_source_bytes=options.max_source_bytes,
            usage=usage,
            max_paid_overrun=options.max_paid_overrun,
        )
        worker.install_signal_handlers()
        worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
