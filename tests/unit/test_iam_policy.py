"""The functions' IAM policy (.chalice/policy.json) allows every AWS call the library makes.

A call the policy misses works on the local stack (moto checks no permissions) and fails only once deployed,
so the calls are read from the source and each must map to an action the policy grants.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: boto3 method → the IAM actions it needs (a transaction needs those of the writes it may contain).
ACTIONS: dict[str, set[str]] = {
    "get_item": {"dynamodb:GetItem"},
    "batch_get_item": {"dynamodb:BatchGetItem"},
    "put_item": {"dynamodb:PutItem"},
    "update_item": {"dynamodb:UpdateItem"},
    "delete_item": {"dynamodb:DeleteItem"},
    "query": {"dynamodb:Query"},
    "scan": {"dynamodb:Scan"},
    "transact_write_items": {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    "send_message": {"sqs:SendMessage"},
    "send_message_batch": {"sqs:SendMessage"},  # SQS authorizes batches by their single action
    "receive_message": {"sqs:ReceiveMessage"},
    "delete_message": {"sqs:DeleteMessage"},
    "delete_message_batch": {"sqs:DeleteMessage"},
    "change_message_visibility": {"sqs:ChangeMessageVisibility"},
    "get_queue_url": {"sqs:GetQueueUrl"},
    "get_queue_attributes": {"sqs:GetQueueAttributes"},
    "get_object": {"s3:GetObject"},
    "put_object": {"s3:PutObject"},
    "encrypt": {"kms:Encrypt"},
    "decrypt": {"kms:Decrypt"},
}
CALL = re.compile(r"\.(" + "|".join(sorted(ACTIONS, key=len, reverse=True)) + r")\(")


def granted() -> set[str]:
    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())
    actions: set[str] = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_every_aws_call_of_the_library_is_allowed_by_the_functions_policy() -> None:
    needed: dict[str, set[str]] = {}
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        for method in CALL.findall(path.read_text()):
            needed.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    assert "transact_write_items" in needed and "send_message" in needed  # the scan found the calls
    missing = {method: ACTIONS[method] - granted() for method in needed if ACTIONS[method] - granted()}
    assert not missing, f"policy.json lacks {missing} (used in {[needed[m] for m in missing]})"
