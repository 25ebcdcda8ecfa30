"""Emitting a stream's event: one queued delivery for each of its owner's webhooks that subscribes to it.

This is the ``StreamEvents`` that ingest, the results handler, the idle sweep and recordings call. It costs
one query of the owner's webhooks (only on a transition: a stream starting or going idle, a segment failing)
and, when some subscribe, one SQS batch send; when none do, nothing more. It never raises: a webhook is not
worth failing a segment for, so a failure is logged and the caller goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core.logs import logger
from chalicelib.streams.models import StreamRecord
from chalicelib.webhooks.events import event_id
from chalicelib.webhooks.models import Delivery
from chalicelib.webhooks.queue import DeliverySink
from chalicelib.webhooks.store import WebhookStore


@dataclass
class WebhookEvents:
    """A ``StreamEvents`` that queues one delivery per subscribed webhook.

    The queue is made only when some webhook subscribes (finding its URL is a call of its own), and inside
    the guard: a stage whose queue is missing still takes segments.
    """

    webhooks: WebhookStore
    queue: Callable[[], DeliverySink]

    def emit(self, stream: StreamRecord, event: str, payload: Mapping[str, Any], *, key: str, at_ms: int) -> None:
        """Queue ``event`` of ``stream`` for each subscribed webhook of its owner; log, never raise, on failure."""
        ident = event_id(stream.id, event, key)
        try:
            hooks = [h for h in self.webhooks.owned_by(stream.owner) if h.wants(event, stream.id)]
            if not hooks:
                return
            shown = stream.to_api().wire()
            deliveries = [
                Delivery(
                    event_id=ident,
                    webhook_id=hook.id,
                    event=event,
                    stream_id=stream.id,
                    created_at=at_ms,
                    stream=shown,
                    payload=dict(payload),
                    due_at=at_ms,
                )
                for hook in hooks
            ]
            self.queue().send(deliveries)
        except Exception:
            logger.exception("webhook event not emitted", webhook_event=event, event_id=ident, stream_id=stream.id)
            return
        logger.info(
            "webhook event emitted", webhook_event=event, event_id=ident, stream_id=stream.id, webhooks=len(hooks)
        )
