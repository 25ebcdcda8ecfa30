"""Remux a recording's MPEG-TS segments into one MP4, with PyAV: stream copy (no re-encode), index first.

The segments are demuxed one after another and their H.264 video and AAC audio packets written, unchanged, to
one MP4 whose ``moov`` comes before its media (``movflags=+faststart``), so a browser plays it while it loads.
Timestamps are kept where they run on from one segment to the next, as a broadcaster's HLS muxer cuts them; a
segment whose timestamps jump (a gap left by a segment that failed, a broadcaster that restarted) is moved to
follow the one before. The mp4 muxer inserts ``aac_adtstoasc`` itself (FFmpeg's automatic bitstream filters).

Segments transcoded one by one each carry their own audio encoder's tail, so one segment's first audio
packets may overlap the end of the one before: a packet that would not move a stream's DTS forward is dropped
(a few milliseconds of audio at a boundary), as concatenating demuxers do.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from gpu_worker.errors import TranscodeError
from gpu_worker.rfc6381 import AAC_LC, avc1_from_annexb, mp4a_from_adts

#: A segment starting this far (seconds) from where the one before ended is moved to follow it.
MAX_DRIFT_S = Fraction(1)
MP4_OPTIONS = {"movflags": "+faststart"}


class RemuxError(TranscodeError):
    """A recording could not be made into an MP4; ``code`` is stable, ``retry`` False when no retry can help."""

    code = "remux_failed"
    retry = False


@dataclass(frozen=True)
class Mp4:
    """What the MP4 holds, as measured while writing it."""

    bytes: int
    width: int
    height: int
    duration_ms: int
    video_frames: int
    # RFC 6381 codecs, e.g. "avc1.64001f" and "mp4a.40.2" (None: no audio).
    video_codec: str
    audio_codec: str | None

    @property
    def bitrate(self) -> int:
        """Bits per second over the whole file."""
        return round(self.bytes * 8 * 1000 / self.duration_ms) if self.duration_ms else 0


@dataclass
class _Timeline:
    """Where the MP4 stands: each stream's last DTS, the end of what was written, and the shift applied."""

    offset: Fraction | None = None
    end: Fraction = Fraction(0)
    last_dts: dict[str, int] = field(default_factory=dict)
    video_pts: list[Fraction] = field(default_factory=list)
    video_end: Fraction = Fraction(0)


def remux_to_mp4(segments: Iterable[bytes], path: str | os.PathLike[str]) -> Mp4:
    """Copy the H.264 video (and AAC audio, when the first segment has it) of ``segments``, in order, into an
    MP4 at ``path``; return what it holds. Raises ``RemuxError`` (with a stable code) for media it cannot copy."""
    output = av.open(str(path), mode="w", format="mp4", options=MP4_OPTIONS)
    outputs: dict[str, Stream] = {}
    timeline = _Timeline()
    codecs: dict[str, str | None] = {"video": None, "audio": None}
    size = (0, 0)
    try:
        for index, data in enumerate(segments):
            # Packets refer to their input's streams: they are written before the input closes.
            with _opened(data, index) as container:
                inputs = _chosen(container, index)
                if not outputs:
                    outputs = _streams(output, inputs)
                    video = inputs["video"]
                    assert isinstance(video, VideoStream)
                    size = (video.codec_context.width, video.codec_context.height)
                _write(output, outputs, _packets(container, inputs, index), timeline, codecs)
        if not timeline.video_pts:
            raise RemuxError("the recording has no video to copy", "recording_empty")
    finally:
        output.close()
    first = min(timeline.video_pts)
    return Mp4(
        bytes=os.path.getsize(path),
        width=size[0],
        height=size[1],
        duration_ms=round((timeline.video_end - first) * 1000),
        video_frames=len(timeline.video_pts),
        video_codec=codecs["video"] or "avc1",
        audio_codec=(codecs["audio"] or AAC_LC) if "audio" in outputs else None,
    )


def _opened(data: bytes, index: int) -> InputContainer:
    """One segment, opened for demuxing."""
    try:
        return av.open(io.BytesIO(data), mode="r")
    except av.error.FFmpegError as error:
        raise RemuxError(f"segment {index} cannot be demuxed: {error}", "undecodable_segment") from None


def _chosen(container: InputContainer, index: int) -> dict[str, Stream]:
    """A segment's first video and first audio stream."""
    chosen: dict[str, Stream] = {}
    for stream in container.streams:
        if stream.type in ("video", "audio") and stream.type not in chosen:
            chosen[stream.type] = stream
    if "video" not in chosen:
        raise RemuxError(f"segment {index} has no video stream", "no_video_stream")
    return chosen


def _packets(container: InputContainer, inputs: dict[str, Stream], index: int) -> list[Packet[Any]]:
    """Every packet of the chosen streams, in file order (the demuxer's flush packets left out)."""
    try:
        return [p for p in container.demux(*inputs.values()) if p.dts is not None and p.size]
    except av.error.FFmpegError as error:
        raise RemuxError(f"segment {index} cannot be demuxed: {error}", "undecodable_segment") from None


def _streams(output: OutputContainer, inputs: dict[str, Stream]) -> dict[str, Stream]:
    """The MP4's streams, copied from the first segment's: H.264 video, and AAC audio if it has it."""
    video = inputs["video"]
    if video.codec_context.name != "h264":
        raise RemuxError(f"the video is {video.codec_context.name}, not H.264: an MP4 copy needs H.264", "not_h264")
    made = {"video": output.add_stream_from_template(video)}
    audio = inputs.get("audio")
    # Any other audio would need encoding: the renditions' is always AAC, and a source's of another codec is left out.
    if audio is not None and audio.codec_context.name == "aac":
        made["audio"] = output.add_stream_from_template(audio)
    return made


def _write(
    output: OutputContainer,
    outputs: dict[str, Stream],
    packets: list[Packet[Any]],
    timeline: _Timeline,
    codecs: dict[str, str | None],
) -> None:
    """Write one segment's packets, shifted onto the MP4's timeline (see the module's docstring)."""
    mine = [p for p in packets if p.stream.type in outputs and p.time_base is not None and p.dts is not None]
    if not mine:
        return
    start = min(Fraction(p.dts) * p.time_base for p in mine if p.dts is not None and p.time_base is not None)
    if timeline.offset is None:
        timeline.offset = -start  # the MP4 starts at zero
    elif abs(start + timeline.offset - timeline.end) > MAX_DRIFT_S:
        timeline.offset = timeline.end - start
    for packet in mine:
        kind = packet.stream.type
        base = packet.time_base
        assert base is not None and packet.dts is not None
        shift = round(timeline.offset / base)
        dts = packet.dts + shift
        if dts <= timeline.last_dts.get(kind, -(2**62)):
            continue  # overlaps what the segment before wrote
        if codecs[kind] is None:
            data = bytes(packet)
            codecs[kind] = avc1_from_annexb(data) if kind == "video" else mp4a_from_adts(data)
        pts = dts if packet.pts is None else packet.pts + shift
        ends = Fraction(dts + (packet.duration or 0)) * base
        timeline.end = max(timeline.end, ends)
        timeline.last_dts[kind] = dts
        if kind == "video":
            timeline.video_pts.append(Fraction(pts) * base)
            timeline.video_end = max(timeline.video_end, Fraction(pts + (packet.duration or 0)) * base)
        packet.dts, packet.pts = dts, pts
        packet.stream = outputs[kind]
        output.mux(packet)
