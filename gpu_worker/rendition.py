"""One rendition's encoder and MPEG-TS muxer, running on its own thread.

The encoder runs beside the decoder and the other renditions' encoders (PyAV releases the GIL
inside FFmpeg), so one rendition's encoder flush overlaps the others' instead of following them.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from typing import Any

from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.filter.context import FilterContext
from av.packet import Packet
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

from chalicelib.streams.profiles import Profile
from gpu_worker.errors import TranscodeError
from gpu_worker.rfc6381 import avc1_from_annexb

# Scaled frames an encoder thread may lag behind the decoder (bounds memory, ~3 MB each at 1080p).
QUEUE_FRAMES = 8


class RenditionEncoder:
    """One rendition being encoded and muxed into memory, on its own thread.

    The decoding thread hands over scaled frames with ``put`` and ends with ``end``/``join``;
    audio packets are muxed from the decoding thread under ``lock``.
    """

    def __init__(
        self,
        profile: Profile,
        width: int,
        height: int,
        sink: FilterContext,
        container: OutputContainer,
        buffer: io.BytesIO,
        video: VideoStream,
        audio: AudioStream | None,
    ) -> None:
        self.profile, self.width, self.height, self.sink = profile, width, height, sink
        self.container, self.buffer, self.video, self.audio = container, buffer, video, audio
        self.frames = 0
        self.first_pts: int | None = None
        self.last_pts: int | None = None
        self.avc1: str | None = None
        # Wall time from this rendition's first frame to its muxer closing (it runs beside the others).
        self.encode_ms = 0
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self._ended = False
        self._frames: queue.Queue[VideoFrame | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name=f"encode-{profile.name}", daemon=True)
        self._thread.start()

    def put(self, frame: VideoFrame) -> None:
        """Hand a scaled frame to the encoder thread (blocks while it is behind)."""
        self._check()
        self._frames.put(frame)

    def end(self) -> None:
        """Tell the encoder thread that no more frames come: it flushes and closes the muxer."""
        if not self._ended:
            self._ended = True
            self._frames.put(None)

    def join(self) -> None:
        """Wait for the encoder thread; raise what it raised."""
        self.end()
        self._thread.join()
        self._check()

    def join_quietly(self) -> None:
        """Wait for the encoder thread, ignoring its error (another error is on its way)."""
        self.end()
        self._thread.join()

    def mux_audio(self, packet: Packet[Any]) -> None:
        """Mux one AAC packet (called from the main thread)."""
        assert self.audio is not None
        with self.lock:
            packet.stream = self.audio
            self.container.mux_one(packet)

    def _check(self) -> None:
        if self.error is not None:
            raise TranscodeError(f"encoding {self.profile.name} failed: {self.error}") from self.error

    def _run(self) -> None:
        ended = False
        started: float | None = None
        try:
            while not ended:
                frame = self._frames.get()
                started = time.perf_counter() if started is None else started
                ended = frame is None
                self._encode(frame)
            with self.lock:
                self.container.close()
            self.encode_ms = round((time.perf_counter() - (started or time.perf_counter())) * 1000)
        except BaseException as error:  # handed to the main thread by _check
            self.error = error
            while not ended:  # keep taking frames so the producer never blocks, until the end
                ended = self._frames.get() is None

    def _encode(self, frame: VideoFrame | None) -> None:
        if frame is not None:
            # Decoded frames carry the source's picture types, which libx264 and NVENC would
            # obey; clear them so the encoder decides, except the first: an IDR starts the
            # rendition so every segment is independently decodable.
            frame.pict_type = PictureType.I if self.frames == 0 else PictureType.NONE
            pts = frame.pts
            if pts is not None:
                self.first_pts = pts if self.first_pts is None else self.first_pts
                self.last_pts = pts
            self.frames += 1
        packets = self.video.encode(frame)
        with self.lock:
            for packet in packets:
                if self.avc1 is None:
                    self.avc1 = avc1_from_annexb(bytes(packet))
                self.container.mux_one(packet)
