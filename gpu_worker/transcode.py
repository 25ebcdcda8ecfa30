"""Transcode one MPEG-TS segment into a ladder of H.264/AAC MPEG-TS renditions, in memory.

One pass: the source is demuxed once and its video decoded once (frame threads); ONE filter graph
(buffer -> split -> scale -> format -> buffersink per rendition) makes every size; each rendition
has its own encoder and muxer. Audio is copied when it is AAC already, else encoded to AAC once.

Timestamps are kept: every rendition's frames carry the source frames' PTS and the muxer writes
them unchanged (``mpegts_copyts``), so consecutive segments stay continuous exactly as the
broadcaster's ``ffmpeg -f hls`` made them and a player can switch renditions at any boundary.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.filter import Graph
from av.filter.context import FilterContext
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from chalicelib.jobs.models import SourceInfo
from chalicelib.streams.profiles import Profile, fit, output_rate
from gpu_worker.encoders import EncoderChoice, rendition_options
from gpu_worker.errors import EmptySource, NoVideoStream, PaidPixelsExceeded, TranscodeError, UndecodableSource
from gpu_worker.rendition import RenditionEncoder
from gpu_worker.rfc6381 import AAC_LC, audio_codecs_for, avc1_from_annexb, avc1_from_avcc, mp4a_from_adts, mp4a_from_asc

AAC_BITRATE = 128_000
# Same scaler on both sides of the benchmark; bicubic is FFmpeg's default for the scale filter.
SCALE_FLAGS = "bicubic"
PIX_FMT = "yuv420p"
_FALLBACK_FPS = Fraction(25)


@dataclass(frozen=True)
class Rendition:
    """One encoded rendition: its MPEG-TS bytes and what was measured on it."""

    profile: Profile
    width: int
    height: int
    data: bytes
    frames: int
    duration_ms: int
    # Measured: the rendition's bytes over its duration (bits/s), MPEG-TS overhead included.
    bitrate: int
    # RFC 6381 CODECS for an HLS master playlist, e.g. "avc1.64001f,mp4a.40.2".
    codecs: str
    first_pts: float
    last_pts: float
    # Wall time this rendition's encoder thread took, first frame to muxer closed.
    encode_ms: int = 0


@dataclass(frozen=True)
class Transcoded:
    """The result of transcoding one segment: the source as found and every rendition made."""

    source: SourceInfo
    renditions: list[Rendition]
    encoder: str
    elapsed_ms: int
    # Profiles left out because they would upscale the source.
    skipped: list[str] = field(default_factory=list)


def plan(profiles: Sequence[Profile], width: int, height: int) -> list[tuple[Profile, int, int]]:
    """Return (profile, width, height) for every profile that fits a ``width`` x ``height`` source."""
    planned = []
    for profile in profiles:
        size = fit(profile, width, height)
        if size is not None:
            planned.append((profile, *size))
    return planned


def transcode_segment(
    source: bytes, profiles: Sequence[Profile], encoder: EncoderChoice, max_pixels: int | None = None
) -> Transcoded:
    """Transcode one segment to every profile that fits it; raise ``TranscodeError`` subclasses.

    Raises ``EmptySource`` (``empty_source``), ``UndecodableSource`` (``undecodable_source``) for
    bytes that are not decodable media, ``NoVideoStream`` (``no_video_stream``), and
    ``TranscodeError`` (``transcode_failed``) when encoding itself fails. With ``max_pixels``, the
    renditions together may hold at most that many pixels (width × height × frames): the frame that
    would pass it is not encoded, and ``PaidPixelsExceeded`` (``exceeds_paid_pixels``) is raised.
    """
    if not source:
        raise EmptySource("the source segment is empty")
    started = time.perf_counter()
    container = _open_source(source)
    with container:
        job = _SegmentJob(container, profiles, encoder, max_pixels)
        try:
            job.run()
        finally:
            job.stop()
    source_info = job.source_info(len(source))
    return Transcoded(
        source=source_info,
        renditions=job.renditions(),
        encoder=encoder.name,
        elapsed_ms=round((time.perf_counter() - started) * 1000),
        skipped=[p.name for p in profiles if fit(p, source_info.width, source_info.height) is None],
    )


def _open_source(source: bytes) -> InputContainer:
    try:
        return av.open(io.BytesIO(source), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise UndecodableSource(f"the source is not readable media: {error}") from error


class _SegmentJob:
    """The state of one transcode: source streams, the filter graph and the outputs."""

    def __init__(
        self, container: InputContainer, profiles: Sequence[Profile], encoder: EncoderChoice, max_pixels: int | None
    ) -> None:
        self.container = container
        # Output pixels handed to the encoders so far, and the most a paid job may make.
        self.pixels = 0
        self.max_pixels = max_pixels
        self.profiles = list(profiles)
        self.encoder = encoder
        if not container.streams.video:
            raise NoVideoStream("the source has no video stream")
        self.video = container.streams.video[0]
        self.audio: AudioStream | None = container.streams.audio[0] if container.streams.audio else None
        self.video.thread_type = "AUTO"  # frame + slice threads, as the ffmpeg CLI decodes
        self.video.thread_count = 0
        self.rate = self.video.average_rate or self.video.guessed_rate or _FALLBACK_FPS
        # MPEG-TS streams count in 1/90000 s; frames, encoders and muxers all keep this base.
        self.time_base = self.video.time_base or Fraction(1, 90_000)
        self.outputs: list[RenditionEncoder] = []
        self.graph: Graph | None = None
        self.source_frames = 0
        self.width = 0
        self.height = 0
        self.first_pts: int | None = None
        self.last_pts: int | None = None
        self.source_avc1: str | None = None
        self.source_mp4a: str | None = None
        self.copy_audio = self.audio is not None and self.audio.codec_context.name == "aac"
        self.audio_encoder: av.AudioCodecContext | None = None
        self.resampler: AudioResampler | None = None
        self.audio_flushed = False
        # Audio packets that arrive before the outputs exist (they are made from the first frame).
        self.pending_audio: list[Packet[Any]] = []
        self.decode_errors = 0

    # --- the pass -----------------------------------------------------------------------------
    def run(self) -> None:
        streams: list[VideoStream | AudioStream] = [self.video]
        if self.audio is not None:
            streams.append(self.audio)
        packets = self.container.demux(streams)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as error:
                raise UndecodableSource(f"demuxing the source failed: {error}") from error
            if packet.stream is self.video:
                self._video_packet(packet)
            else:
                try:
                    self._audio_packet(packet)
                except av.FFmpegError as error:
                    raise TranscodeError(f"audio failed: {error}") from error
        if self.source_frames == 0:
            raise UndecodableSource(f"no video frame could be decoded from the source ({self.decode_errors} errors)")
        self._finish()

    def _video_packet(self, packet: Packet[Any]) -> None:
        # The demuxer's final packet (empty, dts None) flushes the decoder: decode it too, or
        # the frames still inside the frame-threaded decoder are lost.
        if self.source_avc1 is None and packet.size:
            self.source_avc1 = avc1_from_annexb(bytes(packet))
        try:
            frames = packet.decode()
        except av.InvalidDataError:
            self.decode_errors += 1  # a corrupt packet: skip it as the ffmpeg CLI does
            return
        except av.FFmpegError as error:
            raise UndecodableSource(f"decoding the source failed: {error}") from error
        for frame in frames:
            assert isinstance(frame, VideoFrame)
            self._video_frame(frame)

    def _video_frame(self, frame: VideoFrame) -> None:
        if frame.pts is None:
            if self.last_pts is None:
                return
            frame.pts = self.last_pts + self._frame_ticks()
        try:
            if self.source_frames == 0:
                self._start(frame)
            self.source_frames += 1
            self.first_pts = frame.pts if self.first_pts is None else self.first_pts
            self.last_pts = frame.pts
            if self.graph is not None:
                self.graph.vpush(frame)
                self._drain()
        except av.FFmpegError as error:
            raise TranscodeError(f"scaling or encoding failed: {error}") from error

    def _drain(self) -> None:
        for output in self.outputs:
            while True:
                try:
                    scaled = output.sink.pull()
                except (av.BlockingIOError, av.EOFError):
                    break
                assert isinstance(scaled, VideoFrame)
                if scaled.time_base is not None and scaled.time_base != self.time_base and scaled.pts is not None:
                    # The fps filter counts in frames of its rate: back to the source's clock, which the
                    # encoders and muxers keep (timestamps stay continuous across segments).
                    scaled.pts = round(scaled.pts * scaled.time_base / self.time_base)
                    scaled.time_base = self.time_base
                self._count(scaled)
                output.put(scaled)

    def _count(self, frame: VideoFrame) -> None:
        """Count a rendition frame's pixels before it is encoded; stop at a paid job's limit."""
        self.pixels += frame.width * frame.height
        if self.max_pixels is not None and self.pixels > self.max_pixels:
            raise PaidPixelsExceeded(
                f"the source makes over {self.max_pixels:,} output pixels, more than its job paid for allows "
                f"(stopped after {self.source_frames} source frames): declare the segment's true duration"
            )

    def _audio_packet(self, packet: Packet[Any]) -> None:
        if self.copy_audio:
            if packet.size == 0 or packet.dts is None:
                return  # the demuxer's flush packet: nothing to copy
            if self.source_mp4a is None:
                self.source_mp4a = mp4a_from_adts(bytes(packet))
            self._send_audio(packet)
            return
        try:
            frames = packet.decode()
        except av.InvalidDataError:
            return
        for frame in frames:
            assert isinstance(frame, AudioFrame)
            self._encode_audio(frame)
        if packet.size == 0:
            self._encode_audio(None)

    def _encode_audio(self, frame: AudioFrame | None) -> None:
        if self.audio_encoder is None:
            if frame is None:
                return
            self._open_audio_encoder(frame)
        assert self.audio_encoder is not None and self.resampler is not None
        for resampled in self.resampler.resample(frame):
            for packet in self.audio_encoder.encode(resampled):
                self._send_audio(packet)
        if frame is None:
            self.audio_flushed = True
            for packet in self.audio_encoder.encode(None):
                self._send_audio(packet)

    def _open_audio_encoder(self, frame: AudioFrame) -> None:
        encoder = av.CodecContext.create("aac", "w")
        assert isinstance(encoder, av.AudioCodecContext)
        encoder.sample_rate = frame.sample_rate
        encoder.layout = frame.layout
        encoder.format = "fltp"
        encoder.bit_rate = AAC_BITRATE
        encoder.time_base = Fraction(1, frame.sample_rate)
        encoder.open()
        self.audio_encoder = encoder
        self.resampler = AudioResampler(
            format="fltp", layout=frame.layout, rate=frame.sample_rate, frame_size=encoder.frame_size
        )

    def _send_audio(self, packet: Packet[Any]) -> None:
        if not self.outputs:
            self.pending_audio.append(packet)
            return
        for output in self.outputs:
            output.mux_audio(packet)

    # --- set-up from the first decoded frame -------------------------------------------------
    def _start(self, frame: VideoFrame) -> None:
        self.width, self.height = frame.width, frame.height
        planned = plan(self.profiles, frame.width, frame.height)
        if not planned:
            return
        graph = Graph()
        src = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format,
            time_base=frame.time_base or self.time_base,
        )
        split = graph.add("split", str(len(planned)))
        src.link_to(split)
        # self.outputs grows as encoders start, so a failure half-way still stops their threads.
        for index, (profile, width, height) in enumerate(planned):
            scale = graph.add("scale", f"{width}:{height}:flags={SCALE_FLAGS}")
            split.link_to(scale, index)
            tail = graph.add("format", PIX_FMT)
            scale.link_to(tail)
            rate = output_rate(profile, self.rate)
            if rate != self.rate:  # fps/fpsDen caps the rate; a slower source keeps its own
                fps = graph.add("fps", f"fps={rate.numerator}/{rate.denominator}")
                tail.link_to(fps)
                tail = fps
            sink = graph.add("buffersink")
            tail.link_to(sink)
            self.outputs.append(self._open_output(profile, width, height, sink))
        graph.configure()
        self.graph = graph
        pending, self.pending_audio = self.pending_audio, []
        for packet in pending:
            self._send_audio(packet)

    def _open_output(self, profile: Profile, width: int, height: int, sink: FilterContext) -> RenditionEncoder:
        buffer = io.BytesIO()
        # mpegts_copyts: write our PTS/DTS as they are (the muxer would otherwise add 1.4 s).
        container = av.open(buffer, mode="w", format="mpegts", container_options={"mpegts_copyts": "1"})
        rate = output_rate(profile, self.rate)
        options = rendition_options(self.encoder, profile, rate)
        video = container.add_stream(self.encoder.name, rate=rate, options=options)
        assert isinstance(video, VideoStream)
        video.width, video.height, video.pix_fmt = width, height, PIX_FMT
        video.time_base = self.time_base
        video.codec_context.time_base = self.time_base
        video.codec_context.framerate = rate
        # Frame threads, as the ffmpeg CLI gives libx264 (PyAV defaults to slice threads).
        video.thread_type = "AUTO"
        video.thread_count = 0
        audio = self._add_audio_stream(container)
        # Open the encoders and write the header here, on this thread: done lazily, the first
        # audio packet (this thread) and the first frame (the encoder thread) would race to it.
        container.start_encoding()
        return RenditionEncoder(profile, width, height, sink, container, buffer, video, audio)

    def _add_audio_stream(self, container: OutputContainer) -> AudioStream | None:
        if self.audio is None:
            return None
        if self.copy_audio:
            return container.add_stream_from_template(self.audio)
        source = self.audio.codec_context
        # The audio is encoded once (self.audio_encoder); this stream only carries its packets.
        stream = container.add_stream("aac", rate=source.sample_rate or 48_000)
        stream.layout = source.layout if source.layout.nb_channels else "stereo"
        stream.format = "fltp"
        stream.bit_rate = AAC_BITRATE
        return stream

    # --- the end -------------------------------------------------------------------------------
    def _finish(self) -> None:
        try:
            if self.audio_encoder is not None and not self.audio_flushed:
                self._encode_audio(None)
            if self.graph is not None:
                self.graph.vpush(None)
                self._drain()
            for output in self.outputs:
                output.end()
            for output in self.outputs:
                output.join()
        except av.FFmpegError as error:
            raise TranscodeError(f"flushing the encoders failed: {error}") from error

    def stop(self) -> None:
        """Make sure no encoder thread outlives the transcode (on success they have ended)."""
        for output in self.outputs:
            output.end()
        for output in self.outputs:
            output.join_quietly()

    def _frame_ticks(self) -> int:
        return max(1, round(1 / (self.rate * self.time_base)))

    # --- what was found and made ---------------------------------------------------------------
    def _duration_ms(self, first: int | None, last: int | None, frames: int, rate: Fraction) -> int:
        if first is None or last is None:
            return round(1000 * frames / rate)
        return round(1000 * (float((last - first) * self.time_base) + float(1 / rate)))

    def source_info(self, size: int) -> SourceInfo:
        duration_ms = self._duration_ms(self.first_pts, self.last_pts, self.source_frames, self.rate)
        extradata = self.video.codec_context.extradata
        video_codec = self.source_avc1 or (avc1_from_avcc(extradata) if extradata else None)
        audio_codec: str | None = None
        if self.audio is not None:
            audio_codec = self.source_mp4a or mp4a_from_asc(self.audio.codec_context.extradata or b"")
            if audio_codec is None:
                name = self.audio.codec_context.name
                audio_codec = audio_codecs_for(name) or name
        return SourceInfo(
            width=self.width,
            height=self.height,
            fps=round(float(self.rate), 3),
            duration_ms=duration_ms,
            bitrate=round(size * 8000 / duration_ms) if duration_ms else 0,
            video_codec=video_codec or self.video.codec_context.name,
            audio_codec=audio_codec,
            frames=self.source_frames,
        )

    def renditions(self) -> list[Rendition]:
        made = []
        tb = self.time_base
        for output in self.outputs:
            rate = output_rate(output.profile, self.rate)
            duration_ms = self._duration_ms(output.first_pts, output.last_pts, output.frames, rate)
            data = output.buffer.getvalue()
            codecs = [output.avc1 or "avc1.640028"]
            if output.audio is not None:
                codecs.append(self.source_mp4a if self.copy_audio and self.source_mp4a else AAC_LC)
            made.append(
                Rendition(
                    profile=output.profile,
                    width=output.width,
                    height=output.height,
                    data=data,
                    frames=output.frames,
                    duration_ms=duration_ms,
                    bitrate=round(len(data) * 8000 / duration_ms) if duration_ms else 0,
                    codecs=",".join(codecs),
                    first_pts=float((output.first_pts or 0) * tb),
                    last_pts=float((output.last_pts or 0) * tb),
                    encode_ms=output.encode_ms,
                )
            )
        return made
