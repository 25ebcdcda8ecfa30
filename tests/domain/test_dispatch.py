"""Building a segment's job: one stable id, and presigned URLs that reach exactly the right objects."""

from __future__ import annotations

import requests

from chalicelib.dispatch.jobs import build_job
from chalicelib.jobs.models import job_id
from chalicelib.streams.profiles import DEFAULT_PROFILES
from tests.domain.conftest import Stage

STREAM = "00000000-0000-0000-0000-0000000000aa"


def test_a_job_presigns_its_source_its_renditions_and_its_manifest(stage: Stage) -> None:
    media = stage.app.wiring.media()
    media.put(f"source/{STREAM}/3.ts", b"\x47" * 188)
    job = build_job(
        media=media,
        stream_id=STREAM,
        seq=3,
        size=188,
        duration_ms=None,
        profiles=DEFAULT_PROFILES,
        orchestrator="0xorch",
        ttl_s=60,
        created_at=1,
    )
    assert job.job_id == job_id(STREAM, 3) == f"{STREAM}/3"
    assert requests.get(job.source_url, timeout=5).content == b"\x47" * 188
    assert [o.key for o in job.outputs] == [f"renditions/{STREAM}/{p.name}/3.ts" for p in DEFAULT_PROFILES]
    for output in job.outputs:
        put = requests.put(output.upload_url, data=b"ts", headers={"Content-Type": "video/mp2t"}, timeout=5)
        assert put.status_code == 200
        assert stage.media(output.key) == b"ts"
    assert job.result_key == f"results/{STREAM}/3.json"
    assert requests.put(job.result_url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=5).ok
    assert stage.media(job.result_key) == b"{}"
