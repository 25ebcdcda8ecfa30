"""Object keys in the media bucket: sources, renditions and result manifests (one scheme, one place)."""

from __future__ import annotations

import re

_RESULT = re.compile(r"^results/(?P<stream>[0-9a-f-]{36})/(?P<seq>[0-9]+)\.json$")


def source_key(stream_id: str, seq: int) -> str:
    """Key of a stream's source segment."""
    return f"source/{stream_id}/{seq}.ts"


def rendition_key(stream_id: str, rendition: str, seq: int) -> str:
    """Key of one transcoded rendition of a segment."""
    return f"renditions/{stream_id}/{rendition}/{seq}.ts"


def result_key(stream_id: str, seq: int) -> str:
    """Key of the worker's result manifest for a segment; its creation drives the results handler."""
    return f"results/{stream_id}/{seq}.json"


def parse_result_key(key: str) -> tuple[str, int] | None:
    """Return (stream id, seq) of a result manifest key, or None for any other key."""
    match = _RESULT.match(key)
    return (match["stream"], int(match["seq"])) if match else None
