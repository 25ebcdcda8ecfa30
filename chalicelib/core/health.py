"""The liveness answer: the stage is up, which stage it is, and which roles it plays."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.resources import Role
from chalicelib.core.settings import Settings


class Health(ApiModel):
    """`GET /health`'s answer."""

    status: Literal["ok"] = Field(description="Always `ok`: an answer at all means the stage is up.")
    stage: str = Field(description="The deployment's stage name (`dev`, `orch-a`, ...).")
    roles: list[Role] = Field(description="The roles this stage plays: `gateway`, `orchestrator` or both.")


def health(settings: Settings) -> Health:
    """Return the liveness answer of the stage ``settings`` describe."""
    return Health(status="ok", stage=settings.stage, roles=list(settings.roles))
