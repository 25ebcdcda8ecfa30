"""A tiny Chalice app that records what the local stack's front and pump deliver to it."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from chalice import Chalice, Rate, Response
from chalice.app import SQSEvent

app = Chalice(app_name="pump-app")

BATCH_QUEUE = "pump-batch"
PARTIAL_QUEUE = "pump-partial"
POISON_QUEUE = "pump-poison"
RAISE_QUEUE = "pump-raise"
WINDOW_QUEUE = "pump-window"
UPLOADS_QUEUE = "pump-uploads"
BUCKET = "pump-bucket"

calls: dict[str, list[Any]] = {}
_lock = threading.Lock()


def record(name: str, value: Any) -> None:
    """Remember one invocation."""
    with _lock:
        calls.setdefault(name, []).append(value)


@app.route("/hello", methods=["GET"])
def hello() -> dict[str, Any]:
    return {"hello": "world"}


@app.route("/live/{stream_key}/{name}", methods=["PUT", "POST"], content_types=["*/*"])
def ingest(stream_key: str, name: str) -> dict[str, Any]:
    request = app.current_request
    assert request is not None
    body = request.raw_body
    assert isinstance(body, bytes)
    record("ingest", (stream_key, name, body))
    return {
        "streamKey": stream_key,
        "name": name,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "contentType": request.headers.get("content-type"),
        "base64": request.to_original_event()["isBase64Encoded"],
    }


@app.route("/items/{item_id}", methods=["GET"])
def item(item_id: str) -> dict[str, Any]:
    request = app.current_request
    assert request is not None
    event = request.to_original_event()
    return {
        "id": item_id,
        "query": event["multiValueQueryStringParameters"],
        "resource": event["resource"],
        "stage": event["requestContext"]["stage"],
    }


@app.route("/blob", methods=["GET"])
def blob() -> Response:
    return Response(bytes(range(256)), headers={"Content-Type": "application/octet-stream"})


@app.on_sqs_message(queue=BATCH_QUEUE, batch_size=5)
def on_batch(event: SQSEvent) -> None:
    record("batch", [r.body for r in event])


@app.on_sqs_message(queue=PARTIAL_QUEUE, batch_size=10)
def on_partial(event: SQSEvent) -> dict[str, Any]:
    records = list(event)
    record("partial", [r.body for r in records])
    failed = [r.to_dict()["messageId"] for r in records if r.body.startswith("fail")]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


@app.on_sqs_message(queue=POISON_QUEUE, batch_size=1)
def on_poison(event: SQSEvent) -> dict[str, Any]:
    records = [r.to_dict() for r in event]
    record("poison", [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in records])
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}


@app.on_sqs_message(queue=RAISE_QUEUE, batch_size=10)
def on_raise(event: SQSEvent) -> None:
    bodies = [r.body for r in event]
    record("raise", bodies)
    if "boom" in bodies:
        raise RuntimeError("boom")


@app.on_sqs_message(queue=WINDOW_QUEUE, batch_size=5, maximum_batching_window_in_seconds=2)
def on_window(event: SQSEvent) -> None:
    record("window", [r.body for r in event])


@app.on_sqs_message(queue=UPLOADS_QUEUE, batch_size=10)
def on_upload(event: SQSEvent) -> None:
    """The bucket notifies this queue, as resources.json has the media bucket notify ``results``."""
    record("uploads", [r.body for r in event])


@app.schedule(Rate(1, unit=Rate.MINUTES))
def every_minute(event: Any) -> None:
    record("schedule", event.to_dict())
