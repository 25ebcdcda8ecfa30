"""boto3 clients, created lazily once per process, typed with the boto3 stubs.

boto3 honours ``AWS_ENDPOINT_URL`` itself, which is how the local stack (moto or LocalStack on
127.0.0.1:4566) is reached; nothing here knows whether the endpoint is AWS or not.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from chalicelib.core.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, signature_version="s3v4")


@cache
def s3() -> S3Client:
    """Return the process's S3 client."""
    return boto3.session.Session().client("s3", region_name=settings().region, config=_CONFIG)


@cache
def sqs() -> SQSClient:
    """Return the process's SQS client."""
    return boto3.session.Session().client("sqs", region_name=settings().region, config=_CONFIG)


@cache
def kms() -> KMSClient:
    """Return the process's KMS client."""
    return boto3.session.Session().client("kms", region_name=settings().region, config=_CONFIG)


_per_thread = threading.local()


def table(physical_name: str) -> Table:
    """Return a DynamoDB Table resource by its physical name.

    boto3 resources are not thread-safe (clients are), so each thread gets its own: Lambda runs one
    invocation per process at a time, but the local front serves many threads in one process.
    """
    tables: dict[str, Table] = _per_thread.__dict__.setdefault("tables", {})
    if physical_name not in tables:
        resource = boto3.session.Session().resource("dynamodb", region_name=settings().region, config=_CONFIG)
        tables[physical_name] = resource.Table(physical_name)
    return tables[physical_name]


@cache
def queue_url(physical_name: str) -> str:
    """Return (and remember) the URL of an SQS queue by name."""
    return sqs().get_queue_url(QueueName=physical_name)["QueueUrl"]
