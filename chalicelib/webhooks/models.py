"""Webhooks on the wire (Livepeer Studio's ``webhook`` and ``webhook-log`` shapes), as stored, and as queued."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, SecretStr

from chalicelib.core.models import ApiModel
from chalicelib.streams.lifecycle import EVENTS

Name = Annotated[str, Field(min_length=1, max_length=500, description="A name for people to tell webhooks apart.")]
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="Where events are posted: an http(s) URL whose host resolves only to public addresses.",
    ),
]
Events = Annotated[
    # Any name is read, so that an unknown one is refused with its own code; the ones taken are listed.
    list[Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"enum": list(EVENTS)})]],
    Field(
        min_length=1,
        max_length=16,
        description="The events to post: " + ", ".join(f"`{event}`" for event in EVENTS) + ".",
    ),
]
Secret = Annotated[
    SecretStr,
    Field(min_length=8, max_length=256, description="The key of the `Livepeer-Signature` HMAC; write-only."),
]
STREAM_FILTER = "Only this stream's events; absent (or null), every stream of the API key's owner."


class WebhookCreate(ApiModel):
    """``POST /webhook`` (and ``PUT /webhook/{id}``) body. Without ``sharedSecret`` one is generated."""

    name: Name
    url: Url
    events: Events
    stream_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description=STREAM_FILTER
    )
    shared_secret: Secret | None = Field(
        default=None, description="The key of the `Livepeer-Signature` HMAC (8-256 characters); absent, generated."
    )


class WebhookUpdate(ApiModel):
    """``PATCH /webhook/{id}`` body: the fields to change (Studio's ``webhook-patch-payload``).

    ``streamId: null`` removes the stream filter; ``sharedSecret`` replaces the secret (it cannot be removed).
    """

    name: Name | None = Field(default=None, description="A new name.")
    url: Url | None = Field(default=None, description="A new URL, checked as at creation.")
    events: Events | None = Field(default=None, description="The new list of events to post.")
    stream_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Only this stream's events; `null` removes the filter."
    )
    shared_secret: Secret | None = Field(default=None, description="A new shared secret (8-256 characters).")


class LastFailure(ApiModel):
    """The newest failed delivery: when, why, and what the receiver answered."""

    timestamp: int = Field(description="When the attempt failed (ms since the epoch).")
    error: str | None = Field(default=None, description="Why, when no answer came (a timeout, a refused address).")
    response: str | None = Field(default=None, description="The start of the receiver's answer body.")
    status_code: int | None = Field(default=None, description="The receiver's HTTP status.")


class WebhookStatus(ApiModel):
    """Studio's ``status``: when the webhook was last triggered, and its last failure."""

    last_triggered_at: int | None = Field(
        default=None, description="When an event was last posted to this webhook (ms since the epoch)."
    )
    last_failure: LastFailure | None = Field(default=None, description="The newest failed delivery, if any.")


class Webhook(ApiModel):
    """A webhook as the API returns it. The shared secret is never part of it (Studio: write-only)."""

    id: str = Field(description="The webhook's id.")
    name: str = Field(description="Its name.")
    url: str = Field(description="Where its events are posted.")
    events: list[str] = Field(description="The events it subscribes to.")
    created_at: int = Field(description="When it was created (ms since the epoch).")
    stream_id: str | None = Field(default=None, description="The stream it is limited to, if any.")
    status: WebhookStatus | None = Field(default=None, description="Its delivery status.")


class WebhookCreated(Webhook):
    """The ``POST /webhook`` answer: the one time a generated shared secret is shown."""

    shared_secret: str | None = Field(
        default=None, description="The generated shared secret: shown in this answer only (absent when one was given)."
    )


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

    url: str = Field(description="The receiver's URL.")
    method: str = Field(default="POST", description="Always `POST`.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="The request's headers, `Livepeer-Signature` among them."
    )
    body: str = Field(description="The JSON body as posted.")


class LogResponse(ApiModel):
    """What the receiver answered (its body cut to ``RESPONSE_BODY_MAX`` characters)."""

    status: int = Field(description="The receiver's HTTP status.")
    status_text: str = Field(default="", description="Its reason phrase.")
    body: str = Field(default="", description="The start of its body.")


class DeliveryLogEntry(ApiModel):
    """One attempt, as ``GET /webhook/{id}/log`` lists it: Studio's ``webhook-log`` with our additions
    (``eventId``, ``attempt``, ``error``, ``nextAttemptAt``, ``gaveUp``)."""

    id: str = Field(description="The attempt's id.")
    webhook_id: str = Field(description="The webhook posted to.")
    event_id: str = Field(description="The event's id: the same on every attempt to post it (de-duplicate on it).")
    event: str = Field(description="The event's name (`stream.started`, ...).")
    attempt: int = Field(description="1 for the first attempt, then 2, 3, ...")
    created_at: int = Field(description="When the attempt was made (ms since the epoch).")
    duration: float = Field(description="Seconds the request took, as Studio reports it.")
    success: bool = Field(description="Whether the receiver answered 2xx.")
    request: LogRequest = Field(description="What was posted.")
    response: LogResponse | None = Field(default=None, description="What the receiver answered, when it answered.")
    error: str | None = Field(default=None, description="Why the attempt failed without an answer, if it did.")
    next_attempt_at: int | None = Field(
        default=None, description="When the next attempt is due (ms since the epoch), if one is."
    )
    gave_up: bool = Field(default=False, description="Whether this was the last attempt of a failed delivery.")
