"""boto3 clients, created lazily once per process.

boto3 honours ``AWS_ENDPOINT_URL`` itself, which is how the local stack (moto or LocalStack on
127.0.0.1:4566) is reached; nothing here knows whether the endpoint is AWS or not.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import settings

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, signature_version="s3v4")


@cache
def client(service: str) -> Any:
    """Return the shared boto3 client for ``service`` in the stage's region."""
    return boto3.session.Session().client(service, region_name=settings().region, config=_CONFIG)


_per_thread = threading.local()


def table(physical_name: str) -> Any:
    """Return a boto3 DynamoDB Table resource by its physical name.

    boto3 resources are not thread-safe (clients are), so each thread gets its own: Lambda runs one
    invocation per process at a time, but the local front serves many threads in one process.
    """
    tables: dict[str, Any] = _per_thread.__dict__.setdefault("tables", {})
    if physical_name not in tables:
        resource = boto3.session.Session().resource("dynamodb", region_name=settings().region, config=_CONFIG)
        tables[physical_name] = resource.Table(physical_name)
    return tables[physical_name]


@cache
def queue_url(physical_name: str) -> str:
    """Return (and remember) the URL of an SQS queue by name."""
    url: str = client("sqs").get_queue_url(QueueName=physical_name)["QueueUrl"]
    return url
