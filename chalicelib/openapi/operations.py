"""The one table from routes to payloads: every route of ``app.py`` is one entry here (a test keeps them equal).

Adding a route? Add its line: method, path as ``app.py`` spells it, tag, what it answers, its body, and the
error codes it may answer (its summary and description are the handler's docstring).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chalicelib.core.health import Health
from chalicelib.dashboard.models import DashboardData
from chalicelib.ingest.service import IngestOutcome
from chalicelib.intake.service import JobAccepted
from chalicelib.openapi.describe import BYTES, TEXT, Empty, Json, Media, Operation, Param
from chalicelib.payments.errors import REFUSAL_CODES
from chalicelib.payments.models import PaidJob, Quote
from chalicelib.playback.assets import ASSETS
from chalicelib.playback.info import PlaybackInfo
from chalicelib.recordings.models import Session
from chalicelib.segments.media import TS_CONTENT_TYPE
from chalicelib.segments.names import PLAYLIST_PATTERN, SEGMENT_PATTERN
from chalicelib.streams.models import Stream, StreamCreate, StreamUpdate
from chalicelib.webhooks.models import DeliveryLogEntry, Webhook, WebhookCreate, WebhookCreated, WebhookUpdate

PLAYLIST = "application/vnd.apple.mpegurl"
TS: Mapping[str, object] = {**BYTES, "contentMediaType": TS_CONTENT_TYPE}

#: The tags, in the order a reader meets them.
TAGS: Mapping[str, str] = {
    "stream": "Streams in Livepeer Studio's shape: create one, push to its stream key, play its playback id.",
    "webhook": "Signed webhooks in Livepeer Studio's shape: a stream's events posted to an app.",
    "ingest": "Pushing segments (HLS over HTTP, as ffmpeg's `-method PUT` does); the stream key authorizes.",
    "playback": "What viewers and players read, with no API key.",
    "orchestrator": "An orchestrator's intake: gateways send it paid transcode jobs.",
    "dashboard": "The operator's dashboard: the caller's streams, and the network as this gateway sees it.",
    "meta": "The stage itself.",
}

#: Path parameters' descriptions (an operation may give its own with a ``Param(..., where="path")``).
PATH_PARAMETERS: Mapping[str, str] = {
    "stream_id": "The stream's `id`.",
    "webhook_id": "The webhook's `id`.",
    "playback_id": "The stream's `playbackId`.",
    "stream_key": "The stream's `streamKey`: whoever holds it may push to the stream.",
    "rendition": "A rendition's profile name, or `source`.",
    "file": "`index.m3u8` (the rendition's media playlist) or `<seq>.ts` (one segment).",
    "session_id": "A recorded session's `id`.",
}

BODY = ("invalid_json", "invalid_body")
STREAM_FIELDS = ("unsupported_encoder", "unsupported_playback_policy", "unsupported_profile_quality")
WEBHOOK_FIELDS = (
    "invalid_webhook_url",
    "webhook_url_not_allowed",
    "unknown_webhook_event",
    "unsupported_webhook_event",
)
STREAM_KEY = ("unknown_stream_key", "stream_deleted", "stream_suspended")
SEGMENT = ("empty_segment", "invalid_segment", "segment_too_large", "invalid_content_duration")
SEGMENT_ORDER = ("sequence_out_of_order", "segment_too_late")
PLAYLIST_PUSH = ("invalid_playlist", "playlist_too_large")
DISPATCH = ("no_orchestrators", "orchestrators_unavailable")
LINKS = ("missing_host", "invalid_host")
RECORDING = ("recording_not_found", "recording_not_ready")
CHAIN = ("orchestrator_not_active", "round_not_initialized", "chain_not_configured", "no_key")
JOB = ("job_unsigned", "job_bad_signature", "gateway_not_allowed", "invalid_json", "invalid_job")
JOB_TERMS = ("wrong_orchestrator", "job_expired", "job_url_not_allowed")


def _either(*patterns: str) -> str:
    """One JSON Schema (ECMA-262) pattern matching any of Python's ``patterns`` (their groups unnamed)."""
    bare = (re.sub(r"\(\?P<\w+>", "(", p).removeprefix("^").removesuffix("$") for p in patterns)
    return "^(?:" + "|".join(bare) + ")$"


INGEST_NAME = Param(
    "name",
    "path",
    "`<seq>.ts` (Livepeer's form) or `index<seq>.ts` (ffmpeg's), or a pushed playlist `<name>.m3u8`; "
    "any other name is `invalid_sequence`.",
    {"type": "string", "pattern": _either(SEGMENT_PATTERN, PLAYLIST_PATTERN)},
)
RENDITION_FILE = Param(
    "file",
    "path",
    "`index.m3u8` (the rendition's media playlist) or `<seq>.ts` (one segment).",
    {"type": "string", "pattern": _either(r"index\.m3u8", SEGMENT_PATTERN)},
)
CONTENT_DURATION = Param(
    "Content-Duration",
    "header",
    "The segment's duration in milliseconds (0 to 60000); without it the worker measures the segment.",
    {"type": "string", "pattern": "^[0-9]+$"},
)
SEGMENT_BODY = Media(
    {TS_CONTENT_TYPE: TS, PLAYLIST: TEXT, "application/octet-stream": BYTES},
    "An MPEG-TS segment (any Content-Type, or none: ffmpeg's HLS push sends none), or a pushed HLS playlist.",
)

OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/health", "meta", (Json(Health),), role=None, auth=False),
    Operation("GET", "/openapi.json", "meta", (Media({"application/json": {"type": "object"}}, "This document."),),
              role=None, auth=False),
    # --- streams
    Operation("POST", "/stream", "stream", (Json(Stream, 201),), body=Json(StreamCreate),
              errors=(*BODY, *STREAM_FIELDS)),
    Operation("GET", "/stream", "stream", (Json(Stream, many=True),)),
    Operation("GET", "/stream/{stream_id}", "stream", (Json(Stream),), errors=("stream_not_found",)),
    Operation("PATCH", "/stream/{stream_id}", "stream", (Empty("Changed."),), body=Json(StreamUpdate),
              errors=("stream_not_found", *BODY, *STREAM_FIELDS)),
    Operation("DELETE", "/stream/{stream_id}", "stream", (Empty("Deleted."),), errors=("stream_not_found",)),
    Operation("GET", "/stream/{stream_id}/sessions", "stream", (Json(Session, many=True),),
              errors=("stream_not_found", *LINKS),
              params=(Param("record", "query", "`true` (or `1`): the recorded sessions only; else every one."),)),
    # --- webhooks
    Operation("POST", "/webhook", "webhook", (Json(WebhookCreated, 201),), body=Json(WebhookCreate),
              errors=(*BODY, *WEBHOOK_FIELDS, "webhook_secrets_unavailable")),
    Operation("GET", "/webhook", "webhook", (Json(Webhook, many=True),)),
    Operation("GET", "/webhook/{webhook_id}", "webhook", (Json(Webhook),), errors=("webhook_not_found",)),
    Operation("PATCH", "/webhook/{webhook_id}", "webhook", (Empty("Changed."),), body=Json(WebhookUpdate),
              errors=("webhook_not_found", *BODY, *WEBHOOK_FIELDS, "webhook_secrets_unavailable")),
    Operation("PUT", "/webhook/{webhook_id}", "webhook", (Json(Webhook),), body=Json(WebhookCreate),
              errors=("webhook_not_found", *BODY, *WEBHOOK_FIELDS, "webhook_secrets_unavailable")),
    Operation("DELETE", "/webhook/{webhook_id}", "webhook", (Empty("Deleted."),), errors=("webhook_not_found",)),
    Operation("GET", "/webhook/{webhook_id}/log", "webhook", (Json(DeliveryLogEntry, many=True),),
              errors=("webhook_not_found",)),
    # --- ingest
    Operation("PUT", "/live/{stream_key}/{name}", "ingest", (Json(IngestOutcome, 202),), body=SEGMENT_BODY,
              errors=("invalid_sequence", *STREAM_KEY, *SEGMENT, *SEGMENT_ORDER, *PLAYLIST_PUSH, *DISPATCH),
              params=(INGEST_NAME, CONTENT_DURATION), auth=False, name="pushSegment"),
    Operation("POST", "/live/{stream_key}/{name}", "ingest", (Json(IngestOutcome, 202),), body=SEGMENT_BODY,
              errors=("invalid_sequence", *STREAM_KEY, *SEGMENT, *SEGMENT_ORDER, *PLAYLIST_PUSH, *DISPATCH),
              params=(INGEST_NAME, CONTENT_DURATION), auth=False, name="postSegment"),
    Operation("DELETE", "/live/{stream_key}/{name}", "ingest", (Empty("Accepted and ignored."),),
              errors=("invalid_sequence", *STREAM_KEY), params=(INGEST_NAME,), auth=False),
    # --- playback
    Operation("GET", "/hls/{playback_id}/index.m3u8", "playback", (Media({PLAYLIST: TEXT}, "The master playlist."),),
              errors=("unknown_playback_id", "stream_not_ready"), auth=False),
    Operation("GET", "/hls/{playback_id}/{rendition}/{file}", "playback",
              (Media({PLAYLIST: TEXT, TS_CONTENT_TYPE: TS}, "The media playlist, or the segment."),
               Empty("The segment, at a presigned URL (`LP_SEGMENT_DELIVERY=redirect`).", 302,
                     {"Location": "The segment's presigned URL."})),
              errors=("unknown_playback_id", "stream_not_ready", "unknown_rendition", "segment_not_found",
                      "not_found", "invalid_sequence"), params=(RENDITION_FILE,), auth=False),
    Operation("GET", "/playback/{playback_id}", "playback", (Json(PlaybackInfo),),
              errors=("unknown_playback_id", "stream_ended", "not_recorded", "recording_failed", "recording_not_ready",
                      *LINKS), auth=False),
    Operation("GET", "/play/{playback_id}", "playback",
              (Media({"text/html": TEXT}, "The player page (it tells an unknown id itself)."),),
              errors=(*LINKS, "player_assets_missing"), auth=False),
    Operation("GET", "/play/assets/{name}", "playback",
              (Media({"text/javascript": TEXT, "text/css": TEXT}, "The asset."),),
              errors=("asset_not_found", "player_assets_missing"),
              params=(Param("name", "path", "The asset's name.", {"type": "string", "enum": sorted(ASSETS)}),
                      Param("v", "query", "The asset's version as the page links it: cached for a year.")),
              auth=False),
    # --- recordings
    Operation("GET", "/recordings/{session_id}/index.m3u8", "playback",
              (Media({PLAYLIST: TEXT}, "The recording's VOD master playlist."),), errors=RECORDING, auth=False),
    Operation("GET", "/recordings/{session_id}/output.mp4", "playback",
              (Empty("The MP4, at a presigned URL.", 302, {"Location": "The MP4's presigned URL."}),),
              errors=(*RECORDING, "not_recorded", "recording_failed"), auth=False),
    Operation("GET", "/recordings/{session_id}/{rendition}/{file}", "playback",
              (Media({PLAYLIST: TEXT, TS_CONTENT_TYPE: TS}, "The rendition's VOD playlist, or a segment."),
               Empty("The segment, at a presigned URL (`LP_SEGMENT_DELIVERY=redirect`).", 302,
                     {"Location": "The segment's presigned URL."})),
              errors=(*RECORDING, "unknown_rendition", "segment_not_found", "invalid_sequence"),
              params=(RENDITION_FILE,), auth=False),
    # --- dashboard
    Operation("GET", "/dashboard", "dashboard",
              (Media({"text/html": TEXT}, "The dashboard page (no data: its script reads `/dashboard/data`)."),),
              auth=False),
    Operation("GET", "/dashboard/data", "dashboard", (Json(DashboardData),)),
    Operation("GET", "/dashboard/assets/{name}", "dashboard",
              (Media({"text/javascript": TEXT, "text/css": TEXT}, "The asset."),),
              errors=("asset_not_found",),
              params=(Param("name", "path", "`dashboard.js` or `dashboard.css`."),
                      Param("v", "query", "The asset's version as the page links it: cached for a year.")),
              auth=False),
    # --- orchestrator intake
    Operation("POST", "/orchestrator/jobs", "orchestrator", (Json(JobAccepted, 202),), body=Json(PaidJob),
              errors=(*JOB, *JOB_TERMS, *REFUSAL_CODES, *CHAIN),
              params=(Param("Lp-Job-Signature", "header", "The gateway's EIP-191 signature over the exact body."),),
              role="orchestrator", auth=False),
    Operation("GET", "/orchestrator/ticket-params", "orchestrator", (Json(Quote),),
              errors=("not_on_chain", "invalid_sender", *CHAIN),
              params=(Param("sender", "query", "The sender's Ethereum address.",
                            {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}, required=True),),
              role="orchestrator", auth=False),
)  # fmt: skip
