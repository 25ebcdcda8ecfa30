"""Server-Timing: what a request spent on named parts, collected per request and read back from a header."""

from __future__ import annotations

import time

from chalicelib.core import timing


def test_parts_timed_in_a_request_come_out_as_one_header_and_read_back() -> None:
    with timing.collecting() as spans:
        with timing.timed(timing.TICKETS):
            time.sleep(0.01)
        timing.add(timing.TICKET_CHECK, 2.5)
        timing.add(timing.TICKET_CHECK, 1.0)  # a second attempt's adds up
    assert spans[timing.TICKETS] >= 10 and spans[timing.TICKET_CHECK] == 3.5
    value = timing.header(spans)[timing.HEADER]
    assert value.startswith("tickets;dur=") and value.endswith("ticket-check;dur=3.5")
    assert timing.durations(value) == {k: round(v, 1) for k, v in spans.items()}


def test_outside_a_collecting_request_nothing_is_recorded_and_no_header_is_sent() -> None:
    timing.add(timing.TICKETS, 5.0)
    with timing.timed(timing.TICKETS):
        pass
    with timing.collecting() as spans:
        pass
    assert spans == {} and timing.header(spans) == {}


def test_a_part_that_raises_is_still_timed() -> None:
    with timing.collecting() as spans:
        try:
            with timing.timed("check"):
                raise ValueError("refused")
        except ValueError:
            pass
    assert "check" in spans


def test_a_strangers_header_yields_only_the_durations_it_states_sensibly() -> None:
    header = 'db;dur=53, cache;desc="hit", app;desc="x";dur=47.2, bad name;dur=1, huge;dur=' + "9" * 400 + ", ;;,"
    assert timing.durations(header) == {"db": 53.0, "app": 47.2}
    assert timing.durations(None) == {} and timing.durations("") == {}
    assert timing.durations("x;dur=-5, y;dur=abc, z;dur=3600001") == {}
    assert timing.durations(", ".join(["pay;dur=3600000"] * 1000)) == {"pay": 3_600_000.0}  # repeats add nothing
