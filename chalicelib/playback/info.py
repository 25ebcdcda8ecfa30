"""Playback info in Livepeer Studio's shape (its ``playback-info`` schema): what a player needs to play an id.

``{"type": "live", "meta": {"live": 1, "playbackPolicy": {...}, "source": [{"hrn": "HLS (TS)", "type":
"html5/application/vnd.apple.mpegurl", "url": ...}]}}``. A stream answers ``type: live`` with its HLS master
playlist, ``meta.live`` 1 while it is active. Recordings (``type: recording``, an HLS playlist and an MP4)
will come through the same builder, with their sources in ``extra_sources``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.streams.models import PlaybackPolicy, Stream

PlaybackType = Literal["live", "vod", "recording"]

# Studio's human-readable names (``hrn``) and types of the sources this network can serve.
HRN_HLS: Final = "HLS (TS)"
TYPE_HLS: Final = "html5/application/vnd.apple.mpegurl"
HRN_MP4: Final = "MP4"
TYPE_MP4: Final = "html5/video/mp4"

SourceName = Literal["HLS (TS)", "MP4"]
SourceType = Literal["html5/application/vnd.apple.mpegurl", "html5/video/mp4"]


class PlaybackSource(ApiModel):
    """One way to play: Studio's ``meta.source[]`` item (size, width, height, bitrate for a file)."""

    hrn: SourceName = Field(description="Studio's human-readable name of the format: `HLS (TS)` or `MP4`.")
    type: SourceType = Field(description="The source's MIME type, prefixed `html5/` as Studio does.")
    url: str = Field(description="Where to play it.")
    size: int | None = Field(default=None, description="A file's size in bytes.")
    width: int | None = Field(default=None, description="A file's video width in pixels.")
    height: int | None = Field(default=None, description="A file's video height in pixels.")
    bitrate: int | None = Field(default=None, description="A file's bitrate in bits/s.")


class PlaybackMeta(ApiModel):
    """Studio's ``meta``: whether the stream is live (0 or 1), its playback policy, and its sources."""

    live: Literal[0, 1] | None = Field(default=None, description="1 while the stream is active, 0 otherwise.")
    playback_policy: PlaybackPolicy | None = Field(default=None, description="Who may play (here: anyone).")
    source: list[PlaybackSource] = Field(description="The ways to play, the HLS playlist first.")


class PlaybackInfo(ApiModel):
    """``GET /playback/{playbackId}``'s answer."""

    type: PlaybackType = Field(description="`live` for a stream; `recording` for a recorded session.")
    meta: PlaybackMeta = Field(description="Whether it is live, its policy, and its sources.")


def hls_source(url: str) -> PlaybackSource:
    """Return the source entry of an HLS master playlist."""
    return PlaybackSource(hrn=HRN_HLS, type=TYPE_HLS, url=url)


def playback_info(
    kind: PlaybackType,
    hls_url: str,
    *,
    live: bool | None = None,
    policy: PlaybackPolicy | None = None,
    extra_sources: Sequence[PlaybackSource] = (),
) -> PlaybackInfo:
    """Build playback info: the HLS source first, then ``extra_sources`` (a recording's MP4, say), as given."""
    flag: Literal[0, 1] | None = None if live is None else (1 if live else 0)  # Studio writes 0 or 1
    meta = PlaybackMeta(live=flag, playback_policy=policy, source=[hls_source(hls_url), *extra_sources])
    return PlaybackInfo(type=kind, meta=meta)


def live_info(stream: Stream, hls_url: str, extra_sources: Sequence[PlaybackSource] = ()) -> PlaybackInfo:
    """Return a stream's playback info: ``type: live``, ``meta.live`` 1 while it is active, 0 otherwise."""
    return playback_info(
        "live", hls_url, live=stream.is_active, policy=stream.playback_policy, extra_sources=extra_sources
    )
