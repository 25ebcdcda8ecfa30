"""The dashboard in a real browser on the local stack, as an operator opens it.

Segments are pushed to a stream and transcoded; the operator opens ``/dashboard``, a wrong API key is refused,
the right one shows the stream with its counters, the orchestrator that transcoded it with its numbers, and the
plot with a point, under the page's Content-Security-Policy; the key stays in the tab, never in a URL.

The screenshot (dashboard.png) is kept in the test's ``tmp_path`` (``pytest --basetemp=DIR`` puts it under
``DIR/test_an_operator_sees_…0/``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.dashboard_page import open_dashboard
from tests.browser.player import browser_available, browser_unavailable_reason
from tests.integration.conftest import Api, wait_for
from tests.media import segment_bytes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not browser_available(), reason=browser_unavailable_reason() or ""),
]

SEGMENTS = 3


def test_an_operator_sees_the_stream_the_orchestrator_and_the_plot_after_entering_the_key(
    api: Api, tmp_path: Path
) -> None:
    stream = api.create_stream(
        "dashboard", profiles=[{"name": "144p0", "width": 256, "height": 144, "bitrate": 150_000}]
    )
    orchestrators = set()
    for seq, body in enumerate(segment_bytes("240p", n=SEGMENTS)):
        pushed = api.push(stream["streamKey"], seq, body, **{"Content-Duration": "2000"})
        assert pushed.status_code == 202, pushed.text
        orchestrators.add(pushed.json()["orchestrator"])

    def transcoded() -> bool:
        counted = api.call("GET", f"/stream/{stream['id']}").json()
        return bool(counted["transcodedSegments"] == SEGMENTS)

    wait_for(transcoded, 60, what=f"{SEGMENTS} segments of {stream['id']} transcoded")
    orchestrator = sorted(orchestrators)[0]

    report = open_dashboard(api.url("/dashboard"), api.key, stream["id"], orchestrator, out=tmp_path, timeout_s=45)
    print(f"dashboard screenshot: {tmp_path / 'dashboard.png'}")
    assert report.probe_error is None and report.page_errors == [], report.summary()
    assert report.locked is not None and report.locked["formVisible"] and not report.locked["contentVisible"]
    assert report.refused is not None and "invalid_api_key" in report.refused["status"], report.summary()
    shown = report.refreshed
    assert shown is not None, report.summary()

    name, state, _health, _seen, source, done, *_ = shown["streamRow"]
    assert (name, state) == ("dashboard", "live")
    assert (int(source), int(done)) == (SEGMENTS, SEGMENTS), shown["streamRow"]
    served = shown["orchestratorRow"]
    assert shown["served"] >= 1 and "%" in served[6] and served[7].endswith(" ms"), served
    assert shown["plotPoints"] >= 1 and shown["plotCircles"] == shown["plotPoints"] and shown["plotLines"] >= 2
    assert not shown["paymentsVisible"], "the local stack under test runs off chain: no payments to show"

    assert shown["violations"] == [], "the page's Content-Security-Policy allowed everything it needs"
    assert shown["keyStored"] and shown["storedKeyMatches"] and shown["cookie"] == ""
    assert report.key_in_any_url is False and all(api.key not in url for url in report.requests)
    assert report.ok, report.summary()
    assert [p.name for p in report.screenshots] == ["dashboard.png"] and (tmp_path / "dashboard.png").is_file()
