"""What this network honours of Studio's stream and profile fields: the rest is refused with a code, never ignored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from chalicelib.core.errors import Unprocessable
from chalicelib.streams.models import PUBLIC, PlaybackPolicy, StreamCreate, StreamUpdate
from chalicelib.streams.profiles import SUPPORTED_ENCODERS, Profile

_Request = TypeVar("_Request", StreamCreate, StreamUpdate)


def check_profiles(profiles: Sequence[Profile]) -> None:
    """Refuse profiles the worker cannot encode as asked (422 with a code naming the field)."""
    for index, profile in enumerate(profiles):
        where = f"profiles.{index}"
        if profile.encoder is not None and profile.encoder not in SUPPORTED_ENCODERS:
            raise Unprocessable(
                "unsupported_encoder",
                f"{where}.encoder: {profile.encoder!r} is not made here; supported: {', '.join(SUPPORTED_ENCODERS)}",
            )
        # Quality 0 is lossless, which needs H.264's High 4:4:4 Predictive profile: no `profile` value names it.
        if profile.quality == 0 and profile.profile is not None:
            raise Unprocessable(
                "unsupported_profile_quality",
                f"{where}: quality 0 (lossless) cannot be encoded in {profile.profile}; use quality 1 or more",
            )


def check_playback_policy(policy: PlaybackPolicy | None) -> None:
    """Refuse playback policies other than a plain ``public`` one (signed playback is not implemented)."""
    if policy is None:
        return
    if policy.type != PUBLIC:
        raise Unprocessable(
            "unsupported_playback_policy",
            f"playbackPolicy.type {policy.type!r} is not supported; only {PUBLIC!r} playback is",
        )
    extra = sorted(policy.model_dump(by_alias=True, exclude_none=True, exclude={"type"}))
    if extra:
        raise Unprocessable(
            "unsupported_playback_policy",
            f"playbackPolicy fields {', '.join(extra)} only apply to signed playback, which is not supported",
        )


def check_supported(request: _Request) -> _Request:
    """Return ``request`` if everything it asks for is honoured here; raise ``Unprocessable`` otherwise."""
    check_profiles(request.profiles or [])
    check_playback_policy(request.playback_policy)
    return request
