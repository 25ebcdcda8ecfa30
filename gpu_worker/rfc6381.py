"""RFC 6381 ``CODECS`` strings read from the bitstream: ``avc1.PPCCLL`` from an H.264 SPS, ``mp4a.40.N``
from an AAC ADTS header or AudioSpecificConfig (what an HLS master playlist advertises)."""

from __future__ import annotations

AAC_LC = "mp4a.40.2"
_H264_SPS = 7


def _annexb_nal_units(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream (start codes 00 00 01 / 00 00 00 01) into NAL units."""
    units: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt == -1 else nxt
        units.append(data[begin:end].rstrip(b"\x00"))
        start = nxt
    return units


def avc1_from_annexb(data: bytes) -> str | None:
    """Return ``avc1.PPCCLL`` (profile_idc, constraint flags, level_idc) from the first SPS, if any."""
    for nal in _annexb_nal_units(data):
        if len(nal) >= 4 and nal[0] & 0x1F == _H264_SPS:
            return f"avc1.{nal[1]:02x}{nal[2]:02x}{nal[3]:02x}"
    return None


def avc1_from_avcc(extradata: bytes) -> str | None:
    """Return ``avc1.PPCCLL`` from an AVCDecoderConfigurationRecord (MP4 ``avcC`` extradata)."""
    if len(extradata) >= 4 and extradata[0] == 1:
        return f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"
    return None


def mp4a_from_adts(data: bytes) -> str | None:
    """Return ``mp4a.40.<audio object type>`` from an ADTS header (AOT = profile + 1)."""
    if len(data) >= 7 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:
        return f"mp4a.40.{(data[2] >> 6) + 1}"
    return None


def mp4a_from_asc(extradata: bytes) -> str | None:
    """Return ``mp4a.40.<audio object type>`` from an AudioSpecificConfig (extradata)."""
    if not extradata:
        return None
    aot = extradata[0] >> 3
    if aot == 31 and len(extradata) >= 2:  # escape: 6 more bits
        aot = 32 + (((extradata[0] & 0x07) << 3) | (extradata[1] >> 5))
    return f"mp4a.40.{aot}" if aot else None


# Audio codecs a TS source may carry besides AAC, by FFmpeg codec name (RFC 6381 / MP4 registry
# object type indications, as hls.js and Safari read them).
_AUDIO_BY_NAME = {"mp3": "mp4a.40.34", "mp2": "mp4a.69", "ac3": "ac-3", "eac3": "ec-3", "opus": "opus"}


def audio_codecs_for(codec_name: str) -> str | None:
    """Return the CODECS string of a non-AAC audio codec known by its FFmpeg name, if any."""
    return _AUDIO_BY_NAME.get(codec_name)
