"""Playback: the master and media playlists of a playback id, and where each segment lives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.models import SOURCE_RENDITION
from chalicelib.playlists import Entry, render_master, render_media, resolve, variants
from chalicelib.segments import SegmentStore
from chalicelib.streams import StreamStore, now_ms

# How many of the newest segment records to examine per request: three windows, plus room for
# segments still in flight, so that a stalled worker never empties a playlist viewers hold.
LOOKBACK_WINDOWS = 3
LOOKBACK_IN_FLIGHT = 32


@dataclass
class Playback:
    """The stores and settings playback reads."""

    settings: Settings
    streams: StreamStore
    segments: SegmentStore

    def _window(self, stream: dict[str, Any]) -> tuple[list[Entry], set[int], dict[int, dict[str, Any]]]:
        window = self.settings.playlist_window
        items = self.segments.newest(stream["id"], window * LOOKBACK_WINDOWS + LOOKBACK_IN_FLIGHT)
        gaps = {int(g) for g in stream.get("gaps", set())}
        listing = resolve(
            items,
            gaps,
            now_ms(),
            int(self.settings.pending_timeout_s * 1000),
            int(self.settings.missing_timeout_s * 1000),
        )
        if listing.new_gaps:
            self.streams.add_gaps(stream["id"], listing.new_gaps)
        by_seq = {int(i["seq"]): i for i in items}
        return listing.entries[-window:], gaps | listing.new_gaps, by_seq

    def master(self, playback_id: str) -> str:
        """Return the master playlist; 404 until the first segment is ready."""
        stream = self.streams.by_playback_id(playback_id)
        entries, _, by_seq = self._window(stream)
        if not entries:
            raise NotFound("stream_not_ready", "no segment of this stream is ready yet; retry shortly")
        return render_master(variants([by_seq[e.seq] for e in entries]))

    def media(self, playback_id: str, rendition: str) -> str:
        """Return the live media playlist of one rendition (or of the source)."""
        stream = self.streams.by_playback_id(playback_id)
        entries, gaps, by_seq = self._window(stream)
        if entries and rendition != SOURCE_RENDITION:
            newest = by_seq[entries[-1].seq]
            if rendition not in (newest.get("renditions") or {}):
                raise NotFound("unknown_rendition", f"this stream has no rendition {rendition!r}")
        elif not entries and rendition != SOURCE_RENDITION and rendition not in {p["name"] for p in stream["profiles"]}:
            raise NotFound("unknown_rendition", f"this stream has no rendition {rendition!r}")
        return render_media(entries, gaps)

    def segment_key(self, playback_id: str, rendition: str, seq: int) -> str:
        """Return the media bucket key of one segment of one rendition, if it is ready."""
        stream = self.streams.by_playback_id(playback_id)
        item = self.segments.get(stream["id"], seq)
        if item is None or item.get("status") != "ready":
            raise NotFound("segment_not_found", f"segment {seq} is not available")
        if rendition == SOURCE_RENDITION:
            return str(item["sourceKey"])
        rendition_info = (item.get("renditions") or {}).get(rendition)
        if rendition_info is None:
            raise NotFound("segment_not_found", f"segment {seq} has no rendition {rendition!r}")
        return str(rendition_info["key"])
