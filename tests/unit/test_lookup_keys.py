"""Lookup keys: one longer than any this app issues names no item, counted in UTF-8 bytes, not characters."""

from __future__ import annotations

from chalicelib.core.dynamo import MAX_LOOKUP_KEY_BYTES, names_no_item
from chalicelib.segments.media import MAX_S3_KEY_BYTES, MediaBucket


def test_a_key_of_exactly_the_bound_is_looked_up() -> None:
    assert not names_no_item("a" * MAX_LOOKUP_KEY_BYTES)


def test_a_key_one_byte_over_the_bound_names_no_item() -> None:
    assert names_no_item("a" * (MAX_LOOKUP_KEY_BYTES + 1))


def test_multibyte_characters_count_in_utf8_bytes() -> None:
    two_bytes = "é"  # U+00E9: 2 bytes in UTF-8
    assert not names_no_item(two_bytes * (MAX_LOOKUP_KEY_BYTES // 2))
    assert names_no_item(two_bytes * (MAX_LOOKUP_KEY_BYTES // 2) + "a")
    # Fewer characters than the bound, more bytes: refused.
    four_bytes = "🎥"  # U+1F3A5: 4 bytes in UTF-8
    assert names_no_item(four_bytes * (MAX_LOOKUP_KEY_BYTES // 4 + 1))


def test_a_lone_surrogate_is_counted_not_raised_on() -> None:
    assert not names_no_item("\ud800")
    assert names_no_item("\ud800" * MAX_LOOKUP_KEY_BYTES)


def test_an_s3_key_longer_than_s3_allows_names_no_object() -> None:
    class Unreachable:
        def get_object(self, **_: object) -> None:
            raise AssertionError("a key S3 refuses was sent to S3")

    bucket = MediaBucket(Unreachable(), "media")  # type: ignore[arg-type]
    assert bucket.find("recordings/s/" + "r" * MAX_S3_KEY_BYTES + "/index.m3u8") is None
