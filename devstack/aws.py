"""The AWS endpoint of the local stack: a moto server (or a running LocalStack) and the stage resources.

``provision`` creates, from ``chalicelib/resources.json``, what Terraform creates in AWS for one
stage: buckets with their S3 notifications to the stage's queues, DynamoDB tables with their
indexes, and queues with their dead-letter queues and redrive policies. Running it twice is fine.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.core.resources import BucketDef, Definitions, QueueDef, TableDef, definitions, dlq_name

log = logging.getLogger("devstack.aws")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# A dead-letter queue keeps its messages as long as SQS allows (14 days), so nothing is lost.
DLQ_RETENTION_S = 14 * 24 * 3600
# Boto calls to the local endpoint fail fast: nothing there is worth waiting for.
_BOTO_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def endpoint_env(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Return the environment that points boto3 (and the app) at a local endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **DUMMY_CREDENTIALS,
    }


def session(region: str = DEFAULT_REGION) -> boto3.session.Session:
    """Return a boto3 session with dummy credentials; clients from :func:`client` reach the endpoint."""
    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )


def client(sess: boto3.session.Session, service: str, endpoint_url: str) -> Any:
    """Return a client of ``sess`` for ``service`` at ``endpoint_url``."""
    return sess.client(service, endpoint_url=endpoint_url, config=_BOTO_CONFIG)


def endpoint_answers(endpoint_url: str, timeout: float = 1.0) -> bool:
    """Tell whether anything answers HTTP at ``endpoint_url`` (any status counts)."""
    try:
        with urllib.request.urlopen(endpoint_url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until_answers(endpoint_url: str, timeout: float = 20.0, what: str = "endpoint") -> None:
    """Wait until ``endpoint_url`` answers HTTP, or raise ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while not endpoint_answers(endpoint_url, timeout=0.5):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} at {endpoint_url} did not answer within {timeout:.0f} s")
        time.sleep(0.05)


@dataclass
class MotoEndpoint:
    """A moto server this process started: as a subprocess (the default) or a thread in-process."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    in_process: bool = False
    log_file: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _thread_server: Any = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:4566``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The subprocess's pid, if moto runs as one."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 20.0, detach: bool = False) -> MotoEndpoint:
        """Start moto and wait until it answers; ``detach`` lets it outlive this process."""
        if self.in_process:
            from moto.server import ThreadedMotoServer

            self._thread_server = ThreadedMotoServer(self.host, self.port, verbose=False)
            self._thread_server.start()
        else:
            out: int | IO[bytes] = subprocess.DEVNULL
            if self.log_file is not None:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                self._log = self.log_file.open("ab")
                out = self._log
            cmd = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
            self._process = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        log.info("moto answers at %s", self.url)
        return self

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not endpoint_answers(self.url, timeout=0.5):
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto did not answer at {self.url} within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop moto (SIGTERM, then SIGKILL after 5 s)."""
        if self._thread_server is not None:
            self._thread_server.stop()
            self._thread_server = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> MotoEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_local(endpoint_url: str) -> bool:
    """Tell whether an endpoint URL names this machine (so that we may start moto there)."""
    return (urlsplit(endpoint_url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def ensure_endpoint(
    endpoint_url: str | None = None,
    *,
    in_process: bool = False,
    log_file: Path | None = None,
    detach: bool = False,
) -> tuple[str, MotoEndpoint | None]:
    """Use ``endpoint_url`` (or ``$AWS_ENDPOINT_URL``) if something answers there, else start moto.

    Returns the URL and the moto this call started (``None`` when an endpoint was already there).
    """
    url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    if endpoint_answers(url):
        log.info("using the AWS endpoint already answering at %s", url)
        return url, None
    if not is_local(url):
        raise RuntimeError(f"nothing answers at {url}, and it is not on this machine")
    parts = urlsplit(url)
    moto = MotoEndpoint(
        host=parts.hostname or DEFAULT_HOST,
        port=parts.port or DEFAULT_PORT,
        in_process=in_process,
        log_file=log_file,
    )
    moto.start(detach=detach)
    return moto.url, moto


# --- provisioning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageResources:
    """The physical names (and queue URLs/ARNs) created for one stage."""

    stage: str
    buckets: dict[str, str]
    tables: dict[str, str]
    queue_urls: dict[str, str]
    queue_arns: dict[str, str]
    dlq_urls: dict[str, str]


def _name(stage: str, logical: str, prefix: str | None, defs: Definitions) -> str:
    return f"{prefix or defs.project}-{stage}-{logical}"


def _selected(items: Mapping[str, Any], roles: Iterable[str]) -> dict[str, Any]:
    wanted = set(roles)
    return {k: v for k, v in items.items() if wanted.intersection(v.roles)}


def provision(
    stage: str,
    roles: Iterable[str],
    endpoint_url: str,
    *,
    region: str = DEFAULT_REGION,
    prefix: str | None = None,
    defs: Definitions | None = None,
) -> StageResources:
    """Create every resource of ``stage`` for ``roles`` at ``endpoint_url`` (idempotent)."""
    defs = defs or definitions()
    roles = tuple(roles)
    sess = session(region)
    sqs = client(sess, "sqs", endpoint_url)
    ddb = client(sess, "dynamodb", endpoint_url)
    s3 = client(sess, "s3", endpoint_url)

    buckets = _selected(defs.buckets, roles)
    queues = _selected(defs.queues, roles)
    tables = _selected(defs.tables, roles)
    bucket_names = {k: _name(stage, k, prefix, defs) for k in buckets}
    # Queues that receive S3 notifications need a policy letting S3 send to them.
    notified: dict[str, list[str]] = {}
    for logical, bucket in buckets.items():
        for note in bucket.notifications:
            notified.setdefault(note.queue, []).append(bucket_names[logical])

    queue_urls: dict[str, str] = {}
    queue_arns: dict[str, str] = {}
    dlq_urls: dict[str, str] = {}
    for logical, qdef in queues.items():
        name = _name(stage, logical, prefix, defs)
        url, arn, dlq_url = _ensure_queue(sqs, name, qdef, notified.get(logical, []))
        queue_urls[logical], queue_arns[logical], dlq_urls[logical] = url, arn, dlq_url

    table_names: dict[str, str] = {}
    for logical, tdef in tables.items():
        table_names[logical] = _name(stage, logical, prefix, defs)
        _ensure_table(ddb, table_names[logical], tdef)

    for logical, bdef in buckets.items():
        _ensure_bucket(s3, bucket_names[logical], region)
        _ensure_notifications(s3, bucket_names[logical], bdef, queue_arns)

    log.info(
        "stage %s (%s): %d buckets, %d tables, %d queues ready",
        stage,
        ",".join(roles),
        len(bucket_names),
        len(table_names),
        len(queue_urls),
    )
    return StageResources(stage, bucket_names, table_names, queue_urls, queue_arns, dlq_urls)


def _queue_arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def s3_send_policy(queue_arn: str, bucket_names: Iterable[str]) -> str:
    """Return the queue policy that lets S3 send notifications from ``bucket_names``."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowS3Notifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in bucket_names]}},
                }
            ],
        }
    )


def _ensure_queue(sqs: Any, name: str, qdef: QueueDef, notifying_buckets: list[str]) -> tuple[str, str, str]:
    # create_queue without attributes is idempotent everywhere; attributes are then set, so a
    # changed definition is applied to an existing queue instead of failing QueueAlreadyExists.
    dlq_url = sqs.create_queue(QueueName=dlq_name(name))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)})
    dlq_arn = _queue_arn(sqs, dlq_url)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = _queue_arn(sqs, url)
    attributes = {
        "VisibilityTimeout": str(qdef.visibility_timeout),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(qdef.max_receive_count)}),
    }
    if notifying_buckets:
        attributes["Policy"] = s3_send_policy(arn, notifying_buckets)
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url, arn, dlq_url


def table_spec(name: str, tdef: TableDef) -> dict[str, Any]:
    """Return the ``CreateTable`` arguments of a table definition."""
    attrs = {tdef.hash_key[0]: tdef.hash_key[1]}
    keys = [{"AttributeName": tdef.hash_key[0], "KeyType": "HASH"}]
    if tdef.range_key is not None:
        attrs[tdef.range_key[0]] = tdef.range_key[1]
        keys.append({"AttributeName": tdef.range_key[0], "KeyType": "RANGE"})
    gsis = []
    for index, (attr, kind) in tdef.indexes.items():
        attrs[attr] = kind
        gsis.append(
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in attrs.items()],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if gsis:
        spec["GlobalSecondaryIndexes"] = gsis
    return spec


def _ensure_table(ddb: Any, name: str, tdef: TableDef) -> None:
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


def _ensure_bucket(s3: Any, name: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as err:
        if err.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def notification_configs(bdef: BucketDef, queue_arns: Mapping[str, str]) -> list[dict[str, Any]]:
    """Return the ``QueueConfigurations`` of a bucket definition."""
    configs = []
    for note in bdef.notifications:
        config: dict[str, Any] = {
            "Id": f"{note.queue}-{note.prefix}-{note.suffix}".replace("/", "_"),
            "QueueArn": queue_arns[note.queue],
            "Events": list(note.events),
        }
        rules = [{"Name": k, "Value": v} for k, v in (("prefix", note.prefix), ("suffix", note.suffix)) if v]
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        configs.append(config)
    return configs


def _comparable(configs: Iterable[Mapping[str, Any]]) -> list[str]:
    out = []
    for c in configs:
        rules = sorted(
            (r["Name"].lower(), r["Value"]) for r in c.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        )
        out.append(json.dumps([c.get("Id"), c["QueueArn"], sorted(c["Events"]), rules]))
    return sorted(out)


def put_queue_notifications(s3: Any, bucket: str, configs: list[dict[str, Any]], replace_ids: Iterable[str]) -> None:
    """Merge queue notifications into a bucket's configuration, leaving other notifications alone.

    The configuration is only written when it changes: S3 sends an ``s3:TestEvent`` to every target
    queue each time it is written.
    """
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    ids = set(replace_ids) | {c["Id"] for c in configs}
    kept = [c for c in current.get("QueueConfigurations", []) if c.get("Id") not in ids]
    wanted = kept + configs
    if _comparable(wanted) == _comparable(current.get("QueueConfigurations", [])):
        return
    current["QueueConfigurations"] = wanted
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)


def _ensure_notifications(s3: Any, bucket: str, bdef: BucketDef, queue_arns: Mapping[str, str]) -> None:
    if bdef.notifications:
        put_queue_notifications(s3, bucket, notification_configs(bdef, queue_arns), ())
