"""The AWS side of the local stack: boto3 sessions aimed at moto (or LocalStack), and each stage's resources.

``provision`` creates, from ``chalicelib/core/resources.json``, what Terraform creates in AWS for one
stage: buckets with their S3 notifications to the stage's queues, DynamoDB tables with their
indexes and time to live, queues with their dead-letter queues and redrive policies, and KMS keys
under their aliases. Running it twice is fine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.core.resources import (
    FIFO_SUFFIX,
    BucketDef,
    Definitions,
    TableDef,
    definitions,
    dlq_name,
    key_alias,
    physical_name,
    queue_name,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import NotificationConfigurationTypeDef
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

log = logging.getLogger("devstack.aws")

DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# A dead-letter queue keeps its messages as long as SQS allows (14 days), so nothing is lost.
DLQ_RETENTION_S = 14 * 24 * 3600
# Boto calls to the local endpoint fail fast: nothing there is worth waiting for.
_BOTO_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def endpoint_env(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Return the environment that points boto3 (and the app) at a local endpoint."""
    return {"AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": region, "AWS_REGION": region, **DUMMY_CREDENTIALS}


def session(region: str = DEFAULT_REGION) -> boto3.session.Session:
    """Return a boto3 session with the dummy credentials moto and LocalStack accept."""
    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )


def client(sess: boto3.session.Session, service: str, endpoint_url: str | None) -> Any:
    """Return a client of ``sess`` for ``service`` at ``endpoint_url`` (None: boto3's own resolution)."""
    # The stubs type each service name's overload; a name chosen at run time matches none of them.
    make: Any = sess.client
    return make(service, endpoint_url=endpoint_url, config=_BOTO_CONFIG)


def is_local(endpoint_url: str) -> bool:
    """Tell whether an endpoint URL names this machine (so that we may start moto there)."""
    return (urlsplit(endpoint_url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class StageResources:
    """What was created for one stage: physical names by logical name, the queues, and the keys' aliases."""

    stage: str
    buckets: dict[str, str]
    tables: dict[str, str]
    queues: dict[str, Queue]
    keys: dict[str, str] = field(default_factory=dict)


def provision(
    stage: str,
    roles: Iterable[str],
    endpoint_url: str | None,
    *,
    region: str = DEFAULT_REGION,
    prefix: str | None = None,
    defs: Definitions | None = None,
) -> StageResources:
    """Create every resource of ``stage`` for ``roles`` (idempotent); a None endpoint is boto3's default."""
    defs = defs or definitions()
    roles = tuple(roles)
    sess = session(region)
    sqs: SQSClient = client(sess, "sqs", endpoint_url)
    ddb: DynamoDBClient = client(sess, "dynamodb", endpoint_url)
    s3: S3Client = client(sess, "s3", endpoint_url)
    kms: KMSClient = client(sess, "kms", endpoint_url)

    def mine(items: Mapping[str, Any]) -> dict[str, str]:
        """The physical names of the definitions that belong to one of ``roles``."""
        return {k: physical_name(stage, k, prefix) for k, v in items.items() if set(roles) & set(v.roles)}

    buckets, tables = mine(defs.buckets), mine(defs.tables)
    keys = {k: key_alias(stage, k, prefix) for k in mine(defs.keys)}
    queues = {k: queue_name(stage, k, prefix) for k in mine(defs.queues)}
    # Queues that receive S3 notifications need a policy letting S3 send to them.
    notifying: dict[str, list[str]] = {}
    for logical, bucket in buckets.items():
        for note in defs.buckets[logical].notifications:
            notifying.setdefault(note.queue, []).append(bucket)
    made_queues = {
        logical: ensure_queue(
            sqs,
            name,
            visibility_timeout=defs.queues[logical].visibility_timeout,
            max_receive_count=defs.queues[logical].max_receive_count,
            s3_buckets=notifying.get(logical, ()),
            fifo=defs.queues[logical].fifo,
        )
        for logical, name in queues.items()
    }
    queue_arns = {logical: queue.arn for logical, queue in made_queues.items()}
    for logical, name in tables.items():
        _ensure_table(ddb, name, defs.tables[logical])
    for logical, alias in keys.items():
        _ensure_key(kms, alias, defs.keys[logical].description)
    for logical, name in buckets.items():
        _ensure_bucket(s3, name, region)
        _ensure_notifications(s3, name, defs.buckets[logical], queue_arns)
    counts = len(buckets), len(tables), len(queues), len(keys)
    log.info("stage %s (%s): %d buckets, %d tables, %d queues, %d keys ready", stage, ",".join(roles), *counts)
    return StageResources(stage, buckets, tables, made_queues, keys)


class Queue(NamedTuple):
    """A queue and its dead-letter queue."""

    url: str
    arn: str
    dlq_url: str


def ensure_queue(
    sqs: SQSClient,
    name: str,
    *,
    visibility_timeout: int,
    max_receive_count: int,
    s3_buckets: Sequence[str] = (),
    fifo: bool = False,
) -> Queue:
    """Create (or update) a queue with its ``-dlq`` and redrive policy; ``s3_buckets`` may notify it.

    ``fifo`` makes both FIFO (``name`` must then end in ``.fifo``); a FIFO queue's type is fixed at
    creation, so it is the one attribute passed to ``create_queue``.
    """
    if fifo != name.endswith(FIFO_SUFFIX):
        raise ValueError(f"queue {name!r}: a FIFO queue's name ends in {FIFO_SUFFIX}, and only a FIFO queue's")
    # create_queue without attributes is idempotent everywhere; attributes are then set, so a
    # changed definition is applied to an existing queue instead of failing QueueAlreadyExists.
    kind: dict[QueueAttributeNameType, str] = {"FifoQueue": "true"} if fifo else {}
    dlq_url = sqs.create_queue(QueueName=dlq_name(name), Attributes=kind)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)})
    url = sqs.create_queue(QueueName=name, Attributes=kind)["QueueUrl"]
    arn = _queue_arn(sqs, url)
    redrive = {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(max_receive_count)}
    attributes: dict[QueueAttributeNameType, str] = {
        "VisibilityTimeout": str(visibility_timeout),
        "RedrivePolicy": json.dumps(redrive),
    }
    if s3_buckets:
        attributes["Policy"] = s3_send_policy(arn, s3_buckets)
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return Queue(url, arn, dlq_url)


def _queue_arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def s3_send_policy(queue_arn: str, bucket_names: Iterable[str]) -> str:
    """Return the queue policy that lets S3 send notifications from ``bucket_names``."""
    statement = {
        "Sid": "AllowS3Notifications",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in bucket_names]}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def table_spec(name: str, tdef: TableDef) -> dict[str, Any]:
    """Return the ``CreateTable`` arguments of a table definition (GSIs project ALL, on demand)."""
    attrs = {tdef.hash_key[0]: tdef.hash_key[1]}
    keys = [{"AttributeName": tdef.hash_key[0], "KeyType": "HASH"}]
    if tdef.range_key is not None:
        attrs[tdef.range_key[0]] = tdef.range_key[1]
        keys.append({"AttributeName": tdef.range_key[0], "KeyType": "RANGE"})
    gsis = []
    for index, (attr, kind) in tdef.indexes.items():
        attrs[attr] = kind
        key = [{"AttributeName": attr, "KeyType": "HASH"}]
        gsis.append({"IndexName": index, "KeySchema": key, "Projection": {"ProjectionType": "ALL"}})
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in attrs.items()],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if gsis:
        spec["GlobalSecondaryIndexes"] = gsis
    return spec


def _ensure_table(ddb: DynamoDBClient, name: str, tdef: TableDef) -> None:
    try:
        ddb.describe_table(TableName=name)
        return
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    try:
        ddb.create_table(**table_spec(name, tdef))
    except ClientError as err:  # created meanwhile by another process
        if err.response["Error"]["Code"] != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    if tdef.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": tdef.ttl_attribute}
        )


def _ensure_key(kms: KMSClient, alias: str, description: str) -> None:
    """A symmetric key under ``alias``, made once (an alias names one key; a second provisioning finds it)."""
    aliases = {a["AliasName"] for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]}
    if alias in aliases:
        return
    key_id = kms.create_key(Description=description or alias, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    try:
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    except ClientError as err:  # made meanwhile by another process: theirs is the key
        if err.response["Error"]["Code"] != "AlreadyExistsException":
            raise
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def _ensure_bucket(s3: S3Client, name: str, region: str) -> None:
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            location = cast("BucketLocationConstraintType", region)
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": location})
    except ClientError as err:
        if err.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def _comparable(configs: Iterable[Mapping[str, Any]]) -> list[str]:
    out = []
    for c in configs:
        rules = c.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        filters = sorted((r["Name"].lower(), r["Value"]) for r in rules)
        out.append(json.dumps([c.get("Id"), c["QueueArn"], sorted(c["Events"]), filters]))
    return sorted(out)


def _ensure_notifications(s3: S3Client, bucket: str, bdef: BucketDef, queue_arns: Mapping[str, str]) -> None:
    """Write the bucket's queue notifications, only when they change.

    S3 sends an ``s3:TestEvent`` to every target queue each time the configuration is written.
    Topic and Lambda notifications set by others are kept.
    """
    wanted = []
    for note in bdef.notifications:
        rules = [{"Name": k, "Value": v} for k, v in (("prefix", note.prefix), ("suffix", note.suffix)) if v]
        wanted.append(
            {
                "Id": f"{note.queue}-{note.prefix}-{note.suffix}".replace("/", "_"),
                "QueueArn": queue_arns[note.queue],
                "Events": list(note.events),
                **({"Filter": {"Key": {"FilterRules": rules}}} if rules else {}),
            }
        )
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    if not wanted or _comparable(wanted) == _comparable(current.get("QueueConfigurations", [])):
        return
    kept = {k: v for k, v in current.items() if k in ("TopicConfigurations", "LambdaFunctionConfigurations")}
    configuration = cast("NotificationConfigurationTypeDef", {**kept, "QueueConfigurations": wanted})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
