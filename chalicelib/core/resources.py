"""One definition of every bucket, table, queue and KMS key, read by the app, the local stack and Terraform.

The definitions live in ``resources.json`` beside this module so that Terraform can read the same
file with ``jsondecode(file(...))``. Physical names are ``{prefix}-{stage}-{logical name}``; every
queue has a dead-letter queue named ``{queue}-dlq``. A FIFO queue (``"fifo": true``) and its dead-letter
queue end in ``.fifo``, as SQS requires. A KMS key is reached by its alias, ``alias/{physical name}``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["gateway", "orchestrator"]

_DEFINITION_FILE = Path(__file__).with_name("resources.json")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Notification(_Frozen):
    """An S3 event notification delivered to one of the stage's queues."""

    queue: str
    prefix: str = ""
    suffix: str = ""
    events: tuple[str, ...] = ("s3:ObjectCreated:*",)


class BucketDef(_Frozen):
    """A bucket and the notifications it sends."""

    roles: tuple[Role, ...]
    notifications: tuple[Notification, ...] = ()


class TableDef(_Frozen):
    """A DynamoDB table: key schema and global secondary indexes (hash key only, all attributes)."""

    roles: tuple[Role, ...]
    hash_key: tuple[str, Literal["S", "N", "B"]] = Field(alias="hashKey")
    range_key: tuple[str, Literal["S", "N", "B"]] | None = Field(default=None, alias="rangeKey")
    indexes: dict[str, tuple[str, Literal["S", "N", "B"]]] = {}
    # DynamoDB deletes an item some time after the epoch second this attribute holds (none: kept).
    ttl_attribute: str | None = Field(default=None, alias="ttlAttribute")


class QueueDef(_Frozen):
    """An SQS queue, its consumer's batch size and the redrive policy to its dead-letter queue."""

    roles: tuple[Role, ...]
    visibility_timeout: int = Field(alias="visibilityTimeout")
    max_receive_count: int = Field(alias="maxReceiveCount")
    batch_size: int = Field(alias="batchSize")
    # FIFO: ordered within a message group, deduplicated by id; its dead-letter queue is FIFO too.
    fifo: bool = False


class KeyDef(_Frozen):
    """A symmetric KMS key (encrypt and decrypt), reached by its alias."""

    roles: tuple[Role, ...]
    description: str = ""


class Definitions(_Frozen):
    """Everything in ``resources.json``."""

    project: str
    buckets: dict[str, BucketDef]
    tables: dict[str, TableDef]
    queues: dict[str, QueueDef]
    keys: dict[str, KeyDef] = {}


@lru_cache(maxsize=1)
def definitions() -> Definitions:
    """Return the parsed resource definitions."""
    return Definitions.model_validate(json.loads(_DEFINITION_FILE.read_text()))


def physical_name(stage: str, logical: str, prefix: str | None = None) -> str:
    """Return the deployed name of a logical resource for a stage, e.g. ``lp-dev-media``."""
    return f"{prefix or definitions().project}-{stage}-{logical}"


FIFO_SUFFIX = ".fifo"


def key_alias(stage: str, logical: str, prefix: str | None = None) -> str:
    """Return the alias of a stage's KMS key, e.g. ``alias/lp-dev-webhooks``."""
    if logical not in definitions().keys:
        raise KeyError(f"no key {logical!r} in resources.json")
    return f"alias/{physical_name(stage, logical, prefix)}"


def queue_name(stage: str, logical: str, prefix: str | None = None) -> str:
    """Return the deployed name of a queue: ``lp-dev-jobs``, or ``lp-dev-chainevents.fifo`` for a FIFO queue."""
    name = physical_name(stage, logical, prefix)
    return name + FIFO_SUFFIX if definitions().queues[logical].fifo else name


def dlq_name(queue_physical_name: str) -> str:
    """Return the name of a queue's dead-letter queue (a FIFO queue's is FIFO: ``x-dlq.fifo``)."""
    if queue_physical_name.endswith(FIFO_SUFFIX):
        return f"{queue_physical_name.removesuffix(FIFO_SUFFIX)}-dlq{FIFO_SUFFIX}"
    return f"{queue_physical_name}-dlq"
