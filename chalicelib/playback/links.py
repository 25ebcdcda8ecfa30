"""The links viewers are handed: the stage's public base URL, a playback id's HLS playlist and player page,
a recorded session's VOD playlist and MP4.

The base is the configured ``LP_PUBLIC_URL`` when there is one. Without it, it is the origin the request
reached (its ``Host`` and ``X-Forwarded-Proto``), which is right for a custom domain and for the local stack;
behind API Gateway's own ``execute-api`` URL, whose path starts with the stage name, configure it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from chalicelib.core.errors import BadRequest

# A host name or IPv4 address, or a bracketed IPv6 address, with an optional port: nothing else is echoed.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
_SCHEMES = ("http", "https")
MASTER_PLAYLIST = "index.m3u8"
#: A recording's MP4, under ``/recordings/{sessionId}/``.
RECORDING_MP4 = "output.mp4"


def public_base(configured: str | None, host: str | None, forwarded_proto: str | None) -> str:
    """Return the base URL (no trailing slash) that links are built on: configured, else the request's origin."""
    if configured:
        return configured.rstrip("/")
    if not host:
        raise BadRequest("missing_host", "the request has no Host header to build links from")
    if not _HOST.fullmatch(host):
        raise BadRequest("invalid_host", "the request's Host header is not a host name, address or port")
    # A proxy may list one scheme per hop; the first is the client's.
    scheme = (forwarded_proto or "http").split(",")[0].strip().lower()
    return f"{scheme if scheme in _SCHEMES else 'http'}://{host.lower()}"


def hls_url(base: str, playback_id: str) -> str:
    """Return the master playlist's URL of a playback id."""
    return f"{base}/hls/{quote(playback_id, safe='')}/{MASTER_PLAYLIST}"


def recording_url(base: str, session_id: str) -> str:
    """Return the VOD master playlist's URL of a recorded session (Studio's ``recordingUrl``)."""
    return f"{base}/recordings/{quote(session_id, safe='')}/{MASTER_PLAYLIST}"


def recording_mp4_url(base: str, session_id: str) -> str:
    """Return the MP4's URL of a recorded session (Studio's ``mp4Url``)."""
    return f"{base}/recordings/{quote(session_id, safe='')}/{RECORDING_MP4}"


def player_url(base: str, playback_id: str) -> str:
    """Return the player page's URL of a playback id: the link a broadcaster shares."""
    return f"{base}/play/{quote(playback_id, safe='')}"


def origin_of(url: str) -> str:
    """Return ``scheme://host[:port]`` of an absolute URL (what a Content-Security-Policy source names)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
