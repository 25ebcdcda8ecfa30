"""What every capability shares: structured log keys, and S3 notifications unwrapped from SQS."""

from __future__ import annotations

import io
import json

from chalicelib.core.batch import S3Object, SQSRecord, s3_objects_created
from chalicelib.core.logs import log_context, make_logger
from tests.domain.conftest import Stage


def test_log_lines_carry_the_context_keys_and_an_inner_block_gives_the_outer_values_back() -> None:
    out = io.StringIO()
    log = make_logger("lp-test-logs", out)
    with log_context(stream_id="s1", seq=4, job_id=None):
        log.info("outer")
        with log_context(seq=5, job_id="s1/5"):
            log.info("inner")
        log.info("outer again")
    log.info("outside")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    keys = [(line["message"], line.get("stream_id"), line.get("seq"), line.get("job_id")) for line in lines]
    assert keys == [
        ("outer", "s1", 4, None),
        ("inner", "s1", 5, "s1/5"),
        ("outer again", "s1", 4, None),
        ("outside", None, None, None),
    ]
    assert all(line["service"] == "lp-test-logs" and line["level"] == "INFO" for line in lines)


def test_an_s3_notification_through_sqs_names_its_object_with_the_key_decoded(stage: Stage) -> None:
    [configured] = stage.receive("results")
    assert s3_objects_created(SQSRecord(stage.sqs_event("results", [configured])["Records"][0])) == []
    stage.put_media("results/a b/ü+1.json", b"{}")
    [created] = stage.receive("results")
    record = SQSRecord(stage.sqs_event("results", [created])["Records"][0])
    assert s3_objects_created(record) == [S3Object(stage.name("media"), "results/a b/ü+1.json")]
