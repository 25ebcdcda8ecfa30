"""The base of every wire payload: camelCase JSON (Livepeer Studio's shape), snake_case Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every wire payload: camelCase aliases, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, object]:
        """Return the JSON-ready camelCase dict."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
