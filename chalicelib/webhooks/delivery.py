"""The delivery handler: post one queued event to one webhook, signed; retry, give up, and log each attempt.

Each ``webhooks`` queue message is one attempt (``models.Delivery``). The handler

1. drops it if the webhook was deleted or no longer subscribes to the event;
2. puts it back for the time left if it arrived before it is due (SQS delays by 15 minutes at most);
3. claims the attempt in the delivery log, so that a redelivered message never posts it twice;
4. posts the body with its ``Livepeer-Signature`` through a session whose every connection is checked against
   the URL policy (DNS may have changed since the webhook was made), with the receiver's timeout, following
   no redirect;
5. on a network error or a 5xx queues the next attempt with the backoff of ``retry`` (before closing the
   claim, so that a crash between the two repeats an attempt rather than losing the event), or gives up;
6. logs the attempt and notes it in the webhook's status.

The clock is injected: tests drive the backoff schedule without waiting for it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import requests
import urllib3
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from chalicelib.core.batch import SQSRecord, process_sqs_batch
from chalicelib.core.clock import Clock, now_ms
from chalicelib.core.logs import log_context, logger
from chalicelib.core.urls import UrlPolicy, UrlRefused
from chalicelib.webhooks.deliverylog import Claim, DeliveryLog
from chalicelib.webhooks.models import (
    Delivery,
    DeliveryLogEntry,
    EventBody,
    LastFailure,
    LogRequest,
    LogResponse,
    WebhookRecord,
)
from chalicelib.webhooks.queue import DeliverySink
from chalicelib.webhooks.retry import EARLY_MS, backoff_s, may_retry, queue_delay_s, retryable
from chalicelib.webhooks.sealing import Sealer
from chalicelib.webhooks.signing import SIGNATURE_HEADER, signature_header
from chalicelib.webhooks.store import WebhookStore

USER_AGENT: Final = "lp-network-webhooks/1"
#: The receiver's answer is kept in the log up to this many characters.
RESPONSE_BODY_MAX: Final = 1024
#: A claim still ``sending`` this long after the receiver's timeout was left by a handler that stopped.
STALE_CLAIM_MARGIN_MS: Final = 15_000
#: The error logged for an attempt whose handler stopped before it closed it: it may or may not have posted.
INTERRUPTED: Final = "interrupted: the handler making this attempt stopped; whether it posted is unknown"

Status = Literal["delivered", "failed", "retrying", "gave_up", "postponed", "dropped", "duplicate"]


class AttemptInFlight(Exception):
    """Another handler is making this attempt now: leave the message to come back later."""


@dataclass(frozen=True)
class Outcome:
    """What one queued attempt came to."""

    status: Status
    status_code: int | None = None
    next_due_at: int | None = None


@dataclass
class Deliverer:
    """What delivering needs: the webhooks and their log, the secret sealer, the queue for retries, the
    policy-checked HTTP session and the policy itself, the receiver's timeout, and the clock."""

    webhooks: WebhookStore
    log: DeliveryLog
    sealer: Sealer
    queue: DeliverySink
    http: requests.Session
    policy: UrlPolicy
    timeout_s: float = 30.0
    clock: Clock = now_ms


@dataclass(frozen=True)
class _Attempt:
    """What one post came to, and whether it may be tried again."""

    request: LogRequest
    retry: bool
    duration_s: float = 0.0
    status_code: int | None = None
    response: LogResponse | None = None
    error: str | None = None


def deliver(d: Deliverer, delivery: Delivery) -> Outcome:
    """Make one attempt of ``delivery`` (see the module's steps); raise ``AttemptInFlight`` to be redelivered."""
    hook = d.webhooks.find(delivery.webhook_id)
    if hook is None or not hook.wants(delivery.event, delivery.stream_id):
        logger.info("webhook delivery dropped: the webhook was deleted or no longer subscribes")
        return Outcome("dropped")
    now = d.clock()
    if now < delivery.due_at - EARLY_MS:
        d.queue.send([delivery], queue_delay_s(delivery.due_at, now))
        return Outcome("postponed", next_due_at=delivery.due_at)
    # Opened before the claim: if KMS fails, the message comes back and nothing was claimed.
    secret = d.sealer.open(hook.sealed_secret, hook.id)
    token = uuid.uuid4().hex
    claim = d.log.claim(delivery.webhook_id, delivery.event_id, delivery.attempt, token, now)
    if claim.token == token:
        attempt = _post(d, hook, delivery, secret, now)
    else:
        taken = _take_over(d, delivery, claim, token, now)
        if taken is None:
            return Outcome("duplicate")
        claim = taken
        attempt = _Attempt(_request_of(hook, b""), retry=True, error=INTERRUPTED)
    return _settle(d, hook, delivery, claim, attempt, now)


def _take_over(d: Deliverer, delivery: Delivery, claim: Claim, token: str, now: int) -> Claim | None:
    """Another claim holds the attempt: None if it was made; raise while it is being made; take it if stale."""
    if claim.state == "done":
        logger.info("webhook attempt already made: a redelivered message posts nothing")
        return None
    if now - claim.claimed_at < d.timeout_s * 1000 + STALE_CLAIM_MARGIN_MS:
        raise AttemptInFlight(f"attempt {delivery.attempt} of event {delivery.event_id} is being made")
    taken = d.log.take_over(delivery.webhook_id, claim, token, now)
    if taken is None:
        raise AttemptInFlight(f"attempt {delivery.attempt} of event {delivery.event_id} was taken over")
    logger.warning("webhook attempt interrupted earlier: taken over", claimed_at=claim.claimed_at)
    return taken


def _request_of(hook: WebhookRecord, body: bytes, headers: dict[str, str] | None = None) -> LogRequest:
    return LogRequest(url=hook.url, headers=headers or {}, body=body.decode("utf-8", "replace"))


def _post(d: Deliverer, hook: WebhookRecord, delivery: Delivery, secret: str, now: int) -> _Attempt:
    """Sign and post the event body; report what happened (the receiver's failures are answers, not errors)."""
    body = EventBody(
        id=delivery.event_id,
        webhook_id=hook.id,
        created_at=delivery.created_at,
        timestamp=now,
        event=delivery.event,
        stream=delivery.stream,
        payload=delivery.payload,
    )
    raw = json.dumps(body.wire(), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secret, raw, now),
    }
    request = _request_of(hook, raw, headers)
    started = time.monotonic()
    try:
        d.policy.check(hook.url)
        # Streamed, so that only the start of the receiver's answer is read, however long it is.
        with d.http.post(
            hook.url, data=raw, headers=headers, timeout=d.timeout_s, allow_redirects=False, stream=True
        ) as answer:
            code, reason = answer.status_code, answer.reason or ""
            start = answer.raw.read(RESPONSE_BODY_MAX + 1, decode_content=True)
    except UrlRefused as refused:  # as written, or the address the name resolves to now: final
        took = time.monotonic() - started
        return _Attempt(request, retry=False, duration_s=took, error=f"{refused.code}: {refused.message}")
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:  # no answer: tried again
        took = time.monotonic() - started
        return _Attempt(request, retry=True, duration_s=took, error=f"{type(error).__name__}: {_cut(str(error))}")
    took = time.monotonic() - started
    response = LogResponse(status=code, status_text=reason, body=_cut(start.decode("utf-8", "replace")))
    if 200 <= code < 300:
        return _Attempt(request, retry=False, duration_s=took, status_code=code, response=response)
    why = f"the receiver answered {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    return _Attempt(request, retryable(code), took, code, response, why)


def _cut(text: str) -> str:
    return text if len(text) <= RESPONSE_BODY_MAX else text[:RESPONSE_BODY_MAX] + "…"


def _settle(
    d: Deliverer, hook: WebhookRecord, delivery: Delivery, claim: Claim, attempt: _Attempt, now: int
) -> Outcome:
    """Judge an attempt: queue the next one or give up, then log it and note it in the webhook's status."""
    success = attempt.error is None
    next_due: int | None = None
    gave_up = False
    if attempt.retry:
        due = now + backoff_s(delivery.attempt) * 1000
        if may_retry(delivery.attempt, delivery.created_at, due):
            following = delivery.model_copy(update={"attempt": delivery.attempt + 1, "due_at": due})
            # Queued before the claim is closed: a crash in between repeats this attempt, never loses the event.
            d.queue.send([following], queue_delay_s(due, now))
            next_due = due
        else:
            gave_up = True
    entry = DeliveryLogEntry(
        id=f"{delivery.event_id}-{delivery.attempt}",
        webhook_id=hook.id,
        event_id=delivery.event_id,
        event=delivery.event,
        attempt=delivery.attempt,
        created_at=now,
        duration=round(attempt.duration_s, 3),
        success=success,
        request=attempt.request,
        response=attempt.response,
        error=attempt.error,
        next_attempt_at=next_due,
        gave_up=gave_up,
    )
    if not d.log.close(hook.id, claim, entry):
        logger.warning("webhook attempt closed by another handler: not logged twice")
    failure = None
    if not success:
        body = attempt.response.body if attempt.response else None
        failure = LastFailure(timestamp=now, error=attempt.error, response=body, status_code=attempt.status_code)
    d.webhooks.record_attempt(hook.id, now, failure)
    status: Status = "delivered" if success else "retrying" if next_due else "gave_up" if gave_up else "failed"
    logger.info(
        "webhook attempt",
        outcome=status,
        status_code=attempt.status_code,
        # Only the kind of error: its text may quote the URL's path and query, which may hold a receiver's token.
        error=attempt.error.split(":", 1)[0] if attempt.error else None,
        next_attempt_at=next_due,
        host=_host(hook.url),
    )
    return Outcome(status, attempt.status_code, next_due)


def _host(url: str) -> str:
    # The URL may carry a token in its path or query (many receivers work so): only its host is logged.
    return urlsplit(url).hostname or "?"


def handle_deliveries(event: dict[str, Any], d: Deliverer) -> PartialItemFailureResponse:
    """Make the attempt each record of an SQS batch carries; a record that raises is redelivered later."""

    def handle(record: SQSRecord) -> None:
        delivery = Delivery.model_validate_json(record.body)
        with log_context(
            message_id=record.message_id,
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            webhook_event=delivery.event,
            stream_id=delivery.stream_id,
            attempt=delivery.attempt,
        ):
            deliver(d, delivery)

    return process_sqs_batch(event, handle)
