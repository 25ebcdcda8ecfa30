"""Which events a webhook may subscribe to, and the id an event keeps across retries and redeliveries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Final

from chalicelib.core.errors import Unprocessable
from chalicelib.streams.lifecycle import EVENTS

#: Events Studio defines that this network does not emit (yet): refused by name, not as unknown.
STUDIO_ONLY: Final = frozenset(
    {
        "stream.detection",
        "recording.waiting",
        "multistream.connected",
        "multistream.error",
        "multistream.disconnected",
        "playback.user.new",
        "playback.accessControl",
        "asset.created",
        "asset.updated",
        "asset.failed",
        "asset.ready",
        "asset.deleted",
        "task.spawned",
        "task.updated",
        "task.completed",
        "task.failed",
    }
)
# Event ids are UUIDs derived from what the event reports, so that reporting it again gives the same id.
_NAMESPACE: Final = uuid.UUID("6f1c2a52-93c4-4e55-9d0a-3f7f5f0c9b21")


def checked_events(names: Iterable[str]) -> list[str]:
    """Return ``names`` without repeats, in order; refuse one this network does not emit (422, with a code)."""
    unique = list(dict.fromkeys(names))
    for name in unique:
        if name in STUDIO_ONLY:
            raise Unprocessable(
                "unsupported_webhook_event", f"{name!r} is a Studio event this network does not emit", event=name
            )
        if name not in EVENTS:
            raise Unprocessable(
                "unknown_webhook_event", f"unknown event {name!r}; known: {', '.join(EVENTS)}", event=name
            )
    if not unique:
        raise Unprocessable("unknown_webhook_event", "a webhook subscribes to at least one event")
    return unique


def event_id(stream_id: str, event: str, key: str) -> str:
    """The id of ``event`` of a stream for one transition (``key``): the same on every report and retry."""
    return str(uuid.uuid5(_NAMESPACE, f"{stream_id}/{event}/{key}"))
