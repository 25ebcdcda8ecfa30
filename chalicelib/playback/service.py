"""Playback: a playback id's info (Studio's shape), its player page, its playlists, and its segments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.core.clock import now_ms
from chalicelib.core.errors import NotFound
from chalicelib.core.settings import Settings
from chalicelib.playback.assets import PlayerAssets
from chalicelib.playback.hls import Entry, render_master, render_media, resolve, variants
from chalicelib.playback.info import PlaybackInfo, PlaybackSource, live_info
from chalicelib.playback.links import hls_url, origin_of
from chalicelib.playback.page import PlayerPage, render_player
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.models import SegmentRecord, SegmentStatus
from chalicelib.segments.names import SegmentName, parse_ingest_name
from chalicelib.segments.store import SegmentStore
from chalicelib.streams.models import StreamRecord
from chalicelib.streams.profiles import SOURCE_RENDITION
from chalicelib.streams.store import StreamStore

# How many of the newest segment records to examine per request: three windows, plus room for
# segments still in flight, so that a stalled worker never empties a playlist viewers hold.
LOOKBACK_WINDOWS = 3
LOOKBACK_IN_FLIGHT = 32
MEDIA_PLAYLIST = "index.m3u8"


@dataclass(frozen=True)
class Playlist:
    """An HLS playlist's text."""

    text: str


@dataclass(frozen=True)
class SegmentData:
    """A segment's bytes, served through the API."""

    data: bytes


@dataclass(frozen=True)
class Redirect:
    """Where to fetch a segment instead: a presigned URL."""

    url: str


@dataclass
class Playback:
    """The stores, bucket and settings playback reads."""

    settings: Settings
    streams: StreamStore
    segments: SegmentStore
    media: MediaBucket

    def _window(self, stream: StreamRecord) -> tuple[list[Entry], set[int], dict[int, SegmentRecord]]:
        window = self.settings.playlist_window
        records = self.segments.newest(stream.id, window * LOOKBACK_WINDOWS + LOOKBACK_IN_FLIGHT)
        listing = resolve(
            records,
            stream.gaps,
            now_ms(),
            int(self.settings.pending_timeout_s * 1000),
            int(self.settings.missing_timeout_s * 1000),
        )
        if listing.new_gaps:
            self.streams.add_gaps(stream.id, listing.new_gaps)
        by_seq = {r.seq: r for r in records}
        return listing.entries[-window:], set(stream.gaps) | listing.new_gaps, by_seq

    def info(self, playback_id: str, base_url: str, extra_sources: Sequence[PlaybackSource] = ()) -> PlaybackInfo:
        """Return Studio's playback info of a stream: its HLS master playlist under ``base_url``, live or not.

        404 ``unknown_playback_id`` for an id no stream has, ``stream_ended`` for a deleted stream's.
        """
        stream = self.streams.find_by_playback_id(playback_id)
        if stream is None:
            raise NotFound("unknown_playback_id", f"no playback URL found for {playback_id!r}")
        if stream.deleted:
            raise NotFound("stream_ended", "this stream has ended: it was deleted")
        return live_info(stream, hls_url(base_url, playback_id), extra_sources)

    def player_page(self, playback_id: str, base_url: str, assets: PlayerAssets) -> PlayerPage:
        """Return the player page of a playback id, allowed to play from ``base_url`` and, when segments
        are redirected, from the media bucket."""
        origins = [origin_of(base_url)]
        if self.settings.segment_delivery == "redirect":
            # Presigning is local (no request): any key shows the bucket's origin.
            origins.append(origin_of(self.media.presigned_get("origin", self.settings.presign_ttl_s)))
        return render_player(playback_id, assets, origins)

    def master(self, playback_id: str) -> str:
        """Return the master playlist; 404 until the first segment is ready."""
        stream = self.streams.by_playback_id(playback_id)
        entries, _, by_seq = self._window(stream)
        if not entries:
            raise NotFound("stream_not_ready", "no segment of this stream is ready yet; retry shortly")
        return render_master(variants([by_seq[e.seq] for e in entries]))

    def media_playlist(self, playback_id: str, rendition: str) -> str:
        """Return the live media playlist of one rendition (or of the source)."""
        stream = self.streams.by_playback_id(playback_id)
        entries, gaps, by_seq = self._window(stream)
        if rendition != SOURCE_RENDITION:
            known = by_seq[entries[-1].seq].renditions if entries else {p.name: p for p in stream.profiles}
            if rendition not in known:
                raise NotFound("unknown_rendition", f"this stream has no rendition {rendition!r}")
        return render_media(entries, gaps)

    def segment_key(self, playback_id: str, rendition: str, seq: int) -> str:
        """Return the media bucket key of one segment of one rendition, if it is ready."""
        stream = self.streams.by_playback_id(playback_id)
        return self.stream_segment_key(stream.id, rendition, seq)

    def stream_segment_key(self, stream_id: str, rendition: str, seq: int) -> str:
        """Return the media bucket key of one segment of one rendition of a stream (by id), if it is ready."""
        record = self.segments.get(stream_id, seq)
        if record is None or record.status != SegmentStatus.READY:
            raise NotFound("segment_not_found", f"segment {seq} is not available")
        if rendition == SOURCE_RENDITION:
            return record.source_key
        if rendition not in record.renditions:
            raise NotFound("segment_not_found", f"segment {seq} has no rendition {rendition!r}")
        return record.renditions[rendition].key

    def rendition_file(self, playback_id: str, rendition: str, file: str) -> Playlist | SegmentData | Redirect:
        """A rendition's live media playlist (``index.m3u8``) or one of its segments (``<seq>.ts``)."""
        if file == MEDIA_PLAYLIST:
            return Playlist(self.media_playlist(playback_id, rendition))
        target = parse_ingest_name(file)
        if not isinstance(target, SegmentName):
            raise NotFound("not_found", f"no file {file!r}")
        return self.deliver(self.segment_key(playback_id, rendition, target.seq))

    def deliver(self, key: str) -> SegmentData | Redirect:
        """Serve a segment's bytes, or (``LP_SEGMENT_DELIVERY=redirect``) a presigned URL to them."""
        if self.settings.segment_delivery == "redirect":
            return Redirect(self.media.presigned_get(key, self.settings.presign_ttl_s))
        return SegmentData(self.media.read(key))
