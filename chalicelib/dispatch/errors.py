"""Why a job could not be sent."""

from __future__ import annotations

from chalicelib.core.errors import ApiError


class IntakeRefused(ApiError):
    """An orchestrator's intake refused a job for a reason that another orchestrator would share."""

    status = 502
