"""``/dashboard``: a page with no data of its own under a strict policy, and ``/dashboard/data`` behind the API key:
the caller's own streams with their health, every orchestrator's outcomes as this gateway counted them, payments
from the tallies and the chain's projections, and a per-minute series."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.dashboard.assets import STATIC_DIR
from chalicelib.dashboard.service import WINDOW_MINUTES
from chalicelib.jobs.models import JobError, TranscodeResult, job_id
from chalicelib.projections.models import ClockState, HeadState, OrchestratorState, SenderState
from chalicelib.segments.tally import MINUTE_MS, OrchestratorTally, minute_of
from tests.domain.conftest import ORCHESTRATOR, ORCHESTRATOR_URL, Stage, run_worker
from tests.domain.footage import tiny_segments

YEAR = "public, max-age=31536000, immutable"
NOW = 1_700_000_000_000  # a fixed time for the tallies written by hand
OTHER = "0x" + "ab" * 20


def data(stage: Stage, **headers: str) -> dict[str, Any]:
    response = stage.call("GET", "/dashboard/data", **headers)
    assert response.status_code == 200, response.body[:500]
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.json_body
    return body


def row(rows: list[dict[str, Any]], address: str) -> dict[str, Any]:
    [found] = [r for r in rows if r["address"].lower() == address.lower()]
    return found


def policy(headers: dict[str, str]) -> dict[str, list[str]]:
    directives = [d.split() for d in headers["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def shown(stage: Stage, at_ms: int) -> dict[str, Any]:
    """What the dashboard shows the test's key holder at ``at_ms`` (the domain function, as the route calls it)."""
    return stage.app.wiring.dashboard().data("tester", at_ms).model_dump(mode="json", by_alias=True)


def tally(stage: Stage) -> OrchestratorTally:
    return stage.app.wiring.tally()


# --- the data, behind the API key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "missing_api_key"), ("Basic dXNlcjpwdw==", "malformed_authorization"), ("Bearer nope", "invalid_api_key")],
)
def test_the_dashboard_data_needs_an_api_key(stage: Stage, authorization: str | None, code: str) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = stage.client.http.get("/dashboard/data", headers=headers)
    assert (response.status_code, response.json_body["error"]["code"]) == (401, code)


def test_only_the_callers_own_streams_are_listed_and_no_stream_key(stage: Stage) -> None:
    mine = stage.create_stream("mine")
    stage.app.wiring.apikeys().register("other-key", "someone else")
    theirs = stage.call("POST", "/stream", {"name": "theirs"}, Authorization="Bearer other-key").json_body
    seen = data(stage)
    assert [s["id"] for s in seen["streams"]] == [mine["id"]] and seen["streamsTotal"] == 1
    assert [s["id"] for s in data(stage, Authorization="Bearer other-key")["streams"]] == [theirs["id"]]
    assert mine["streamKey"] not in str(seen), "the dashboard never shows a stream key"
    [stream] = seen["streams"]
    assert (stream["state"], stream["health"], stream["recent"], stream["lastSeen"]) == ("waiting", None, None, None)


def test_live_streams_come_first_then_the_newest_seen(stage: Stage) -> None:
    quiet = stage.create_stream("quiet")
    live = stage.create_stream("live")
    stage.create_stream("newest, never pushed")
    assert stage.push(live["streamKey"], 0, tiny_segments()[0]).status_code == 202
    stage.call("PATCH", f"/stream/{quiet['id']}", {"suspended": True})
    names = [(s["name"], s["state"]) for s in data(stage)["streams"]]
    assert names == [("live", "live"), ("newest, never pushed", "waiting"), ("quiet", "suspended")]


def test_a_live_stream_shows_its_health_and_the_orchestrator_its_outcomes(stage: Stage) -> None:
    stream = stage.create_stream("flow")
    for seq, segment in enumerate(tiny_segments(2)):
        assert stage.push(stream["streamKey"], seq, segment).status_code == 202
    pending = data(stage)
    [live] = pending["streams"]
    assert (live["state"], live["recent"]["pending"], live["recent"]["segments"]) == ("live", 2, 2)
    assert row(pending["orchestrators"], ORCHESTRATOR)["dispatched"] == 2

    results = run_worker(stage)
    event = stage.sqs_event("results", stage.receive("results"))
    for _ in range(2):  # delivered twice: settled once, counted once
        assert stage.client.lambda_.invoke("on_result", event).payload == {"batchItemFailures": []}

    seen = data(stage)
    [live] = seen["streams"]
    assert (live["state"], live["health"], live["sourceSegments"], live["transcodedSegments"]) == ("live", "ok", 2, 2)
    times = [r.transcode_ms for r in results if r.transcode_ms is not None]
    assert live["recent"] == {
        "segments": 2,
        "ready": 2,
        "failed": 0,
        "pending": 0,
        "stalled": 0,
        "newestSeq": 1,
        "meanTranscodeMs": sum(times) / len(times),
    }
    assert live["orchestrator"] == ORCHESTRATOR
    orchestrator = row(seen["orchestrators"], ORCHESTRATOR)
    assert orchestrator["url"] == ORCHESTRATOR_URL and orchestrator["stake"] is None  # off chain: configured
    assert (orchestrator["dispatched"], orchestrator["segmentsServed"], orchestrator["failed"]) == (2, 2, 0)
    assert orchestrator["successRate"] == 1.0 and orchestrator["meanTranscodeMs"] == sum(times) / len(times)
    assert (seen["mode"], seen["payments"]) == ("offchain", None)
    assert len(seen["series"]) == seen["windowMinutes"] == WINDOW_MINUTES
    assert sum(p["ok"] for p in seen["series"]) == 2 and sum(p["dispatched"] for p in seen["series"]) == 2


def test_a_segment_that_fails_for_good_counts_against_its_orchestrator(stage: Stage) -> None:
    stream = stage.create_stream("failing")
    segments = tiny_segments(2)
    assert stage.push(stream["streamKey"], 0, segments[0]).status_code == 202
    run_worker(stage)
    stage.deliver_results()
    assert stage.push(stream["streamKey"], 1, segments[1]).status_code == 202
    stage.receive("jobs")  # the job is lost; its last attempt's manifest reports the failure
    failure = TranscodeResult(
        job_id=job_id(stream["id"], 1),
        stream_id=stream["id"],
        seq=1,
        orchestrator=ORCHESTRATOR,
        status="failed",
        attempt=3,
        final=True,
        error=JobError(code="decode_failed", message="no video"),
    )
    stage.put_media(f"results/{stream['id']}/1.json", failure.model_dump_json().encode())
    assert stage.deliver_results() == {"batchItemFailures": []}

    seen = data(stage)
    orchestrator = row(seen["orchestrators"], ORCHESTRATOR)
    assert (orchestrator["segmentsServed"], orchestrator["failed"], orchestrator["successRate"]) == (1, 1, 0.5)
    [live] = seen["streams"]
    assert (live["recent"]["failed"], live["recent"]["ready"], live["health"]) == (1, 1, "failing")
    assert sum(p["failed"] for p in seen["series"]) == 1


def test_orchestrator_aggregates_are_computed_from_the_outcomes_counted(stage: Stage) -> None:
    counted = tally(stage)
    for ms in (100, 200, 300):
        counted.dispatched(ORCHESTRATOR, None, NOW - 5 * MINUTE_MS)
        counted.settled(ORCHESTRATOR, True, ms, NOW - 5 * MINUTE_MS)
    counted.dispatched(ORCHESTRATOR, None, NOW - MINUTE_MS)
    counted.settled(ORCHESTRATOR, False, None, NOW - MINUTE_MS)
    counted.dispatched(OTHER.upper().replace("0X", "0x"), None, NOW)  # addresses are counted case-blind
    counted.settled(OTHER, True, 50, NOW)
    counted.settled(OTHER, True, 70, NOW - (WINDOW_MINUTES + 5) * MINUTE_MS)  # before the window
    seen = shown(stage, NOW)

    a, other = row(seen["orchestrators"], ORCHESTRATOR), row(seen["orchestrators"], OTHER)
    assert (a["dispatched"], a["segmentsServed"], a["failed"]) == (4, 3, 1)
    assert (a["successRate"], a["meanTranscodeMs"], a["lastAt"]) == (0.75, 200.0, NOW - MINUTE_MS)
    assert (other["dispatched"], other["segmentsServed"], other["meanTranscodeMs"], other["url"]) == (1, 2, 60.0, None)
    assert [r["address"].lower() for r in seen["orchestrators"]] == [ORCHESTRATOR.lower(), OTHER], "configured first"

    series = {p["at"]: p for p in seen["series"]}
    assert list(series) == [minute_of(NOW) - (WINDOW_MINUTES - 1 - i) * MINUTE_MS for i in range(WINDOW_MINUTES)]
    assert (series[minute_of(NOW - 5 * MINUTE_MS)]["ok"], series[minute_of(NOW - MINUTE_MS)]["failed"]) == (3, 1)
    assert (series[minute_of(NOW)]["ok"], series[minute_of(NOW)]["dispatched"]) == (1, 1)
    assert sum(p["ok"] for p in seen["series"]) == 4, "the minute before the window is left out"


def test_strikes_and_rest_come_from_the_health_book(stage: Stage) -> None:
    book = stage.app.wiring.health()
    for _ in range(3):
        book.strike(OTHER, "timeout", NOW)
    seen = shown(stage, NOW + 1000)
    other = row(seen["orchestrators"], OTHER)
    assert (other["strikes"], other["resting"], other["lastFailureReason"], other["lastFailure"]) == (
        3,
        True,
        "timeout",
        NOW,
    )
    assert not row(seen["orchestrators"], ORCHESTRATOR)["resting"]


# --- on-chain mode: the projections and the tickets ----------------------------------------------------------


def project_chain(stage: Stage) -> None:
    """Projections as the poller would leave them: round 5, the orchestrator active and credited, the gateway funded."""
    store = stage.app.wiring.projections()
    store.put(ClockState(round_length=10, anchor_round=5, anchor_start_block=100, last_initialized_round=5,
                         active_set_size=1), 1)  # fmt: skip
    store.put(HeadState(number=105, hash="0x" + "11" * 32), 1)
    store.put(
        OrchestratorState(
            address=ORCHESTRATOR,
            total_stake=3000 * 10**18,
            registered=True,
            activation_round=1,
            deactivation_round=2**64,
            reward_cut=0,
            fee_share=0,
            next_reward_cut=0,
            next_fee_share=0,
            service_uri=ORCHESTRATOR_URL,
            price_per_unit=1200,
            pixels_per_unit=1000,
            read_round=5,
            credited=6 * 10**15,
        ),
        1,
    )
    store.put(
        SenderState(address=ORCHESTRATOR, deposit=10**18, withdraw_round=0, reserve=5 * 10**17, claimed_in_round=0,
                    read_round=5),
        1,
    )  # fmt: skip


def test_on_chain_the_orchestrators_come_with_stake_price_and_the_payments(stage: Stage) -> None:
    stage.configure(mode="onchain")
    project_chain(stage)
    tally(stage).dispatched(ORCHESTRATOR, 3, NOW)
    tally(stage).dispatched(ORCHESTRATOR, 2, NOW)
    seen = data(stage)
    orchestrator = row(seen["orchestrators"], ORCHESTRATOR)
    assert (orchestrator["stake"], orchestrator["weiPerPixel"], orchestrator["active"]) == (
        str(3000 * 10**18),
        1.2,
        True,
    )
    assert (orchestrator["pricePerUnit"], orchestrator["pixelsPerUnit"], orchestrator["url"]) == (
        "1200",
        "1000",
        ORCHESTRATOR_URL,
    )
    assert seen["payments"]["orchestrators"] == [
        {"address": ORCHESTRATOR, "ticketsSent": 5, "creditedWei": str(6 * 10**15)}
    ]
    assert seen["payments"]["sender"] == {
        "address": ORCHESTRATOR,
        "depositWei": str(10**18),
        "reserveWei": str(5 * 10**17),
        "withdrawRound": 0,
    }
    assert sum(p["tickets"] for p in seen["series"]) == 0, "the tallies above are at a fixed time, long ago"


def test_on_chain_before_the_chain_is_projected_the_page_says_so(stage: Stage) -> None:
    stage.configure(mode="onchain")
    tally(stage).dispatched(ORCHESTRATOR, 4, NOW)
    seen = data(stage)
    assert any("not projected" in note for note in seen["notes"]), seen["notes"]
    orchestrator = row(seen["orchestrators"], ORCHESTRATOR)  # known from its tally alone
    assert (orchestrator["stake"], orchestrator["active"], orchestrator["dispatched"]) == (None, None, 1)
    assert seen["payments"] == {
        "sender": None,
        "orchestrators": [{"address": ORCHESTRATOR.lower(), "ticketsSent": 4, "creditedWei": None}],
    }


# --- the page -----------------------------------------------------------------------------------------------


def test_the_dashboard_page_runs_only_what_the_app_serves(stage: Stage) -> None:
    response = stage.get("/dashboard")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.body.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert [body for _, body in scripts] == [""], "no inline script"
    assert "style=" not in html and "<style" not in html, "no inline style"
    assert "//" not in html.replace("<!doctype", ""), "nothing from another origin, no CDN"
    rules = policy(response.headers)
    assert rules["default-src"] == ["'none'"] and rules["script-src"] == ["'self'"]
    assert rules["style-src"] == ["'self'"] and rules["connect-src"] == ["'self'"]
    assert rules["form-action"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in rules.values() for source in sources)
    links = re.findall(r'(?:src|href)="(dashboard/assets/[^"]+)"', html)
    assert sorted(link.split("?")[0] for link in links) == [
        "dashboard/assets/dashboard.css",
        "dashboard/assets/dashboard.js",
    ]
    for link in links:
        served = stage.get(f"/{link}")
        assert served.status_code == 200, link
        assert served.headers["Cache-Control"] == YEAR and served.headers["X-Content-Type-Options"] == "nosniff"
    assert 'data-source="dashboard/data"' in html


def test_the_page_holds_no_data_and_the_key_never_travels_in_a_url(stage: Stage) -> None:
    stage.create_stream("a name only the key holder sees")
    html = stage.get("/dashboard").body.decode()
    assert "a name only the key holder sees" not in html
    key_input = re.search(r"<input[^>]*id=\"api-key\"[^>]*>", html)
    assert key_input is not None and "name=" not in key_input.group(0) and 'type="password"' in key_input.group(0)
    script = (STATIC_DIR / "dashboard.js").read_text()
    assert "sessionStorage" in script and "Authorization: 'Bearer '" in script
    assert "localStorage" not in script and "document.cookie" not in script
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script, "text is set with textContent"


def test_an_unknown_dashboard_asset_is_404(stage: Stage) -> None:
    response = stage.get("/dashboard/assets/other.js")
    assert (response.status_code, response.json_body["error"]["code"]) == (404, "asset_not_found")
