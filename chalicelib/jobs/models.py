"""The transcode job a gateway sends an orchestrator, and the result manifest its worker writes.

JSON is camelCase on the wire (Livepeer Studio's shape); Python attributes are snake_case.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.streams.profiles import Profile


def job_id(stream_id: str, seq: int) -> str:
    """The id of a segment's job: the same on every retry, so redelivery stays idempotent."""
    return f"{stream_id}/{seq}"


class JobOutput(ApiModel):
    """Where the worker puts one rendition: a presigned PUT URL for the object key."""

    profile: Profile = Field(description="The rendition to make.")
    key: str = Field(description="The rendition's object key in the gateway's media bucket.")
    upload_url: str = Field(description="A presigned PUT URL for that key.")


class JobCharge(ApiModel):
    """What the intake charged ahead for a paid job: ``fee`` wei for ``pixels`` output pixels at
    ``price_per_unit`` wei per ``pixels_per_unit``. It travels with the job to the worker and back in the usage
    report, so settling needs no record of it (the intake sets it; a gateway's value is never kept)."""

    pixels: Annotated[int, Field(ge=0, description="The output pixels charged for.")]
    fee: Annotated[int, Field(ge=0, description="The fee charged, in wei.")]
    price_per_unit: Annotated[int, Field(ge=0, description="Wei per `pixelsPerUnit` pixels.")]
    pixels_per_unit: Annotated[int, Field(gt=0, description="The pixels the price is for.")]


class TranscodeJob(ApiModel):
    """One segment to transcode: sent by the gateway to an orchestrator's intake, then queued."""

    job_id: str = Field(description="`<streamId>/<seq>`: the same on every retry.")
    stream_id: str = Field(description="The segment's stream.")
    seq: Annotated[int, Field(ge=0, description="The segment's sequence number.")]
    source_url: str = Field(description="A presigned GET URL of the source segment.")
    source_bytes: Annotated[int, Field(ge=1, description="The source segment's size in bytes.")]
    duration_ms: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="The segment's duration as the broadcaster declared it (ms)."
    )
    outputs: Annotated[list[JobOutput], Field(max_length=9, description="The renditions to make.")]
    result_key: str = Field(description="The result manifest's object key.")
    result_url: str = Field(description="A presigned PUT URL for the result manifest.")
    orchestrator: str = Field(description="The address of the orchestrator the job is for.")
    created_at: int = Field(description="When the gateway made the job (ms since the epoch).")
    # On-chain mode, set by the intake: the sender the job was charged to, and what it was charged ahead, to
    # settle with once it is done.
    payer: str | None = Field(
        default=None, description="Set by the intake: the sender charged (a gateway's is ignored)."
    )
    charge: JobCharge | None = Field(
        default=None, description="Set by the intake: what was charged ahead (a gateway's is ignored)."
    )


class SourceInfo(ApiModel):
    """What the worker found in the source segment."""

    width: int
    height: int
    fps: float
    duration_ms: int
    bitrate: int
    video_codec: str
    audio_codec: str | None = None
    frames: int


class RenditionResult(ApiModel):
    """One rendition the worker produced."""

    name: str
    key: str
    width: int
    height: int
    bitrate: int
    codecs: str
    frames: int
    duration_ms: int
    bytes: int
    # Wall time of this rendition's encode (renditions encode side by side).
    encode_ms: int | None = None


class Usage(ApiModel):
    """What a finished job produced, reported by the worker to its orchestrator's ``usage`` queue so that
    the sender is charged for the pixels actually made (the intake charged an upper bound ahead)."""

    job_id: str
    payer: str
    pixels: Annotated[int, Field(ge=0)]
    charge: JobCharge


def output_pixels(renditions: list[RenditionResult]) -> int:
    """The pixels a job's renditions hold: width × height × frames, summed."""
    return sum(r.width * r.height * r.frames for r in renditions)


class JobError(ApiModel):
    """Why a job failed: a stable code and a message."""

    code: str
    message: str


class TranscodeResult(ApiModel):
    """The result manifest the worker writes to ``result_key``; its arrival drives the playlists."""

    job_id: str
    stream_id: str
    seq: int
    orchestrator: str
    status: Literal["ok", "failed"]
    attempt: int = 1
    # True when the queue will not deliver the job again (the last attempt failed).
    final: bool = True
    error: JobError | None = None
    source: SourceInfo | None = None
    renditions: list[RenditionResult] = Field(default_factory=list)
    encoder: str | None = None
    transcode_ms: int | None = None
    worker: str | None = None
