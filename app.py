"""Chalice routes and event handlers: parse, call one domain function, shape the response. Nothing else."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, CORSConfig, Rate, Response, SQSEvent
from pydantic import ValidationError

from chalicelib.core import timing
from chalicelib.core.clock import now_ms
from chalicelib.core.errors import ApiError, NotFound, invalid
from chalicelib.core.health import health as stage_health
from chalicelib.core.jsonbody import parse_json
from chalicelib.core.logs import logger
from chalicelib.core.resources import Role, definitions
from chalicelib.core.settings import settings
from chalicelib.core.static import StaticAssets
from chalicelib.dashboard.page import render_dashboard
from chalicelib.ingest.service import ingest
from chalicelib.intake.service import quote_for, take_job
from chalicelib.jobs.signing import SIGNATURE_HEADER
from chalicelib.openapi.document import served_document
from chalicelib.payments.redemption import handle_redemptions, requeue_unsettled
from chalicelib.payments.settlement import handle_usage
from chalicelib.playback.links import public_base
from chalicelib.playback.service import Playlist, Redirect, SegmentData
from chalicelib.projections.projector import project_chain_events
from chalicelib.recordings.ready import handle_remux_results
from chalicelib.recordings.vod import handle_session_ends
from chalicelib.results.service import handle_results
from chalicelib.segments.names import parse_ingest_name
from chalicelib.streams.lifecycle import sweep_idle
from chalicelib.streams.models import StreamCreate, StreamUpdate
from chalicelib.streams.support import check_supported
from chalicelib.webhooks.delivery import handle_deliveries
from chalicelib.webhooks.models import WebhookCreate, WebhookUpdate
from chalicelib.wiring import Wiring

app = Chalice(app_name="lp-network")
# Segments travel as MPEG-TS both ways; API Gateway must treat these (and, for pushes with no
# Content-Type at all, */*) as binary: see docs/local-stack.md.
app.api.binary_types.extend(["video/mp2t", "video/MP2T"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
PUBLIC = CORSConfig(allow_origin="*", max_age=600)
# Chalice answers 415 itself unless a route names the request's Content-Type. Clients generated from
# Studio's API description send `application/octet-stream` on bodiless GETs and DELETEs, so every
# route takes any type: a body, where there is one, is judged by the route itself.
ANY_TYPE = ["*/*"]

wiring = Wiring()
logger.append_keys(stage=settings().stage)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body), status_code=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


def api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Map domain errors to HTTP in one place: ApiError → its status and ``{"errors": [...], "error": {...}}``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return _json(error.body(), error.status)
        except ValidationError as error:
            refused = invalid("invalid_body", "the body does not match the schema", error)
            return _json(refused.body(), refused.status)

    return wrapper


def _header(name: str) -> str | None:
    request = app.current_request
    assert request is not None
    value: str | None = request.headers.get(name)
    return value


def _owner() -> str:
    return wiring.apikeys().owner_of(_header("authorization"))


def _body() -> bytes:
    request = app.current_request
    assert request is not None
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


def _request_json() -> Any:
    return parse_json(_body() or b"null")


def _require_role(role: Role) -> None:
    if not wiring.settings.has_role(role):
        raise NotFound("not_served_here", f"this stage does not play the {role} role")


@app.route("/health", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def health() -> Response:
    """Liveness: the stage's name and roles."""
    return _json(stage_health(wiring.settings).wire())


@app.route("/openapi.json", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def openapi_document() -> Response:
    """This stage's API description (OpenAPI 3.1), generated from the payload models: the operations it serves."""
    s = wiring.settings
    return _json(served_document(s.roles, s.public_url, app.routes))


# --- Stream API (Livepeer Studio shape) ---------------------------------------------------------


@app.route("/stream", methods=["POST"], content_types=ANY_TYPE)
@api
def create_stream() -> Response:
    """Create a stream; 201 with its id, stream key, playback id and rendition profiles.

    The body is read as JSON whatever its Content-Type; fields this network cannot honour are refused.
    """
    _require_role("gateway")
    owner = _owner()
    request = check_supported(StreamCreate.model_validate(_request_json()))
    stream = wiring.streams().create(request, owner)
    return _json(stream.to_api().wire(), 201)


@app.route("/stream", methods=["GET"], content_types=ANY_TYPE)
@api
def list_streams() -> Response:
    """List the caller's streams, newest first: a JSON array, as Studio returns it."""
    _require_role("gateway")
    streams = wiring.streams().list_owned(_owner())
    return _json([s.to_api().wire() for s in streams])


@app.route("/stream/{stream_id}", methods=["GET"], content_types=ANY_TYPE)
@api
def get_stream(stream_id: str) -> Response:
    """Return one stream."""
    _require_role("gateway")
    return _json(wiring.streams().get(stream_id, _owner()).to_api().wire())


@app.route("/stream/{stream_id}", methods=["PATCH"], content_types=ANY_TYPE)
@api
def update_stream(stream_id: str) -> Response:
    """Change a stream's name, profiles, record, suspended, playbackPolicy or userTags; 204, as Studio answers."""
    _require_role("gateway")
    changes = check_supported(StreamUpdate.model_validate(_request_json()))
    wiring.streams().update(stream_id, _owner(), changes)
    return Response(body="", status_code=204)


@app.route("/stream/{stream_id}", methods=["DELETE"], content_types=ANY_TYPE)
@api
def delete_stream(stream_id: str) -> Response:
    """Delete a stream: its key stops ingesting and its playback ends."""
    _require_role("gateway")
    wiring.streams().delete(stream_id, _owner())
    return Response(body="", status_code=204)


@app.route("/stream/{stream_id}/sessions", methods=["GET"], content_types=ANY_TYPE)
@api
def list_sessions(stream_id: str) -> Response:
    """Studio's recorded sessions: the stream's sessions, newest first (``?record=true``: recorded ones only)."""
    _require_role("gateway")
    request = app.current_request
    assert request is not None
    flag = request.query_params.get("record") if request.query_params else None
    record = (flag or "").lower() in ("true", "1")
    sessions = wiring.recordings().list_sessions(stream_id, _owner(), _public_base(), record)
    return _json([session.wire() for session in sessions])


# --- Webhooks (Livepeer Studio shape) -------------------------------------------------------------


@app.route("/webhook", methods=["POST"], content_types=ANY_TYPE)
@api
def create_webhook() -> Response:
    """Create a webhook; 201 with it, and with ``sharedSecret`` if one was generated (shown this once only)."""
    _require_role("gateway")
    owner = _owner()
    created = wiring.webhook_service().create(owner, WebhookCreate.model_validate(_request_json()))
    return _json(created.wire(), 201)


@app.route("/webhook", methods=["GET"], content_types=ANY_TYPE)
@api
def list_webhooks() -> Response:
    """List the caller's webhooks, newest first: a JSON array (no secrets)."""
    _require_role("gateway")
    return _json([w.wire() for w in wiring.webhook_service().list_owned(_owner())])


@app.route("/webhook/{webhook_id}", methods=["GET"], content_types=ANY_TYPE)
@api
def get_webhook(webhook_id: str) -> Response:
    """Return one webhook (no secret)."""
    _require_role("gateway")
    return _json(wiring.webhook_service().get(webhook_id, _owner()).wire())


@app.route("/webhook/{webhook_id}", methods=["PATCH"], content_types=ANY_TYPE)
@api
def update_webhook(webhook_id: str) -> Response:
    """Change a webhook's name, url, events, streamId or sharedSecret; 204, as Studio answers."""
    _require_role("gateway")
    owner = _owner()
    wiring.webhook_service().update(webhook_id, owner, WebhookUpdate.model_validate(_request_json()))
    return Response(body="", status_code=204)


@app.route("/webhook/{webhook_id}", methods=["PUT"], content_types=ANY_TYPE)
@api
def replace_webhook(webhook_id: str) -> Response:
    """Studio's full update: every field as given (the secret kept unless given); 200 with the webhook."""
    _require_role("gateway")
    owner = _owner()
    replaced = wiring.webhook_service().replace(webhook_id, owner, WebhookCreate.model_validate(_request_json()))
    return _json(replaced.wire())


@app.route("/webhook/{webhook_id}", methods=["DELETE"], content_types=ANY_TYPE)
@api
def delete_webhook(webhook_id: str) -> Response:
    """Delete a webhook: nothing more is posted to it."""
    _require_role("gateway")
    wiring.webhook_service().delete(webhook_id, _owner())
    return Response(body="", status_code=204)


@app.route("/webhook/{webhook_id}/log", methods=["GET"], content_types=ANY_TYPE)
@api
def webhook_log(webhook_id: str) -> Response:
    """The webhook's recent delivery attempts, newest first: a JSON array."""
    _require_role("gateway")
    return _json([entry.wire() for entry in wiring.webhook_service().deliveries(webhook_id, _owner())])


# --- Ingest ---------------------------------------------------------------------------------------


@app.route("/live/{stream_key}/{name}", methods=["PUT", "POST"], content_types=ANY_TYPE)
@api
def push(stream_key: str, name: str) -> Response:
    """Take a segment (``<seq>.ts`` or ffmpeg's ``index<seq>.ts``) or a pushed playlist; 202."""
    _require_role("gateway")
    with timing.collecting() as spans:  # on chain: the time the segment's payment took (Server-Timing)
        outcome = ingest(wiring.gateway(), stream_key, name, _body(), _header("content-duration"))
    return _json(outcome.wire(), 202, timing.header(spans))


@app.route("/live/{stream_key}/{name}", methods=["DELETE"], content_types=ANY_TYPE)
@api
def push_delete(stream_key: str, name: str) -> Response:
    """ffmpeg's ``-hls_flags delete_segments`` sends DELETEs; they are accepted and ignored."""
    _require_role("gateway")
    parse_ingest_name(name)
    wiring.streams().by_stream_key(stream_key)
    return Response(body="", status_code=204)


# --- Playback -------------------------------------------------------------------------------------


def _playlist(text: str) -> Response:
    return Response(body=text, status_code=200, headers={"Content-Type": PLAYLIST_TYPE, "Cache-Control": "max-age=1"})


@app.route("/hls/{playback_id}/index.m3u8", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def master_playlist(playback_id: str) -> Response:
    """The master playlist: every rendition and the source, with BANDWIDTH, RESOLUTION, CODECS."""
    _require_role("gateway")
    return _playlist(wiring.playback().master(playback_id))


@app.route("/hls/{playback_id}/{rendition}/{file}", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def rendition_file(playback_id: str, rendition: str, file: str) -> Response:
    """A rendition's live media playlist (``index.m3u8``) or one of its segments (``<seq>.ts``)."""
    _require_role("gateway")
    served = wiring.playback().rendition_file(playback_id, rendition, file)
    if isinstance(served, Playlist):
        return _playlist(served.text)
    if isinstance(served, Redirect):
        return Response(body="", status_code=302, headers={"Location": served.url})
    headers: dict[str, str | list[str]] = {"Content-Type": "video/mp2t", "Cache-Control": "max-age=3600"}
    return Response(body=served.data, status_code=200, headers=headers)


def _html(html: str, policy: str, **more: str) -> Response:
    """A page of the app's own: its Content-Security-Policy, never cached, never sniffed."""
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": policy,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        **more,
    }
    return Response(body=html, status_code=200, headers=headers)


def _asset(assets: StaticAssets, name: str) -> Response:
    """One of a page's static files; cached for a year when asked for by its version (``?v=``)."""
    asset = assets.get(name)
    request = app.current_request
    assert request is not None
    version = request.query_params.get("v") if request.query_params else None
    headers: dict[str, str | list[str]] = {
        "Content-Type": asset.content_type,
        "Cache-Control": asset.cache_control(version),
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=asset.text, status_code=200, headers=headers)


def _public_base() -> str:
    """The base of playback links: the stage's configured public URL, else the origin this request reached."""
    return public_base(wiring.settings.public_url, _header("host"), _header("x-forwarded-proto"))


@app.route("/playback/{playback_id}", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def playback_info(playback_id: str) -> Response:
    """Studio's playback info, public: a stream's (``type: live``, ``meta.live`` 1 while it is active, its HLS URL)
    or a recorded session's (``type: recording``, its VOD playlist and MP4)."""
    _require_role("gateway")
    info = wiring.recordings().info(playback_id, _public_base())
    return _json(info.wire(), 200, {"Cache-Control": "no-cache"})


@app.route("/play/{playback_id}", methods=["GET"], content_types=ANY_TYPE)
@api
def player_page(playback_id: str) -> Response:
    """The player page a broadcaster shares: hls.js served from here, quality selector, live/offline/ended states."""
    _require_role("gateway")
    page = wiring.playback().player_page(playback_id, _public_base(), wiring.player_assets())
    return _html(page.html, page.policy)


@app.route("/play/assets/{name}", methods=["GET"], content_types=ANY_TYPE)
@api
def player_asset(name: str) -> Response:
    """The player's script and style, and hls.js from the pinned npm package; a year's cache for ``?v=<version>``."""
    _require_role("gateway")
    return _asset(wiring.player_assets(), name)


# --- Dashboard ------------------------------------------------------------------------------------


@app.route("/dashboard", methods=["GET"], content_types=ANY_TYPE)
@api
def dashboard_page() -> Response:
    """The operator's dashboard page: streams, orchestrators, payments and a plot over the last hour.

    The page holds no data: it asks for an API key (kept in the tab's sessionStorage) and reads ``/dashboard/data``.
    """
    _require_role("gateway")
    page = render_dashboard(wiring.dashboard_assets())
    return _html(page.html, page.policy, **{"X-Frame-Options": "DENY"})  # the player may be framed; this may not


@app.route("/dashboard/data", methods=["GET"], content_types=ANY_TYPE)
@api
def dashboard_data() -> Response:
    """The dashboard's numbers: the caller's streams with their health, and the network as this gateway sees it.

    Only the caller's own streams are listed; orchestrators, payments and the per-minute series are this gateway's.
    """
    _require_role("gateway")
    data = wiring.dashboard().data(_owner(), now_ms())
    return _json(data.wire(), 200, {"Cache-Control": "no-store"})


@app.route("/dashboard/assets/{name}", methods=["GET"], content_types=ANY_TYPE)
@api
def dashboard_asset(name: str) -> Response:
    """The dashboard's script and style; a year's cache for ``?v=<version>``."""
    _require_role("gateway")
    return _asset(wiring.dashboard_assets(), name)


# --- Recordings -----------------------------------------------------------------------------------


def _served(served: Playlist | Redirect | SegmentData) -> Response:
    if isinstance(served, Playlist):
        return _playlist(served.text)
    if isinstance(served, Redirect):
        return Response(body="", status_code=302, headers={"Location": served.url})
    headers: dict[str, str | list[str]] = {"Content-Type": "video/mp2t", "Cache-Control": "max-age=3600"}
    return Response(body=served.data, status_code=200, headers=headers)


@app.route("/recordings/{session_id}/index.m3u8", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def recording_playlist(session_id: str) -> Response:
    """A recorded session's VOD master playlist: every rendition and the source."""
    _require_role("gateway")
    return _served(wiring.recordings().file(session_id, "index.m3u8"))


@app.route("/recordings/{session_id}/output.mp4", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def recording_mp4(session_id: str) -> Response:
    """A recorded session's MP4: a redirect to it in the media bucket (presigned)."""
    _require_role("gateway")
    return _served(wiring.recordings().file(session_id, "output.mp4"))


@app.route("/recordings/{session_id}/{rendition}/{file}", methods=["GET"], cors=PUBLIC, content_types=ANY_TYPE)
@api
def recording_file(session_id: str, rendition: str, file: str) -> Response:
    """A recorded rendition's VOD media playlist (``index.m3u8``) or one of its segments (``<seq>.ts``)."""
    _require_role("gateway")
    return _served(wiring.recordings().rendition_file(session_id, rendition, file))


# --- Orchestrator intake ------------------------------------------------------------------------


@app.route("/orchestrator/jobs", methods=["POST"], content_types=["application/json"])
@api
def intake() -> Response:
    """Take a transcode job from a gateway and queue it for this orchestrator's workers; 202."""
    _require_role("orchestrator")
    with timing.collecting() as spans:  # on chain: the time the tickets' check and ledger write took
        taken = take_job(_body(), _header(SIGNATURE_HEADER.lower()), wiring.intake_rules(), wiring.jobs_queue())
    return _json(taken.answer().wire(), 202, timing.header(spans))


@app.route("/orchestrator/ticket-params", methods=["GET"], content_types=ANY_TYPE)
@api
def ticket_params() -> Response:
    """On-chain mode: this orchestrator's ticket parameters and price for ``?sender=``."""
    _require_role("orchestrator")
    request = app.current_request
    assert request is not None
    sender = request.query_params.get("sender") if request.query_params else None
    return _json(quote_for(wiring.payment_rules(), sender).wire())


# --- Event handlers -------------------------------------------------------------------------------

if settings().has_role("gateway"):

    @app.on_sqs_message(queue=settings().name("results"), batch_size=10)
    def on_result(event: SQSEvent) -> dict[str, Any]:
        """A result manifest landed in S3: settle its segment. Failed records are retried."""
        return dict(
            handle_results(
                event.to_dict(),
                wiring.media(),
                wiring.segments(),
                wiring.streams(),
                wiring.stream_events(),
                wiring.tally(),
            )
        )

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def sweep_idle_streams(event: Any) -> None:
        """Mark streams with no segment for a while as inactive; each emits stream.idle."""
        after_s = wiring.settings.stream_idle_after_s
        idle_after_ms = None if after_s is None else int(after_s * 1000)
        idle = sweep_idle(wiring.streams(), wiring.stream_events(), now_ms(), idle_after_ms, wiring.session_tracker())
        if idle:
            logger.info("streams now idle", streams=idle)

    @app.on_sqs_message(queue=settings().queue_name("webhooks"), batch_size=definitions().queues["webhooks"].batch_size)
    def on_webhook_delivery(event: SQSEvent) -> dict[str, Any]:
        """Post queued webhook events, signed; a failed attempt is queued again with backoff, not raised."""
        return dict(handle_deliveries(event.to_dict(), wiring.webhook_deliverer()))

    @app.on_sqs_message(
        queue=settings().queue_name("sessionends"), batch_size=definitions().queues["sessionends"].batch_size
    )
    def on_session_end(event: SQSEvent) -> dict[str, Any]:
        """A stream went idle: settle its session; a recorded one gets its VOD playlists and its MP4 queued."""
        return dict(handle_session_ends(event.to_dict(), wiring.session_ends()))

    @app.on_sqs_message(queue=settings().queue_name("recorded"), batch_size=definitions().queues["recorded"].batch_size)
    def on_recording_remuxed(event: SQSEvent) -> dict[str, Any]:
        """The recorder's manifest landed in S3: the recording is ready (recording.ready, once) or failed."""
        return dict(handle_remux_results(event.to_dict(), wiring.recorded_sessions()))


if settings().has_role("orchestrator") and settings().mode == "onchain":

    @app.on_sqs_message(queue=settings().queue_name("redemptions"), batch_size=10)
    def on_winning_tickets(event: SQSEvent) -> dict[str, Any]:
        """Redeem winning tickets, one transaction at a time per key; failed messages are retried."""
        return handle_redemptions(
            event.to_dict(),
            terms=wiring.recipient_terms(),
            protocol=wiring.protocol(),
            tx=wiring.tx_sender(),
            view=wiring.rpc_view(),
            ledger=wiring.ledger(),
            queue=wiring.redemptions(),
        )

    @app.on_sqs_message(queue=settings().queue_name("usage"), batch_size=10)
    def on_usage(event: SQSEvent) -> dict[str, Any]:
        """Charge finished jobs for the pixels their workers made; failed records are retried."""
        return dict(handle_usage(event.to_dict(), wiring.ledger()))

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def requeue_winners(event: Any) -> None:
        """Send again winning tickets whose redemption message was lost (a crash, the dead-letter queue)."""
        requeue_unsettled(wiring.ledger(), wiring.redemptions(), now_ms() // 1000)

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def round_duties(event: Any) -> None:
        """Once per round: initialize it if nobody has, and call reward() for this orchestrator."""
        wiring.perform_round_duties()


# Chain events → projections: both roles need them (selection, deposits, rounds) once the stage has a chain.
if settings().eth_rpc_url:

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def poll_chain(event: Any) -> None:
        """Put the protocol's newly confirmed events (and what a reorg changed) on the chain-event queue."""
        from chalicelib.projections.poller import poll_configured  # web3 loads in this function's Lambda only

        poll_configured(wiring.settings, wiring.chain_cursor(), wiring.chain_events(), wiring.projections())

    @app.on_sqs_message(queue=settings().queue_name("chainevents"), batch_size=10)
    def on_chain_events(event: SQSEvent) -> dict[str, Any]:
        """Write the events' entity states to the projections; a failed record holds back the rest of its batch."""
        return dict(project_chain_events(event.to_dict(), wiring.projections()))
