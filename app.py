"""Chalice routes and event handlers: parse, call chalicelib, shape the response. Nothing else."""

from __future__ import annotations

import functools
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import requests
from chalice.app import Chalice, CORSConfig, Rate, Response, SQSEvent
from pydantic import ValidationError

from chalicelib import aws
from chalicelib.auth import check_api_key
from chalicelib.config import settings
from chalicelib.errors import ApiError, BadRequest, NotFound, Unprocessable
from chalicelib.ingest import Gateway, ingest
from chalicelib.intake import accept_job, parse_job
from chalicelib.models import StreamCreate, StreamList
from chalicelib.playback import Playback
from chalicelib.results import handle_batch
from chalicelib.segment_names import SegmentName, parse_ingest_name
from chalicelib.segments import SegmentStore
from chalicelib.streams import StreamStore, now_ms

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
log = logging.getLogger("app")

app = Chalice(app_name="lp-network")
# Segments travel as MPEG-TS both ways; API Gateway must treat these (and, for pushes with no
# Content-Type at all, */*) as binary: see docs/local-stack.md.
app.api.binary_types.extend(["video/mp2t", "video/MP2T"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
PUBLIC = CORSConfig(allow_origin="*", max_age=600)
STREAM_IDLE_AFTER_MS = 60_000


def _stores() -> tuple[StreamStore, SegmentStore]:
    s = settings()
    return StreamStore(aws.table(s.name("streams"))), SegmentStore(aws.table(s.name("segments")))


_HTTP = requests.Session()  # connection pooling to orchestrators' intakes
_RNG = random.Random()


def _gateway() -> Gateway:
    streams, segments = _stores()
    return Gateway(settings(), streams, segments, aws.client("s3"), _HTTP, _RNG)


def _playback() -> Playback:
    streams, segments = _stores()
    return Playback(settings(), streams, segments)


def _json(body: Any, status: int = 200) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={"Content-Type": "application/json"})


def api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Map domain errors to HTTP in one place: ApiError → its status and ``{"error": {...}}``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return _json(error.body(), error.status)
        except ValidationError as error:
            issues = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in error.errors()]
            return _json(Unprocessable("invalid_body", "the body does not match the schema", errors=issues).body(), 422)

    return wrapper


def _owner() -> str:
    s = settings()
    request = app.current_request
    assert request is not None
    return check_api_key(aws.table(s.name("apikeys")), request.headers.get("authorization"))


def _body() -> bytes:
    request = app.current_request
    assert request is not None
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


def _request_json() -> Any:
    try:
        return json.loads(_body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "the body is not valid JSON") from None


def _require_role(role: str) -> None:
    if role not in settings().roles:
        raise NotFound("not_served_here", f"this stage does not play the {role} role")


@app.route("/health", methods=["GET"], cors=PUBLIC)
@api
def health() -> Response:
    """Liveness: the stage's name and roles."""
    s = settings()
    return _json({"status": "ok", "stage": s.stage, "roles": list(s.roles)})


# --- Stream API (Livepeer Studio shape) ---------------------------------------------------------


@app.route("/stream", methods=["POST"])
@api
def create_stream() -> Response:
    """Create a stream; 201 with its id, stream key, playback id and rendition profiles."""
    _require_role("gateway")
    owner = _owner()
    request = StreamCreate.model_validate(_request_json())
    stream = _stores()[0].create(request, owner)
    return _json(stream.wire(), 201)


@app.route("/stream", methods=["GET"])
@api
def list_streams() -> Response:
    """List the caller's streams."""
    _require_role("gateway")
    return _json(StreamList(streams=_stores()[0].list_owned(_owner())).wire())


@app.route("/stream/{stream_id}", methods=["GET"])
@api
def get_stream(stream_id: str) -> Response:
    """Return one stream."""
    _require_role("gateway")
    return _json(_stores()[0].get(stream_id, _owner()).wire())


@app.route("/stream/{stream_id}", methods=["DELETE"])
@api
def delete_stream(stream_id: str) -> Response:
    """Delete a stream: its key stops ingesting and its playback ends."""
    _require_role("gateway")
    _stores()[0].delete(stream_id, _owner())
    return Response(body="", status_code=204)


# --- Ingest ---------------------------------------------------------------------------------------


@app.route("/live/{stream_key}/{name}", methods=["PUT", "POST"], content_types=["*/*"])
@api
def push(stream_key: str, name: str) -> Response:
    """Take a segment (``<seq>.ts`` or ffmpeg's ``index<seq>.ts``) or a pushed playlist; 202."""
    _require_role("gateway")
    request = app.current_request
    assert request is not None
    outcome = ingest(_gateway(), stream_key, name, _body(), request.headers.get("content-duration"))
    return _json(
        {
            "streamId": outcome.stream_id,
            "seq": outcome.seq,
            "status": outcome.status,
            "orchestrator": outcome.orchestrator,
        },
        202,
    )


@app.route("/live/{stream_key}/{name}", methods=["DELETE"])
@api
def push_delete(stream_key: str, name: str) -> Response:
    """ffmpeg's ``-hls_flags delete_segments`` sends DELETEs; they are accepted and ignored."""
    _require_role("gateway")
    parse_ingest_name(name)
    _stores()[0].by_stream_key(stream_key)
    return Response(body="", status_code=204)


# --- Playback -------------------------------------------------------------------------------------


def _playlist(text: str) -> Response:
    return Response(body=text, status_code=200, headers={"Content-Type": PLAYLIST_TYPE, "Cache-Control": "max-age=1"})


@app.route("/hls/{playback_id}/index.m3u8", methods=["GET"], cors=PUBLIC)
@api
def master_playlist(playback_id: str) -> Response:
    """The master playlist: every rendition and the source, with BANDWIDTH, RESOLUTION, CODECS."""
    _require_role("gateway")
    return _playlist(_playback().master(playback_id))


@app.route("/hls/{playback_id}/{rendition}/{file}", methods=["GET"], cors=PUBLIC)
@api
def rendition_file(playback_id: str, rendition: str, file: str) -> Response:
    """A rendition's live media playlist (``index.m3u8``) or one of its segments (``<seq>.ts``)."""
    _require_role("gateway")
    playback = _playback()
    if file == "index.m3u8":
        return _playlist(playback.media(playback_id, rendition))
    target = parse_ingest_name(file)
    if not isinstance(target, SegmentName):
        raise NotFound("not_found", f"no file {file!r}")
    key = playback.segment_key(playback_id, rendition, target.seq)
    s = settings()
    s3 = aws.client("s3")
    if s.segment_delivery == "redirect":
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": s.name("media"), "Key": key}, ExpiresIn=s.presign_ttl_s
        )
        return Response(body="", status_code=302, headers={"Location": url})
    data = s3.get_object(Bucket=s.name("media"), Key=key)["Body"].read()
    return Response(body=data, status_code=200, headers={"Content-Type": "video/mp2t", "Cache-Control": "max-age=3600"})


# --- Orchestrator intake ------------------------------------------------------------------------


@app.route("/orchestrator/jobs", methods=["POST"], content_types=["application/json"])
@api
def intake() -> Response:
    """Take a transcode job from a gateway and queue it for this orchestrator's workers; 202."""
    _require_role("orchestrator")
    job = parse_job(_body())
    s = settings()
    message_id = accept_job(job, _my_address(), aws.client("sqs"), aws.queue_url(s.name("jobs")))
    return _json({"jobId": job.job_id, "messageId": message_id}, 202)


@functools.lru_cache(maxsize=1)
def _my_address() -> str | None:
    key = settings().eth_private_key
    if key is None:
        return None
    from eth_account import Account

    address: str = Account.from_key(key.get_secret_value()).address
    return address


# --- Event handlers -------------------------------------------------------------------------------

if settings().has_role("gateway"):

    @app.on_sqs_message(queue=settings().name("results"), batch_size=10)
    def on_result(event: SQSEvent) -> dict[str, Any]:
        """A result manifest landed in S3: settle its segment. Failed records are retried."""
        segments = _stores()[1]
        s3 = aws.client("s3")
        failed = handle_batch(((r.to_dict()["messageId"], r.body) for r in event), s3, segments)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def sweep_idle_streams(event: Any) -> None:
        """Mark streams with no segment for a minute as inactive."""
        idle = _stores()[0].mark_idle(now_ms() - STREAM_IDLE_AFTER_MS)
        if idle:
            log.info("streams now idle: %s", ", ".join(idle))
