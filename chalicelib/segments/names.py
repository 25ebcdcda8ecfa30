"""What a segment path names (``<seq>.ts``, ``index<seq>.ts``) or a pushed HLS playlist; shared by
ingest (what a broadcaster pushes) and playback (what a player asks for)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.core.errors import BadRequest

# `12.ts` (Livepeer's form) or `index12.ts` (what `ffmpeg -f hls` names its segments).
_SEGMENT = re.compile(r"^(?P<prefix>[A-Za-z_]*)(?P<seq>[0-9]{1,15})\.ts$")
_PLAYLIST = re.compile(r"^[A-Za-z0-9_.-]{1,64}\.m3u8$")
#: The names above as patterns (for the API's description).
SEGMENT_PATTERN = _SEGMENT.pattern
PLAYLIST_PATTERN = _PLAYLIST.pattern
# Sequence numbers stay exact in JSON numbers and DynamoDB N values.
MAX_SEQUENCE = 2**53 - 1


@dataclass(frozen=True)
class SegmentName:
    """An uploaded segment's sequence number."""

    seq: int


@dataclass(frozen=True)
class PlaylistName:
    """An uploaded playlist (ffmpeg's HLS push sends it after every segment)."""

    name: str


def parse_ingest_name(name: str) -> SegmentName | PlaylistName:
    """Parse the last path part of ``/live/{streamKey}/{name}`` or raise ``BadRequest``."""
    if _PLAYLIST.match(name):
        return PlaylistName(name)
    match = _SEGMENT.match(name)
    if match is None or int(match["seq"]) > MAX_SEQUENCE:
        raise BadRequest(
            "invalid_sequence",
            f"{name!r} is not a segment name: use /live/<streamKey>/<seq>.ts with <seq> a "
            "non-negative integer (or ffmpeg's index<seq>.ts), or a .m3u8 playlist",
        )
    return SegmentName(int(match["seq"]))


def segment_durations(playlist: str) -> dict[int, int]:
    """Return ``{seq: duration in ms}`` for the segments listed in a pushed media playlist.

    Only segment URIs in the ``[prefix]<seq>.ts`` form count; anything else is skipped, since a
    playlist carries durations for convenience and never decides what is ingested.
    """
    durations: dict[int, int] = {}
    pending: float | None = None
    for raw in playlist.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            value = line[len("#EXTINF:") :].split(",", 1)[0]
            try:
                pending = float(value)
            except ValueError:
                pending = None
        elif line and not line.startswith("#"):
            match = _SEGMENT.match(line.rsplit("/", 1)[-1].split("?", 1)[0])
            if match is not None and pending is not None and 0 <= pending < 3600:
                durations[int(match["seq"])] = round(pending * 1000)
            pending = None
    return durations
