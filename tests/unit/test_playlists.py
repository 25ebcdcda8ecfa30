"""Live playlists: what is listed when, gaps, and numbering that stays stable across reloads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.jobs.models import RenditionResult, SourceInfo
from chalicelib.playback.hls import (
    Entry,
    discontinuity_sequence,
    media_sequence,
    render_master,
    render_media,
    resolve,
    variants,
)
from chalicelib.segments.models import SegmentRecord, SegmentStatus

PENDING_MS = 20_000
MISSING_MS = 6_000


def seg(seq: int, status: str = "ready", received: int = 0, duration_ms: int = 2000) -> SegmentRecord:
    return SegmentRecord(
        stream_id="s",
        seq=seq,
        status=SegmentStatus(status),
        source_key=f"source/s/{seq}.ts",
        source_bytes=188,
        received_at=received,
        duration_ms=duration_ms,
    )


def test_ready_segments_are_listed_in_order() -> None:
    listing = resolve([seg(2), seg(0), seg(1)], set(), 1000, PENDING_MS, MISSING_MS)
    assert [e.seq for e in listing.entries] == [0, 1, 2]
    assert not listing.new_gaps
    assert not any(e.discontinuity for e in listing.entries)


def test_listing_stops_at_a_segment_still_being_transcoded() -> None:
    listing = resolve([seg(0), seg(1, "dispatched", 900), seg(2)], set(), 1000, PENDING_MS, MISSING_MS)
    assert [e.seq for e in listing.entries] == [0]


def test_a_segment_pending_past_its_timeout_becomes_a_gap_with_a_discontinuity() -> None:
    listing = resolve([seg(0), seg(1, "dispatched", 0), seg(2)], set(), PENDING_MS, PENDING_MS, MISSING_MS)
    assert listing.new_gaps == {1}
    assert [(e.seq, e.discontinuity) for e in listing.entries] == [(0, False), (2, True)]


def test_a_failed_segment_becomes_a_gap_at_once() -> None:
    listing = resolve([seg(0), seg(1, "failed"), seg(2)], set(), 1, PENDING_MS, MISSING_MS)
    assert listing.new_gaps == {1}
    assert [e.seq for e in listing.entries] == [0, 2]


def test_a_missing_sequence_number_waits_then_becomes_a_gap() -> None:
    items = [seg(0), seg(3, received=10_000)]
    early = resolve(items, set(), 10_000 + MISSING_MS - 1, PENDING_MS, MISSING_MS)
    assert [e.seq for e in early.entries] == [0] and not early.new_gaps
    late = resolve(items, set(), 10_000 + MISSING_MS, PENDING_MS, MISSING_MS)
    assert late.new_gaps == {1, 2}
    assert [(e.seq, e.discontinuity) for e in late.entries] == [(0, False), (3, True)]


def test_gaps_take_no_media_sequence_number() -> None:
    assert media_sequence(10, {3, 4, 12}) == 8
    assert discontinuity_sequence(10, {3, 4, 12}) == 1
    assert discontinuity_sequence(10, {3, 4, 9}) == 1  # the tag before 10 is still in the window


def test_media_playlist_text() -> None:
    text = render_media([Entry(4, 2.0, False), Entry(6, 1.96, True)], {5})
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:4",
        "#EXT-X-DISCONTINUITY-SEQUENCE:0",
        "#EXTINF:2.000,",
        "4.ts",
        "#EXT-X-DISCONTINUITY",
        "#EXTINF:1.960,",
        "6.ts",
    ]


def test_master_playlist_lists_source_and_renditions_with_peak_bandwidth() -> None:
    def ready(seq: int, scale: int) -> SegmentRecord:
        return seg(seq).model_copy(
            update={
                "source_bytes": 500_000 * scale,
                "source_info": SourceInfo(
                    width=1280,
                    height=720,
                    fps=25,
                    duration_ms=2000,
                    bitrate=2_000_000,
                    video_codec="avc1.64001f",
                    audio_codec="mp4a.40.2",
                    frames=50,
                ),
                "renditions": {
                    "240p0": RenditionResult(
                        name="240p0",
                        key=f"renditions/s/240p0/{seq}.ts",
                        width=426,
                        height=240,
                        bitrate=250_000,
                        bytes=70_000 * scale,
                        codecs="avc1.42c015,mp4a.40.2",
                        frames=50,
                        duration_ms=2000,
                    ),
                },
            }
        )

    text = render_master(variants([ready(1, 1), ready(2, 2)]))
    assert text.splitlines()[3:] == [
        '#EXT-X-STREAM-INF:BANDWIDTH=4000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",NAME="source"',
        "source/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=560000,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",NAME="240p0"',
        "240p0/index.m3u8",
    ]


# A stream whose segments arrive, finish, fail or go missing at random; viewers reload at random.
_event = st.tuples(
    st.sampled_from(["arrive", "arrive", "arrive", "finish", "finish", "fail", "skip", "tick", "reload"]),
    st.integers(0, 3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_event, min_size=5, max_size=80))
def test_numbering_is_stable_across_reloads(events: list[tuple[str, int]]) -> None:
    window = 3
    items: dict[int, SegmentRecord] = {}
    gaps: set[int] = set()
    now = 0
    next_seq = 0
    seen_number: dict[int, int] = {}
    seen_discontinuity: dict[int, int] = {}
    last_listed: list[int] = []
    for kind, pick in events:
        now += 1000
        pending = [s for s, i in items.items() if i.status == "dispatched"]
        if kind == "arrive":
            items[next_seq] = seg(next_seq, "dispatched", now)
            next_seq += 1
        elif kind == "skip":
            next_seq += 1
        elif kind in ("finish", "fail") and pending:
            done = pending[pick % len(pending)]
            status = SegmentStatus.READY if kind == "finish" else SegmentStatus.FAILED
            items[done] = items[done].model_copy(update={"status": status})
        elif kind == "tick":
            now += 5000
        newest = sorted(items)[-3 * window :]
        listing = resolve([items[s] for s in newest], gaps, now, PENDING_MS, MISSING_MS)
        gaps |= listing.new_gaps
        shown = listing.entries[-window:]
        if not shown:
            continue
        first = shown[0].seq
        number = media_sequence(first, gaps)
        disc = discontinuity_sequence(first, gaps)
        for entry in shown:
            disc += entry.discontinuity
            assert seen_number.setdefault(entry.seq, number) == number
            assert seen_discontinuity.setdefault(entry.seq, disc) == disc
            number += 1
        listed = [e.seq for e in shown]
        # A playlist only ever grows at the end and loses entries at the start.
        overlap = [s for s in last_listed if s >= listed[0]]
        assert listed[: len(overlap)] == overlap
        last_listed = listed
