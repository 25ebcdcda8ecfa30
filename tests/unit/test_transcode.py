"""transcode_segment on real footage: sizes, frames, keyframes, audio, timestamps, codecs, errors.

Each source is transcoded once per module (real libx264 encodes) and the tests read the results.
"""

from __future__ import annotations

import io
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from chalicelib.streams.profiles import DEFAULT_PROFILES, Profile
from gpu_worker.encoders import EncoderChoice, libx264, nvenc, rendition_options
from gpu_worker.errors import EmptySource, NoVideoStream, TranscodeError, UndecodableSource
from gpu_worker.rfc6381 import avc1_from_annexb, avc1_from_avcc, mp4a_from_adts, mp4a_from_asc
from gpu_worker.transcode import Transcoded, transcode_segment
from tests.media import FFMPEG, Probe, bigbuckbunny, make_segments, probe

TS_PACKET = 188
# ultrafast keeps the unit tests quick; the worker's default preset is tested in test_encoders.
FAST = libx264("ultrafast")


@pytest.fixture(scope="module")
def x264() -> EncoderChoice:
    return FAST


@pytest.fixture(scope="module")
def hd_segments() -> list[Path]:
    return make_segments("720p", n=2)


@pytest.fixture(scope="module")
def hd_ladder(hd_segments: list[Path], x264: EncoderChoice) -> list[Transcoded]:
    """Two consecutive 720p segments, each transcoded to the default ladder."""
    return [transcode_segment(p.read_bytes(), DEFAULT_PROFILES, x264) for p in hd_segments]


@pytest.fixture(scope="module")
def hd_probes(hd_ladder: list[Transcoded]) -> list[dict[str, Probe]]:
    return [{r.profile.name: probe(r.data) for r in t.renditions} for t in hd_ladder]


@pytest.fixture(scope="module")
def hd_source_probes(hd_segments: list[Path]) -> list[Probe]:
    return [probe(p) for p in hd_segments]


# --- sizes ------------------------------------------------------------------------------------------


def test_a_720p_source_yields_the_whole_ladder_at_its_aspect_ratio(
    hd_ladder: list[Transcoded], hd_probes: list[dict[str, Probe]]
) -> None:
    want = {"240p0": (426, 240), "360p0": (640, 360), "480p0": (854, 480), "720p0": (1280, 720)}
    for transcoded, probes in zip(hd_ladder, hd_probes, strict=True):
        assert {r.profile.name: (r.width, r.height) for r in transcoded.renditions} == want
        assert {name: (p.width, p.height) for name, p in probes.items()} == want
        assert transcoded.skipped == []


def test_a_360p_source_skips_the_profiles_that_would_upscale_it(x264: EncoderChoice) -> None:
    source = make_segments("360p", n=1)[0].read_bytes()
    transcoded = transcode_segment(source, DEFAULT_PROFILES, x264)
    assert [(r.profile.name, r.width, r.height) for r in transcoded.renditions] == [
        ("240p0", 426, 240),
        ("360p0", 640, 360),
    ]
    assert transcoded.skipped == ["480p0", "720p0"]
    assert (transcoded.source.width, transcoded.source.height) == (640, 360)


def test_a_source_smaller_than_every_profile_gives_no_rendition_but_its_facts(x264: EncoderChoice) -> None:
    source = make_segments("240p", n=1)[0].read_bytes()
    big = [p for p in DEFAULT_PROFILES if p.height > 240]
    transcoded = transcode_segment(source, big, x264)
    assert transcoded.renditions == []
    assert transcoded.source.frames == 50
    assert transcoded.skipped == [p.name for p in big]


# --- frames, keyframes, audio, timestamps ----------------------------------------------------------


def test_renditions_keep_every_frame_and_the_duration(
    hd_ladder: list[Transcoded], hd_probes: list[dict[str, Probe]], hd_source_probes: list[Probe]
) -> None:
    for transcoded, probes, source in zip(hd_ladder, hd_probes, hd_source_probes, strict=True):
        assert transcoded.source.frames == source.frames == 50
        for rendition in transcoded.renditions:
            got = probes[rendition.profile.name]
            assert abs(got.frames - source.frames) <= 1, rendition.profile.name
            assert rendition.frames == source.frames
            assert got.duration == pytest.approx(source.duration, abs=1 / source.fps)
            assert rendition.duration_ms == pytest.approx(source.duration * 1000, abs=1000 / source.fps)


def test_every_rendition_starts_on_a_keyframe_with_one_keyframe_per_2s(hd_probes: list[dict[str, Probe]]) -> None:
    for probes in hd_probes:
        for name, got in probes.items():
            assert got.first_is_keyframe, name
            assert got.keyframes == 1, name  # a 2 s segment is one GOP


def test_renditions_carry_the_sources_aac_audio(hd_probes: list[dict[str, Probe]]) -> None:
    for probes in hd_probes:
        for name, got in probes.items():
            assert got.has_audio and got.audio_codec == "aac", name


def test_non_aac_audio_is_encoded_to_aac(x264: EncoderChoice) -> None:
    source = make_segments("240p", n=1, audio="mp2")[0].read_bytes()
    transcoded = transcode_segment(source, DEFAULT_PROFILES[:1], x264)
    got = probe(transcoded.renditions[0].data)
    assert got.has_audio and got.audio_codec == "aac"
    assert transcoded.renditions[0].codecs.endswith(",mp4a.40.2")
    assert transcoded.source.audio_codec == "mp4a.69"  # MPEG audio, as the source's CODECS


def test_a_source_without_audio_gives_renditions_without_audio(x264: EncoderChoice) -> None:
    source = make_segments("240p", n=1, audio=None)[0].read_bytes()
    transcoded = transcode_segment(source, DEFAULT_PROFILES[:1], x264)
    assert not probe(transcoded.renditions[0].data).has_audio
    assert transcoded.source.audio_codec is None
    assert "," not in transcoded.renditions[0].codecs


def test_renditions_keep_the_sources_timestamps(
    hd_ladder: list[Transcoded], hd_probes: list[dict[str, Probe]], hd_source_probes: list[Probe]
) -> None:
    for transcoded, probes, source in zip(hd_ladder, hd_probes, hd_source_probes, strict=True):
        for rendition in transcoded.renditions:
            got = probes[rendition.profile.name]
            assert got.first_pts == pytest.approx(source.first_pts, abs=1e-4)
            assert got.last_pts == pytest.approx(source.last_pts, abs=1e-4)
            assert rendition.first_pts == pytest.approx(source.first_pts, abs=1e-4)


def test_consecutive_segments_renditions_are_continuous(hd_probes: list[dict[str, Probe]]) -> None:
    first, second = hd_probes
    for name, before in first.items():
        after = second[name]
        assert after.first_pts == pytest.approx(before.last_pts + 1 / before.fps, abs=1e-3), name


def test_a_profile_frame_rate_changes_the_frame_count(x264: EncoderChoice) -> None:
    source = make_segments("240p", n=1)[0].read_bytes()
    half = Profile(name="240p12", width=426, height=240, bitrate=200_000, fps=12)
    rendition = transcode_segment(source, [half], x264).renditions[0]
    got = probe(rendition.data)
    assert abs(got.frames - 24) <= 1
    assert got.first_is_keyframe


# --- facts for the master playlist ------------------------------------------------------------------


def test_source_facts_are_measured(hd_ladder: list[Transcoded], hd_segments: list[Path]) -> None:
    source = hd_ladder[0].source
    assert (source.width, source.height, source.fps, source.frames) == (1280, 720, 25.0, 50)
    assert source.duration_ms == 2000
    assert source.bitrate == round(hd_segments[0].stat().st_size * 8 / 2)
    assert source.video_codec == "avc1.64001f"  # High profile, level 3.1 (ffmpeg's choice for 720p25)
    assert source.audio_codec == "mp4a.40.2"


def test_rendition_codecs_come_from_the_encoded_stream(hd_ladder: list[Transcoded]) -> None:
    for rendition in hd_ladder[0].renditions:
        video, audio = rendition.codecs.split(",")
        assert re.fullmatch(r"avc1\.[0-9a-f]{6}", video)
        assert video == avc1_from_annexb(rendition.data[rendition.data.find(b"\x00\x00\x01") :])
        assert audio == "mp4a.40.2"
        seconds = rendition.duration_ms / 1000
        assert rendition.bitrate == round(len(rendition.data) * 8 / seconds)
    levels = {r.profile.name: int(r.codecs[9:11], 16) for r in hd_ladder[0].renditions}
    assert levels["240p0"] < levels["720p0"]  # the level follows the size


def test_codecs_strings_are_read_from_parameter_sets_and_headers() -> None:
    sps = b"\x00\x00\x00\x01\x67\x64\x00\x1f\xac\xd9"
    assert avc1_from_annexb(b"\x00\x00\x00\x01\x09\xf0" + sps) == "avc1.64001f"
    assert avc1_from_annexb(b"\x00\x00\x01\x65\x88") is None
    assert avc1_from_avcc(b"\x01\x42\xc0\x1e\xff") == "avc1.42c01e"
    assert mp4a_from_adts(b"\xff\xf1\x50\x80\x02\x1f\xfc") == "mp4a.40.2"  # AAC LC
    assert mp4a_from_adts(b"\x47\x40\x00\x10\x00\x00\x00") is None
    assert mp4a_from_asc(b"\x12\x10") == "mp4a.40.2"
    assert mp4a_from_asc(b"\x2b\x92\x08\x00") == "mp4a.40.5"  # HE-AAC


# --- bad input ---------------------------------------------------------------------------------------


def test_empty_bytes_are_refused(x264: EncoderChoice) -> None:
    with pytest.raises(EmptySource) as caught:
        transcode_segment(b"", DEFAULT_PROFILES, x264)
    assert caught.value.code == "empty_source"


def test_garbage_bytes_are_an_undecodable_source(x264: EncoderChoice) -> None:
    with pytest.raises(UndecodableSource) as caught:
        transcode_segment(bytes(range(256)) * 400, DEFAULT_PROFILES, x264)
    assert caught.value.code == "undecodable_source"


def test_a_ts_of_only_null_packets_is_an_undecodable_source(x264: EncoderChoice) -> None:
    null_packet = b"\x47\x1f\xff\x10" + b"\xff" * (TS_PACKET - 4)
    with pytest.raises(UndecodableSource):
        transcode_segment(null_packet * 2000, DEFAULT_PROFILES, x264)


@pytest.mark.parametrize("keep_parameter_sets", [False, True], ids=["all-corrupt", "slices-corrupt"])
def test_a_ts_whose_video_payload_is_corrupt_is_an_undecodable_source(
    hd_segments: list[Path], x264: EncoderChoice, keep_parameter_sets: bool
) -> None:
    """PAT, PMT, PES headers and audio intact; the H.264 bytes overwritten.

    With everything corrupt the demuxer cannot even probe the stream; with the first video
    packet (SPS, PPS, the IDR's start) kept, the stream opens but no frame decodes.
    """
    data = bytearray(hd_segments[0].read_bytes())
    video_pid = _video_pid(bytes(data))
    first = True
    for offset in range(0, len(data), TS_PACKET):
        pid = ((data[offset + 1] & 0x1F) << 8) | data[offset + 2]
        if pid != video_pid:
            continue
        if first and keep_parameter_sets:
            first = False
            continue
        start = offset + 4
        if data[offset + 3] & 0x20:  # adaptation field
            start += 1 + data[start]
        if data[offset + 1] & 0x40 and start + 9 <= offset + TS_PACKET:  # a PES header starts here
            start += 9 + data[start + 8]
        end = offset + TS_PACKET
        if start < end:
            data[start:end] = bytes((i * 37 + 11) % 251 for i in range(end - start))
    with pytest.raises(UndecodableSource) as caught:
        transcode_segment(bytes(data), DEFAULT_PROFILES, x264)
    assert caught.value.code == "undecodable_source"


def test_a_source_without_video_is_refused(tmp_path: Path, x264: EncoderChoice) -> None:
    import subprocess

    out = tmp_path / "audio.ts"
    subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(bigbuckbunny()), "-t", "1", "-vn", "-c:a", "aac", "-f", "mpegts", str(out)],
        check=True,
    )
    with pytest.raises(NoVideoStream) as caught:
        transcode_segment(out.read_bytes(), DEFAULT_PROFILES, x264)
    assert caught.value.code == "no_video_stream"
    assert isinstance(caught.value, TranscodeError)


def _video_pid(ts: bytes) -> int:
    """Return the PID of the first H.264 elementary stream listed in the PMT."""
    pmt_pid = None
    for offset in range(0, len(ts), TS_PACKET):
        packet = ts[offset : offset + TS_PACKET]
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        if pid == 0 and pmt_pid is None:
            section = packet[5:]
            pmt_pid = ((section[10] & 0x1F) << 8) | section[11]
        elif pid == pmt_pid:
            section = packet[5:]
            length = ((section[1] & 0x0F) << 8) | section[2]
            info = ((section[10] & 0x0F) << 8) | section[11]
            i = 12 + info
            while i < 3 + length - 4:
                kind, es_pid = section[i], ((section[i + 1] & 0x1F) << 8) | section[i + 2]
                if kind == 0x1B:
                    return es_pid
                i += 5 + (((section[i + 3] & 0x0F) << 8) | section[i + 4])
    raise AssertionError("no H.264 stream in the PMT")


def test_an_encoder_that_fails_fails_the_transcode_with_a_typed_error() -> None:
    source = make_segments("240p", n=1)[0].read_bytes()
    broken = EncoderChoice(name="libx264", options={"preset": "no-such-preset"})
    with pytest.raises(TranscodeError) as caught:
        transcode_segment(source, DEFAULT_PROFILES[:1], broken)
    assert caught.value.code == "transcode_failed"


# --- Studio's profile fields in the encode -----------------------------------------------------------

SMALL = {"width": 426, "height": 240, "bitrate": 300_000}
STUDIO_PROFILES = [
    Profile(name="gop1", gop="1", **SMALL),
    Profile(name="intra", gop="intra", **SMALL),
    Profile(name="baseline", profile="H264Baseline", **SMALL),
    Profile(name="main", profile="H264Main", **SMALL),
    Profile(name="high", profile="H264High", **SMALL),
    Profile(name="chigh", profile="H264ConstrainedHigh", **SMALL),
    Profile(name="q10", quality=10, **SMALL),
    Profile(name="q40", quality=40, **SMALL),
    Profile(name="fps7.5", fps=15, fps_den=2, **SMALL),
    Profile(name="fps60", fps=60, **SMALL),
]


@pytest.fixture(scope="module")
def studio_encodes(hd_segments: list[Path]) -> dict[str, dict[str, Any]]:
    """One 2 s 720p25 segment encoded once per Studio field, read back with PyAV."""
    # veryfast, the worker's default: ultrafast would make every profile Constrained Baseline.
    transcoded = transcode_segment(hd_segments[0].read_bytes(), STUDIO_PROFILES, libx264("veryfast"))
    read: dict[str, dict[str, Any]] = {}
    for rendition in transcoded.renditions:
        with av.open(io.BytesIO(rendition.data)) as container:
            video = container.streams.video[0]
            frames = list(container.decode(video))
            read[rendition.profile.name] = {
                "profile": video.codec_context.profile,
                "b_frames": bool(video.codec_context.has_b_frames),
                "rate": video.average_rate,
                "keyframes": [i for i, frame in enumerate(frames) if frame.key_frame],
                "frames": len(frames),
                "bytes": len(rendition.data),
                "rendition": rendition,
            }
    return read


def test_gop_seconds_set_the_keyframe_interval(studio_encodes: dict[str, dict[str, Any]]) -> None:
    assert studio_encodes["gop1"]["keyframes"] == [0, 25]  # 25 fps, a keyframe every second
    assert studio_encodes["high"]["keyframes"] == [0]  # the default: one per 2 s segment


def test_gop_intra_makes_every_frame_a_keyframe(studio_encodes: dict[str, dict[str, Any]]) -> None:
    intra = studio_encodes["intra"]
    assert intra["keyframes"] == list(range(50)) and intra["frames"] == 50


def test_the_h264_profile_is_the_one_asked_for(studio_encodes: dict[str, dict[str, Any]]) -> None:
    assert studio_encodes["baseline"]["profile"] in ("Baseline", "Constrained Baseline")
    assert (studio_encodes["main"]["profile"], studio_encodes["high"]["profile"]) == ("Main", "High")
    # Constrained High: High without B-frames.
    assert (studio_encodes["chigh"]["profile"], studio_encodes["chigh"]["b_frames"]) == ("High", False)
    assert studio_encodes["high"]["b_frames"] and not studio_encodes["baseline"]["b_frames"]
    assert studio_encodes["main"]["rendition"].codecs.startswith("avc1.4d")
    assert studio_encodes["high"]["rendition"].codecs.startswith("avc1.64")


def test_a_higher_quality_number_makes_a_smaller_rendition(studio_encodes: dict[str, dict[str, Any]]) -> None:
    assert studio_encodes["q40"]["bytes"] < studio_encodes["q10"]["bytes"] / 2


def test_fps_over_fps_den_caps_the_frame_rate(studio_encodes: dict[str, dict[str, Any]]) -> None:
    capped = studio_encodes["fps7.5"]
    assert capped["rate"] == Fraction(15, 2) and capped["frames"] == 15  # 2 s at 7.5 fps
    rendition = capped["rendition"]
    assert rendition.duration_ms == pytest.approx(2000, abs=1000 / 7.5)
    assert rendition.first_pts == pytest.approx(studio_encodes["high"]["rendition"].first_pts, abs=1 / 7.5)
    # A cap above the source's 25 fps keeps the source's rate: frames are never invented.
    assert (studio_encodes["fps60"]["rate"], studio_encodes["fps60"]["frames"]) == (25, 50)


def test_studio_fields_map_to_each_encoders_options() -> None:
    profile = Profile(name="p", profile="H264ConstrainedHigh", quality=23, gop="0.5", **SMALL)
    x264 = rendition_options(libx264("veryfast"), profile, Fraction(30))
    assert {k: x264[k] for k in ("g", "profile", "bf", "crf", "maxrate")} == {
        "g": "15",
        "profile": "high",
        "bf": "0",
        "crf": "23",
        "maxrate": "360000",
    }
    gpu = rendition_options(nvenc(), profile, Fraction(30))
    assert {k: gpu[k] for k in ("g", "profile", "bf", "rc", "cq", "b")} == {
        "g": "15",
        "profile": "high",
        "bf": "0",
        "rc": "vbr",
        "cq": "23",
        "b": "0",
    }
    plain = rendition_options(libx264("veryfast"), Profile(name="p", **SMALL), Fraction(25))
    assert plain["g"] == "50" and not {"profile", "bf", "crf"} & set(plain)
    assert rendition_options(nvenc(), Profile(name="p", gop="intra", **SMALL), Fraction(25))["bf"] == "0"
