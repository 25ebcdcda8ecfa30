"""HLS playlists from segment records: which segments are listed, gaps, and the text itself.

A segment is listed once every rendition of it is ready, so all renditions stay aligned (players
switch between them at segment boundaries). A sequence number that will never be listed (its
transcode failed, it waited too long, or it never arrived) is declared a gap once and for all; the
gap set makes media sequence numbers and discontinuity sequence numbers stable across reloads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from chalicelib.segments.models import SegmentRecord, SegmentStatus
from chalicelib.streams.profiles import SOURCE_RENDITION

HLS_VERSION = 3


@dataclass(frozen=True)
class Entry:
    """A listed segment: its sequence number, duration and whether a discontinuity precedes it."""

    seq: int
    duration_s: float
    discontinuity: bool


@dataclass
class Listing:
    """The listable segments and the gaps newly declared while finding them."""

    entries: list[Entry]
    new_gaps: set[int] = field(default_factory=set)


def resolve(
    records: Sequence[SegmentRecord],
    gaps: Iterable[int],
    now_ms: int,
    pending_timeout_ms: int,
    missing_timeout_ms: int,
) -> Listing:
    """Walk segment records in sequence order and return what can be listed now.

    Listing stops at the first segment still in flight (so a late result never has to be inserted
    into a playlist that players already read), unless it has waited past its timeout, in which
    case it becomes a gap. A missing sequence number becomes a gap once the segment after it has
    waited ``missing_timeout_ms``.
    """
    known_gaps = {int(g) for g in gaps}
    new_gaps: set[int] = set()
    listed: list[tuple[int, float]] = []
    previous: int | None = None
    for record in sorted(records, key=lambda r: r.seq):
        seq = record.seq
        waited = now_ms - record.received_at
        if previous is not None:
            hole = [s for s in range(previous + 1, seq) if s not in known_gaps and s not in new_gaps]
            if hole:
                if waited < missing_timeout_ms:
                    break
                new_gaps.update(hole)
        previous = seq
        if seq in known_gaps or seq in new_gaps:
            continue
        if record.status == SegmentStatus.READY:
            listed.append((seq, record.duration_s()))
        elif record.status == SegmentStatus.FAILED or waited >= pending_timeout_ms:
            new_gaps.add(seq)
        else:
            break
    all_gaps = known_gaps | new_gaps
    entries = [Entry(seq, duration, (seq - 1) in all_gaps) for seq, duration in listed]
    return Listing(entries, new_gaps)


def media_sequence(first_seq: int, gaps: Iterable[int]) -> int:
    """Return EXT-X-MEDIA-SEQUENCE for a window starting at ``first_seq``: gaps take no number."""
    return first_seq - sum(1 for g in gaps if int(g) < first_seq)


def discontinuity_sequence(first_seq: int, gaps: Iterable[int]) -> int:
    """Return EXT-X-DISCONTINUITY-SEQUENCE: the discontinuities that slid out above the window."""
    ordered = sorted({int(g) for g in gaps})
    runs_before = 0
    for index, gap in enumerate(ordered):
        run_ends = index + 1 == len(ordered) or ordered[index + 1] != gap + 1
        if run_ends and gap + 1 < first_seq:
            runs_before += 1
    return runs_before


def render_media(entries: Sequence[Entry], gaps: Iterable[int], uri: str = "{seq}.ts") -> str:
    """Render a live media playlist for a window of entries (no EXT-X-ENDLIST: the stream is live)."""
    gap_list = list(gaps)
    target = max([1, *(math.ceil(e.duration_s) for e in entries)])
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", f"#EXT-X-TARGETDURATION:{target}"]
    if entries:
        first = entries[0].seq
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{media_sequence(first, gap_list)}")
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence(first, gap_list)}")
    else:
        lines.append("#EXT-X-MEDIA-SEQUENCE:0")
    for entry in entries:
        if entry.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{entry.duration_s:.3f},")
        lines.append(uri.format(seq=entry.seq))
    return "\n".join(lines) + "\n"


def render_vod(entries: Sequence[Entry], uri: str = "{seq}.ts") -> str:
    """Render a finished recording's media playlist: ``EXT-X-PLAYLIST-TYPE:VOD``, every entry, ``EXT-X-ENDLIST``.

    A gap inside the recording is a discontinuity (what follows it need not continue its timestamps).
    """
    target = max([1, *(math.ceil(e.duration_s) for e in entries)])
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{HLS_VERSION}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    for index, entry in enumerate(entries):
        if entry.discontinuity and index > 0:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{entry.duration_s:.3f},")
        lines.append(uri.format(seq=entry.seq))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Variant:
    """One rendition in the master playlist."""

    name: str
    bandwidth: int
    width: int
    height: int
    codecs: str


def variants(ready: Sequence[SegmentRecord]) -> list[Variant]:
    """Return the variants (renditions and source) seen in the newest ready segment.

    BANDWIDTH is the peak bitrate over the given segments, as HLS asks: bytes × 8 / duration.
    """
    if not ready:
        return []
    newest = max(ready, key=lambda r: r.seq)
    source = newest.source_info
    assert source is not None, "a ready segment describes its source"
    source_codecs = ",".join(c for c in (source.video_codec, source.audio_codec) if c)
    peaks: dict[str, int] = {}
    for record in ready:
        duration = record.duration_s() or 1.0
        peaks[SOURCE_RENDITION] = max(peaks.get(SOURCE_RENDITION, 0), int(record.source_bytes * 8 / duration))
        for name, rendition in record.renditions.items():
            peaks[name] = max(peaks.get(name, 0), int(rendition.bytes * 8 / duration))
    result = [Variant(SOURCE_RENDITION, peaks[SOURCE_RENDITION], source.width, source.height, source_codecs)]
    for name, r in sorted(newest.renditions.items(), key=lambda kv: -kv[1].height):
        result.append(Variant(name, peaks.get(name, r.bitrate), r.width, r.height, r.codecs))
    return result


def render_master(variant_list: Sequence[Variant], uri: str = "{name}/index.m3u8") -> str:
    """Render the master playlist (a live stream's or a recording's): one EXT-X-STREAM-INF per rendition, the
    source first."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variant_list:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth},RESOLUTION={v.width}x{v.height},"
            f'CODECS="{v.codecs}",NAME="{v.name}"'
        )
        lines.append(uri.format(name=v.name))
    return "\n".join(lines) + "\n"
