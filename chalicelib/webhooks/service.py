"""The webhook API (Livepeer Studio's shape): create, read, change and delete webhooks, and read their log.

A webhook's URL is checked when it is set, as written and on the addresses its host resolves to now (the
delivery checks again when it connects); its events must be ones this network emits; its stream filter must
name one of the caller's streams. The shared secret is sealed before it is stored and shown only in the
answer that generated it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.core.clock import Clock, now_ms
from chalicelib.core.outbound import Resolver, check_resolved, system_resolver
from chalicelib.core.urls import UrlPolicy, UrlRefused
from chalicelib.streams.store import StreamStore
from chalicelib.webhooks.deliverylog import DEFAULT_LIMIT, DeliveryLog
from chalicelib.webhooks.errors import url_refused
from chalicelib.webhooks.events import checked_events
from chalicelib.webhooks.models import (
    DeliveryLogEntry,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookRecord,
    WebhookStatus,
    WebhookUpdate,
)
from chalicelib.webhooks.sealing import Sealer, new_secret
from chalicelib.webhooks.store import WebhookStore


@dataclass
class WebhookService:
    """The webhook API's domain functions, over the tables, the sealer, the streams and the URL policy."""

    webhooks: WebhookStore
    log: DeliveryLog
    sealer: Sealer
    streams: StreamStore
    policy: UrlPolicy
    resolve: Resolver = system_resolver
    clock: Clock = now_ms

    def create(self, owner: str, request: WebhookCreate) -> WebhookCreated:
        """Create a webhook; the answer carries ``sharedSecret`` only when it was generated here."""
        events = self._checked(owner, request.url, request.events, request.stream_id)
        webhook_id = str(uuid.uuid4())
        generated = None if request.shared_secret is not None else new_secret()
        secret = generated or (request.shared_secret.get_secret_value() if request.shared_secret else "")
        record = WebhookRecord(
            id=webhook_id,
            name=request.name,
            url=request.url,
            events=events,
            created_at=self.clock(),
            stream_id=request.stream_id,
            status=WebhookStatus(),
            owner=owner,
            sealed_secret=self.sealer.seal(secret, webhook_id),
        )
        self.webhooks.put(record)
        return WebhookCreated.model_validate({**record.to_api().model_dump(), "shared_secret": generated})

    def get(self, webhook_id: str, owner: str) -> Webhook:
        """Return one of ``owner``'s webhooks."""
        return self.webhooks.get(webhook_id, owner).to_api()

    def list_owned(self, owner: str) -> list[Webhook]:
        """Return ``owner``'s webhooks, newest first."""
        return [record.to_api() for record in self.webhooks.owned_by(owner)]

    def update(self, webhook_id: str, owner: str, changes: WebhookUpdate) -> Webhook:
        """Apply a ``PATCH``: change the fields given (each checked as at creation); ``streamId: null`` removes
        the stream filter."""
        self.webhooks.get(webhook_id, owner)
        fields: dict[str, Any] = {}
        if changes.name is not None:
            fields["name"] = changes.name
        if changes.url is not None:
            self._check_url(changes.url)
            fields["url"] = changes.url
        if changes.events is not None:
            fields["events"] = checked_events(changes.events)
        if changes.stream_id is not None:
            self.streams.get(changes.stream_id, owner)
            fields["streamId"] = changes.stream_id
        if changes.shared_secret is not None:
            fields["sealedSecret"] = self.sealer.seal(changes.shared_secret.get_secret_value(), webhook_id)
        remove = ("streamId",) if "stream_id" in changes.model_fields_set and changes.stream_id is None else ()
        self.webhooks.update(webhook_id, owner, fields, remove)
        return self.get(webhook_id, owner)

    def replace(self, webhook_id: str, owner: str, request: WebhookCreate) -> Webhook:
        """Apply a ``PUT`` (Studio's full update): every field as given; no ``streamId`` removes the filter, no
        ``sharedSecret`` keeps the current secret."""
        self.webhooks.get(webhook_id, owner)
        update = WebhookUpdate.model_validate(
            {**request.model_dump(exclude={"shared_secret"}), "shared_secret": request.shared_secret}
        )
        return self.update(webhook_id, owner, update)

    def delete(self, webhook_id: str, owner: str) -> None:
        """Delete a webhook: nothing more is posted to it, queued retries included."""
        self.webhooks.delete(webhook_id, owner)

    def deliveries(self, webhook_id: str, owner: str, limit: int = DEFAULT_LIMIT) -> list[DeliveryLogEntry]:
        """The newest attempts to post to one of ``owner``'s webhooks, newest first."""
        self.webhooks.get(webhook_id, owner)
        return self.log.recent(webhook_id, limit)

    def _checked(self, owner: str, url: str, events: list[str], stream_id: str | None) -> list[str]:
        """Check a new webhook's URL, events and stream filter; return its events without repeats."""
        self._check_url(url)
        unique = checked_events(events)
        if stream_id is not None:
            self.streams.get(stream_id, owner)
        return unique

    def _check_url(self, url: str) -> None:
        """Refuse a URL the policy refuses as written or on the addresses its host resolves to now."""
        try:
            check_resolved(self.policy, url, self.resolve)
        except UrlRefused as refused:
            raise url_refused(refused) from None
