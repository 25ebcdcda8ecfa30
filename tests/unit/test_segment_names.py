"""Ingest names: sequence numbers are non-negative integers; pushed playlists give durations."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.segments.names import PlaylistName, SegmentName, parse_ingest_name, segment_durations


@pytest.mark.parametrize(("name", "seq"), [("0.ts", 0), ("17.ts", 17), ("index3.ts", 3), ("seg_12.ts", 12)])
def test_segment_names_give_their_sequence_number(name: str, seq: int) -> None:
    assert parse_ingest_name(name) == SegmentName(seq)


def test_playlist_uploads_are_recognised() -> None:
    assert parse_ingest_name("index.m3u8") == PlaylistName("index.m3u8")


@pytest.mark.parametrize("name", ["-1.ts", "abc.ts", "1.5.ts", "12", "12.mp4", "9" * 16 + ".ts", ".ts", "x-3.ts"])
def test_names_without_a_non_negative_integer_are_refused(name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_ingest_name(name)
    assert caught.value.code == "invalid_sequence"


def test_durations_come_from_extinf_lines_of_ffmpegs_playlist() -> None:
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n"
        "#EXTINF:2.000000,\nindex4.ts\n#EXTINF:1.960000,\nindex5.ts\n#EXTINF:bogus,\nindex6.ts\n"
    )
    assert segment_durations(playlist) == {4: 2000, 5: 1960}
