"""A segment that is valid MPEG-TS but undecodable ends as a failed job with its reason, in the DLQ."""

from __future__ import annotations

import json

import pytest

from devstack.stack import LocalStack
from tests.integration.conftest import Api, wait_for
from tests.media import make_segments, scrambled

pytestmark = pytest.mark.slow


def undecodable_segment() -> bytes:
    """A real segment with its tables kept and every elementary stream payload scrambled."""
    return scrambled(make_segments("240p", n=1)[0].read_bytes())


def test_an_undecodable_segment_fails_with_its_reason_and_lands_in_the_dead_letter_queue(
    api: Api, stack: LocalStack
) -> None:
    stream = api.create_stream("undecodable")
    response = api.push(stream["streamKey"], 0, undecodable_segment())
    assert response.status_code == 202, response.text  # it looks like MPEG-TS: only decoding tells
    orchestrator = response.json()["orchestrator"]

    settings = stack.settings("dev")
    ddb = stack.client("dynamodb")
    key = {"streamId": {"S": stream["id"]}, "seq": {"N": "0"}}

    def failed() -> dict[str, object] | None:
        item = ddb.get_item(TableName=settings.name("segments"), Key=key, ConsistentRead=True).get("Item")
        return item if item and item["status"]["S"] == "failed" else None

    item = wait_for(failed, timeout=150, interval=0.5, what="the segment to be marked failed")
    assert item["error"]["M"]["code"]["S"] == "undecodable_source"
    assert item["error"]["M"]["message"]["S"]

    stage = next(s.name for s in stack.orchestrators if stack.address_of(s.name) == orchestrator)
    sqs = stack.client("sqs")
    dlq = sqs.get_queue_url(QueueName=stack.settings(stage).name("jobs") + "-dlq")["QueueUrl"]

    def in_dlq() -> list[dict[str, object]]:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
        ).get("Messages", [])
        return [m for m in messages if json.loads(str(m["Body"]))["jobId"] == f"{stream['id']}/0"]

    assert wait_for(in_dlq, timeout=60, what="the job in the dead-letter queue")
    # The playlists move past it: a gap, not a stall.
    assert api.get(f"/hls/{stream['playbackId']}/240p0/index.m3u8").status_code == 200
