"""Sessions and recordings: Studio's session objects, VOD playlists and an MP4 when a recorded stream goes idle,
``recording.ready`` once, and a failure that says why. In-process: moto, the real worker and the real recorder."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from chalice.test import HTTPResponse

from chalicelib.core import aws
from chalicelib.core.resources import definitions
from chalicelib.recordings.remux import RemuxJob
from chalicelib.segments.media_keys import rendition_key
from chalicelib.streams.models import StreamRecord
from gpu_worker.recorder import Recorder, RecordingBucket
from gpu_worker.worker import JobQueue
from tests.domain.conftest import Stage, run_worker
from tests.domain.footage import FPS, tiny_segments
from tests.media import probe

BASE = "https://play.example.com"
# Two renditions that fit the tiny footage (426x240): the larger is the one the MP4 copies.
PROFILES = [
    {"name": "240p0", "width": 426, "height": 240, "bitrate": 250_000},
    {"name": "144p0", "width": 256, "height": 144, "bitrate": 100_000},
]
SESSION_FIELDS = {
    "id", "parentId", "name", "createdAt", "lastSeen", "sourceSegments", "sourceBytes", "sourceSegmentsDuration",
    "transcodedSegments", "transcodedBytes", "transcodedSegmentsDuration", "record", "playbackId", "profiles",
}  # fmt: skip
EXTINF = re.compile(r"^#EXTINF:([0-9.]+),$")


@dataclass
class Heard:
    """A ``StreamEvents`` that keeps what it is told."""

    events: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)

    def emit(self, stream: StreamRecord, event: str, payload: Mapping[str, Any], *, key: str, at_ms: int) -> None:
        self.events.append((stream.id, event, dict(payload), key))

    def named(self, event: str) -> list[tuple[str, str, dict[str, Any], str]]:
        return [e for e in self.events if e[1] == event]


@pytest.fixture
def heard(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> Iterator[Heard]:
    """The stage's lifecycle events, kept instead of sent to webhooks; links built on ``BASE``."""
    kept = Heard()
    monkeypatch.setattr(stage.app.wiring, "stream_events", lambda: kept)
    configure(stage, public_url=BASE)
    yield kept


def configure(stage: Stage, **changes: Any) -> None:
    """Change some of the stage's settings, keeping the changes made before (``Stage.configure`` starts afresh)."""
    current = stage.app.wiring.settings
    changed = type(current).model_validate({**current.model_dump(), **changes})
    stage.app.wiring.settings_source = lambda: changed


# --- driving the stage, step by step, as the event sources would ----------------------------------------------


def pushed_and_transcoded(stage: Stage, n: int = 3, record: bool = True) -> dict[str, Any]:
    """A stream that pushed ``n`` one-second segments, each transcoded and settled."""
    stream = stage.create_stream("session", record=record, profiles=PROFILES)
    for seq, segment in enumerate(tiny_segments(n)):
        assert stage.push(stream["streamKey"], seq, segment, **{"Content-Duration": "1000"}).status_code == 202
    run_worker(stage)
    assert stage.deliver_results() == {"batchItemFailures": []}
    return stream


def go_idle(stage: Stage) -> None:
    """The idle sweep, with every stream idle at once."""
    configure(stage, stream_idle_after_s=0)
    tick = stage.client.events.generate_cw_event("aws.events", "Scheduled Event", {}, ["arn:aws:events:rule/sweep"])
    stage.client.lambda_.invoke("sweep_idle_streams", tick)


def queued_event(stage: Stage, logical: str, receive_count: int = 1) -> dict[str, Any]:
    """The Lambda SQS event of every message waiting on a queue (received for the ``receive_count``-th time)."""
    messages = stage.receive(logical)
    assert messages, f"nothing on the {logical} queue"
    event = stage.sqs_event(logical, messages)
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def settle_sessions(stage: Stage, receive_count: int = 1) -> dict[str, Any]:
    """Hand the ended sessions to the ``sessionends`` handler."""
    event = queued_event(stage, "sessionends", receive_count)
    answer: dict[str, Any] = stage.client.lambda_.invoke("on_session_end", event).payload
    return answer


def run_recorder(stage: Stage) -> list[Any]:
    """Run the real recorder over every job on the ``recordings`` queue."""
    queue = JobQueue(aws.sqs(), stage.queue_url("recordings"))
    recorder = Recorder(queue, RecordingBucket(aws.s3()), wait_time_s=0, retry_delay_s=0, recorder_id="unit")
    results = []
    while (message := queue.receive(0)) is not None:
        results.append(recorder.handle(message))
    return results


def deliver_recorded(stage: Stage, event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = stage.client.lambda_.invoke("on_recording_remuxed", event).payload
    return answer


def recorded(stage: Stage, n: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """A recorded stream of ``n`` segments gone idle, its recording made and reported; (stream, session)."""
    stream = pushed_and_transcoded(stage, n)
    go_idle(stage)
    assert settle_sessions(stage) == {"batchItemFailures": []}
    [result] = run_recorder(stage)
    assert result.status == "ok", result
    assert deliver_recorded(stage, queued_event(stage, "recorded")) == {"batchItemFailures": []}
    [session] = sessions_of(stage, stream["id"])
    return stream, session


def sessions_of(stage: Stage, stream_id: str, query: str = "") -> list[dict[str, Any]]:
    response = stage.call("GET", f"/stream/{stream_id}/sessions{query}", Host="api.example")
    assert response.status_code == 200, response.body
    listed: list[dict[str, Any]] = response.json_body
    return listed


def media_playlist_entries(text: str) -> list[tuple[float, str]]:
    """(duration, uri) of every segment of a media playlist, in order."""
    lines = text.splitlines()
    return [(float(m[1]), lines[i + 1]) for i, line in enumerate(lines) if (m := EXTINF.match(line))]


def play(stage: Stage, url: str) -> HTTPResponse:
    return stage.get(urlsplit(url).path)


# --- sessions -----------------------------------------------------------------------------------------------


def test_sessions_are_listed_in_studios_shape(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=2)
    [session] = sessions_of(stage, stream["id"])
    assert set(session) >= SESSION_FIELDS
    assert session["parentId"] == stream["id"] and session["name"] == "session"
    assert session["playbackId"] == stream["playbackId"] and session["profiles"] == stream["profiles"]
    assert session["record"] is True and session["recordingStatus"] == "waiting"
    assert session["sourceSegments"] == 2 and session["transcodedSegments"] == 2
    assert session["sourceSegmentsDuration"] == pytest.approx(2.0, abs=0.2)
    assert session["transcodedBytes"] > 0 and session["sourceBytes"] == sum(len(s) for s in tiny_segments(2))
    assert session["createdAt"] <= session["lastSeen"]
    assert "recordingUrl" not in session and "mp4Url" not in session  # not ready yet


def test_each_period_of_activity_is_its_own_session_newest_first(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=2, record=False)
    go_idle(stage)
    assert settle_sessions(stage) == {"batchItemFailures": []}
    assert stage.push(stream["streamKey"], 2, tiny_segments(3)[2]).status_code == 202  # live again
    newer, older = sessions_of(stage, stream["id"])
    assert newer["createdAt"] > older["createdAt"]
    assert (older["sourceSegments"], newer["sourceSegments"]) == (2, 1)
    assert len(heard.named("stream.started")) == 2


def test_a_stream_that_does_not_record_has_sessions_but_no_recording(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=2, record=False)
    go_idle(stage)
    assert settle_sessions(stage) == {"batchItemFailures": []}
    [session] = sessions_of(stage, stream["id"])
    assert session["record"] is False and session["sourceSegments"] == 2
    assert not {"recordingStatus", "recordingUrl", "mp4Url"} & set(session)
    assert sessions_of(stage, stream["id"], "?record=true") == []
    objects = aws.s3().list_objects_v2(Bucket=stage.name("media"), Prefix="recordings/")
    assert objects.get("KeyCount", 0) == 0 and stage.receive("recordings") == []
    assert not heard.named("recording.ready") and not heard.named("recording.started")
    answer = stage.get(f"/playback/{session['id']}")
    assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_recorded"


def test_another_owners_stream_has_no_sessions_to_list(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=1)
    other = "other-key-" + "0" * 8
    stage.app.wiring.apikeys().register(other, "someone else")
    answer = stage.call("GET", f"/stream/{stream['id']}/sessions", Authorization=f"Bearer {other}")
    assert answer.status_code == 404 and answer.json_body["error"]["code"] == "stream_not_found"


# --- the VOD playlists and the MP4 --------------------------------------------------------------------------


def test_an_idle_recorded_session_gets_vod_playlists_of_every_segment_in_order(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=3)
    go_idle(stage)
    assert settle_sessions(stage) == {"batchItemFailures": []}
    [session] = sessions_of(stage, stream["id"])
    master = stage.get(f"/recordings/{session['id']}/index.m3u8")
    assert master.status_code == 200 and master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    variants = [line for line in master.body.decode().splitlines() if line and not line.startswith("#")]
    assert variants == ["source/index.m3u8", "240p0/index.m3u8", "144p0/index.m3u8"]
    for variant in variants:
        text = stage.get(f"/recordings/{session['id']}/{variant}").body.decode()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
        assert media_playlist_entries(text) == [(1.0, "0.ts"), (1.0, "1.ts"), (1.0, "2.ts")]
        assert "#EXT-X-DISCONTINUITY" not in text
    # The MP4 is queued for the recorder: the largest rendition, every listed segment.
    [message] = stage.receive("recordings")
    job = RemuxJob.model_validate_json(message["Body"])
    assert (job.session_id, job.rendition, job.seqs) == (session["id"], "240p0", [0, 1, 2])


def test_a_segment_that_failed_is_left_out_of_the_vod_with_a_discontinuity(stage: Stage, heard: Heard) -> None:
    stream = stage.create_stream("gap", record=True, profiles=PROFILES)
    for seq, segment in enumerate(tiny_segments(3)):
        assert stage.push(stream["streamKey"], seq, segment, **{"Content-Duration": "1000"}).status_code == 202
    # Segment 1's source is replaced by garbage: its transcode fails for good.
    stage.put_media(f"source/{stream['id']}/1.ts", b"\x47" + bytes(187) * 10)
    run_worker(stage)
    stage.deliver_results()
    go_idle(stage)
    assert settle_sessions(stage) == {"batchItemFailures": []}
    [session] = sessions_of(stage, stream["id"])
    text = stage.get(f"/recordings/{session['id']}/240p0/index.m3u8").body.decode()
    assert [uri for _, uri in media_playlist_entries(text)] == ["0.ts", "2.ts"]
    assert text.count("#EXT-X-DISCONTINUITY") == 1


def test_a_recorded_session_plays_back_start_to_end_as_vod_and_as_mp4(stage: Stage, heard: Heard) -> None:
    n = 4
    stream, session = recorded(stage, n)
    pushed_s = n * 1.0
    assert session["recordingStatus"] == "ready"
    assert session["recordingUrl"] == f"{BASE}/recordings/{session['id']}/index.m3u8"
    # Every rendition's VOD, fetched as a player would and decoded start to end.
    master = play(stage, session["recordingUrl"]).body.decode()
    for variant in (line for line in master.splitlines() if line and not line.startswith("#")):
        base = f"/recordings/{session['id']}/{variant.rsplit('/', 1)[0]}"
        entries = media_playlist_entries(stage.get(f"{base}/index.m3u8").body.decode())
        assert sum(d for d, _ in entries) == pytest.approx(pushed_s)
        joined = b"".join(stage.get(f"{base}/{uri}").body for _, uri in entries)
        decoded = probe(joined)
        assert abs(decoded.duration - pushed_s) <= 1.0 and decoded.frames == n * FPS
    # The MP4: a redirect to the media bucket; H.264 and AAC, index first, the whole session.
    answer = play(stage, session["mp4Url"])
    assert answer.status_code == 302
    location = unquote(urlsplit(answer.headers["Location"]).path)
    key = location[location.index("recordings/") :]
    assert key == f"recordings/{stream['id']}/{session['id']}/output.mp4"
    mp4 = stage.media(key)
    assert mp4[4:8] == b"ftyp" and mp4.find(b"moov") < mp4.find(b"mdat")
    decoded = probe(mp4)
    assert decoded.video_codec == "h264" and decoded.audio_codec == "aac"
    assert (decoded.width, decoded.height) == (426, 240) and decoded.frames == n * FPS
    assert abs(decoded.duration - pushed_s) <= 1.0


def test_a_recorded_sessions_playback_info_is_studios_recording(stage: Stage, heard: Heard) -> None:
    _, session = recorded(stage, n=2)
    answer = stage.get(f"/playback/{session['id']}", Host="viewers.example")
    assert answer.status_code == 200
    info = answer.json_body
    assert info["type"] == "recording" and "live" not in info["meta"]
    hls, mp4 = info["meta"]["source"]
    assert hls == {
        "hrn": "HLS (TS)",
        "type": "html5/application/vnd.apple.mpegurl",
        "url": f"{BASE}/recordings/{session['id']}/index.m3u8",
    }
    assert mp4["hrn"] == "MP4" and mp4["type"] == "html5/video/mp4"
    assert mp4["url"] == f"{BASE}/recordings/{session['id']}/output.mp4"
    assert (mp4["width"], mp4["height"]) == (426, 240) and mp4["size"] > 0 and mp4["bitrate"] > 0


# --- recording.ready, once ----------------------------------------------------------------------------------


def test_recording_ready_is_emitted_once_even_when_its_message_is_delivered_twice(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=2)
    go_idle(stage)
    settled = queued_event(stage, "sessionends")
    assert stage.client.lambda_.invoke("on_session_end", settled).payload == {"batchItemFailures": []}
    assert stage.client.lambda_.invoke("on_session_end", settled).payload == {"batchItemFailures": []}
    run_recorder(stage)  # the job was queued twice: the recorder makes the same MP4 twice
    notified = queued_event(stage, "recorded")
    assert sum("remux.json" in r["body"] for r in notified["Records"]) == 2  # (and S3's test event)
    assert deliver_recorded(stage, notified) == {"batchItemFailures": []}
    assert deliver_recorded(stage, notified) == {"batchItemFailures": []}  # the same messages again
    [ready] = heard.named("recording.ready")
    [started] = heard.named("recording.started")
    stream_id, _, payload, key = ready
    [session] = sessions_of(stage, stream["id"])
    assert stream_id == stream["id"] and key == started[3] == str(session["createdAt"])
    assert payload["recordingUrl"] == f"{BASE}/recordings/{session['id']}/index.m3u8"
    assert payload["mp4Url"] == f"{BASE}/recordings/{session['id']}/output.mp4"
    assert payload["session"]["id"] == session["id"] and payload["session"]["recordingStatus"] == "ready"


def test_a_stream_deleted_while_live_ends_its_session_and_is_recorded(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=3)
    assert stage.call("DELETE", f"/stream/{stream['id']}", Host="api.example").status_code == 204
    go_idle(stage)
    go_idle(stage)  # a second sweep finds nothing more to end
    [(stream_id, _, _, _)] = heard.named("stream.idle")
    assert stream_id == stream["id"]
    assert settle_sessions(stage) == {"batchItemFailures": []}
    [message] = stage.receive("recordings")  # what was recorded before the delete becomes the MP4
    assert RemuxJob.model_validate_json(message["Body"]).seqs == [0, 1, 2]


# --- failures -----------------------------------------------------------------------------------------------


def test_a_recording_whose_mp4_cannot_be_made_is_failed_with_the_reason(stage: Stage, heard: Heard) -> None:
    stream = pushed_and_transcoded(stage, n=2)
    go_idle(stage)
    assert settle_sessions(stage) == {"batchItemFailures": []}
    aws.s3().delete_object(Bucket=stage.name("media"), Key=rendition_key(stream["id"], "240p0", 1))
    [result] = run_recorder(stage)
    assert result.status == "failed" and result.final and result.error.code == "segment_missing"
    assert stage.receive("recordings") == []  # a failure no retry helps is not retried
    assert deliver_recorded(stage, queued_event(stage, "recorded")) == {"batchItemFailures": []}
    [session] = sessions_of(stage, stream["id"])
    assert session["recordingStatus"] == "failed" and session["recordingError"]["code"] == "segment_missing"
    assert "recordingUrl" not in session and not heard.named("recording.ready")
    answer = stage.get(f"/playback/{session['id']}")
    assert answer.status_code == 404 and answer.json_body["error"]["code"] == "recording_failed"


def test_a_session_waits_for_segments_in_flight_and_settles_with_what_there_is_on_its_last_try(
    stage: Stage, heard: Heard
) -> None:
    stream = stage.create_stream("stuck", record=True, profiles=PROFILES)
    assert stage.push(stream["streamKey"], 0, tiny_segments(1)[0]).status_code == 202  # never transcoded
    go_idle(stage)
    event = queued_event(stage, "sessionends")
    [record] = event["Records"]
    assert stage.client.lambda_.invoke("on_session_end", event).payload == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }
    assert sessions_of(stage, stream["id"])[0]["recordingStatus"] == "waiting"
    record["attributes"]["ApproximateReceiveCount"] = str(definitions().queues["sessionends"].max_receive_count)
    assert stage.client.lambda_.invoke("on_session_end", event).payload == {"batchItemFailures": []}
    [session] = sessions_of(stage, stream["id"])
    assert session["recordingStatus"] == "failed" and session["recordingError"]["code"] == "recording_empty"
    assert stage.receive("recordings") == []
