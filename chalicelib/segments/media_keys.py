"""Object keys in the media bucket: sources, renditions, result manifests and recordings (one scheme, one place)."""

from __future__ import annotations

import re

_RESULT = re.compile(r"^results/(?P<stream>[0-9a-f-]{36})/(?P<seq>[0-9]+)\.json$")
_REMUXED = re.compile(r"^recordings/(?P<stream>[0-9a-f-]{36})/(?P<session>[0-9a-f-]{36})/remux\.json$")


def source_key(stream_id: str, seq: int) -> str:
    """Key of a stream's source segment."""
    return f"source/{stream_id}/{seq}.ts"


def rendition_key(stream_id: str, rendition: str, seq: int) -> str:
    """Key of one transcoded rendition of a segment."""
    return f"renditions/{stream_id}/{rendition}/{seq}.ts"


def result_key(stream_id: str, seq: int) -> str:
    """Key of the worker's result manifest for a segment; its creation drives the results handler."""
    return f"results/{stream_id}/{seq}.json"


def parse_result_key(key: str) -> tuple[str, int] | None:
    """Return (stream id, seq) of a result manifest key, or None for any other key."""
    match = _RESULT.match(key)
    return (match["stream"], int(match["seq"])) if match else None


def recording_prefix(stream_id: str, session_id: str) -> str:
    """Where a session's recording lives: its VOD playlists, its MP4 and the recorder's manifest."""
    return f"recordings/{stream_id}/{session_id}"


def recording_playlist_key(stream_id: str, session_id: str, rendition: str | None = None) -> str:
    """Key of a recording's VOD master playlist, or (with ``rendition``) of one rendition's media playlist."""
    prefix = recording_prefix(stream_id, session_id)
    return f"{prefix}/index.m3u8" if rendition is None else f"{prefix}/{rendition}/index.m3u8"


def recording_mp4_key(stream_id: str, session_id: str) -> str:
    """Key of a recording's MP4."""
    return f"{recording_prefix(stream_id, session_id)}/output.mp4"


def remux_result_key(stream_id: str, session_id: str) -> str:
    """Key of the recorder's manifest for a session's MP4; its creation drives the gateway's ``recorded`` handler."""
    return f"{recording_prefix(stream_id, session_id)}/remux.json"


def parse_remux_result_key(key: str) -> tuple[str, str] | None:
    """Return (stream id, session id) of a recorder's manifest key, or None for any other key."""
    match = _REMUXED.match(key)
    return (match["stream"], match["session"]) if match else None
