"""Every stable error code the API answers, with its HTTP status: the document groups an operation's codes by it.

A test reads the raise sites in ``chalicelib`` and ``app.py`` and fails when a code is missing here or its
status differs, so this table cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from chalicelib.payments.errors import REFUSAL_CODES

_BY_STATUS: Mapping[int, tuple[str, ...]] = {
    400: ("invalid_json", "empty_segment", "invalid_sequence", "missing_host", "invalid_host"),
    401: ("missing_api_key", "malformed_authorization", "invalid_api_key", "job_unsigned", "job_bad_signature"),
    402: tuple(REFUSAL_CODES),
    403: ("stream_suspended", "gateway_not_allowed"),
    404: (
        "not_served_here",
        "stream_not_found",
        "webhook_not_found",
        "unknown_stream_key",
        "unknown_playback_id",
        "stream_ended",
        "stream_not_ready",
        "unknown_rendition",
        "segment_not_found",
        "not_found",
        "asset_not_found",
        "not_on_chain",
        "recording_not_found",
        "recording_not_ready",
        "recording_failed",
        "not_recorded",
    ),
    409: ("segment_too_late",),
    410: ("stream_deleted",),
    413: ("segment_too_large",),
    422: (
        "invalid_body",
        "unsupported_encoder",
        "unsupported_playback_policy",
        "unsupported_profile_quality",
        "invalid_webhook_url",
        "webhook_url_not_allowed",
        "unknown_webhook_event",
        "unsupported_webhook_event",
        "invalid_segment",
        "invalid_content_duration",
        "sequence_out_of_order",
        "invalid_playlist",
        "playlist_too_large",
        "invalid_job",
        "wrong_orchestrator",
        "job_expired",
        "job_url_not_allowed",
        "invalid_sender",
    ),
    503: (
        "no_orchestrators",
        "orchestrators_unavailable",
        "player_assets_missing",
        "webhook_secrets_unavailable",
        "orchestrator_not_active",
        "round_not_initialized",
        "chain_not_configured",
        "no_key",
    ),
}

#: Each code's HTTP status.
ERROR_STATUS: Mapping[str, int] = {code: status for status, codes in _BY_STATUS.items() for code in codes}


def by_status(codes: Iterable[str]) -> dict[int, list[str]]:
    """Group ``codes`` by their status, each group in the order given (a code not in the table raises KeyError)."""
    grouped: dict[int, list[str]] = {}
    for code in codes:
        group = grouped.setdefault(ERROR_STATUS[code], [])
        if code not in group:
            group.append(code)
    return grouped
