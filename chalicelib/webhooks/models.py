"""Webhooks on the wire (Livepeer Studio's ``webhook`` and ``webhook-log`` shapes), as stored, and as queued."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, SecretStr

from chalicelib.core.models import ApiModel

Name = Annotated[str, Field(min_length=1, max_length=500)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Events = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=16)]
Secret = Annotated[SecretStr, Field(min_length=8, max_length=256)]


class WebhookCreate(ApiModel):
    """``POST /webhook`` (and ``PUT /webhook/{id}``) body. Without ``sharedSecret`` one is generated."""

    name: Name
    url: Url
    events: Events
    stream_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    shared_secret: Secret | None = None


class WebhookUpdate(ApiModel):
    """``PATCH /webhook/{id}`` body: the fields to change (Studio's ``webhook-patch-payload``).

    ``streamId: null`` removes the stream filter; ``sharedSecret`` replaces the secret (it cannot be removed).
    """

    name: Name | None = None
    url: Url | None = None
    events: Events | None = None
    stream_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    shared_secret: Secret | None = None


class LastFailure(ApiModel):
    """The newest failed delivery: when, why, and what the receiver answered."""

    timestamp: int
    error: str | None = None
    response: str | None = None
    status_code: int | None = None


class WebhookStatus(ApiModel):
    """Studio's ``status``: when the webhook was last triggered, and its last failure."""

    last_triggered_at: int | None = None
    last_failure: LastFailure | None = None


class Webhook(ApiModel):
    """A webhook as the API returns it. The shared secret is never part of it (Studio: write-only)."""

    id: str
    name: str
    url: str
    events: list[str]
    created_at: int
    stream_id: str | None = None
    status: WebhookStatus | None = None


class WebhookCreated(Webhook):
    """The ``POST /webhook`` answer: the one time a generated shared secret is shown."""

    shared_secret: str | None = None


class WebhookRecord(Webhook):
    """A webhook as the ``webhooks`` table keeps it: its owner and its sealed secret."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str
    sealed_secret: str
    deleted: bool = False

    def to_api(self) -> Webhook:
        """Return the webhook as the API shows it (no owner, no secret)."""
        return Webhook.model_validate(self.model_dump(include=set(Webhook.model_fields)))

    def wants(self, event: str, stream_id: str) -> bool:
        """Whether this webhook subscribes to ``event`` of stream ``stream_id``."""
        return not self.deleted and event in self.events and self.stream_id in (None, stream_id)


class Delivery(ApiModel):
    """One queued attempt to post one event to one webhook (the ``webhooks`` queue's message).

    ``due_at`` is when the attempt may be made: SQS delays a message by at most 15 minutes, so a longer
    backoff arrives early and is put back for the time left.
    """

    event_id: str
    webhook_id: str
    event: str
    stream_id: str
    created_at: int
    stream: dict[str, Any]
    payload: dict[str, Any] = Field(default_factory=dict)
    attempt: int = Field(default=1, ge=1)
    due_at: int


class EventBody(ApiModel):
    """The JSON body posted to a receiver (DESIGN.md): the same ``id`` on every retry of the event."""

    id: str
    webhook_id: str
    created_at: int
    timestamp: int
    event: str
    stream: dict[str, Any]
    payload: dict[str, Any]


class LogRequest(ApiModel):
    """What was posted: where, how, and the body (whose signature is in ``headers``)."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str


class LogResponse(ApiModel):
    """What the receiver answered (its body cut to ``RESPONSE_BODY_MAX`` characters)."""

    status: int
    status_text: str = ""
    body: str = ""


class DeliveryLogEntry(ApiModel):
    """One attempt, as ``GET /webhook/{id}/log`` lists it: Studio's ``webhook-log`` with our additions
    (``eventId``, ``attempt``, ``error``, ``nextAttemptAt``, ``gaveUp``)."""

    id: str
    webhook_id: str
    event_id: str
    event: str
    attempt: int
    created_at: int
    # Seconds the request took, as Studio reports it.
    duration: float
    success: bool
    request: LogRequest
    response: LogResponse | None = None
    error: str | None = None
    next_attempt_at: int | None = None
    gave_up: bool = False
