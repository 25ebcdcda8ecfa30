"""The worker's typed errors: each carries a stable machine-readable code for the result manifest."""

from __future__ import annotations


class TranscodeError(Exception):
    """A segment could not be transcoded; ``code`` is stable, ``message`` is for people.

    ``retry`` is False for a job that would fail the same way every time: it is not delivered again.
    """

    code = "transcode_failed"
    retry = True

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message


class UndecodableSource(TranscodeError):
    """The source bytes are not media we can demux or decode (garbage, corrupt payload)."""

    code = "undecodable_source"


class NoVideoStream(TranscodeError):
    """The source demuxes but has no video stream."""

    code = "no_video_stream"


class EmptySource(TranscodeError):
    """The source is zero bytes long."""

    code = "empty_source"


class SourceUnavailable(TranscodeError):
    """The source could not be downloaded from its presigned URL."""

    code = "source_unavailable"


class SourceTooLarge(TranscodeError):
    """The source is over the worker's size limit (``LP_WORKER_MAX_SOURCE_BYTES``)."""

    code = "source_too_large"


class UrlNotAllowed(TranscodeError):
    """The job names a URL the job URL policy refuses (the scheme, or a host that is not public)."""

    code = "url_not_allowed"


class UploadFailed(TranscodeError):
    """A rendition or the result manifest could not be uploaded to its presigned URL."""

    code = "upload_failed"


class EncoderUnavailable(TranscodeError):
    """No H.264 encoder could be opened."""

    code = "encoder_unavailable"


class PaidPixelsExceeded(TranscodeError):
    """A paid job's source would make far more output pixels than were paid for (a segment longer or faster
    than its job declared): the worker stops at the limit instead of working for free."""

    code = "exceeds_paid_pixels"
    retry = False
