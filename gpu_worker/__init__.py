"""The transcoding worker: pulls segment jobs from an orchestrator's SQS queue, transcodes them with
PyAV (NVENC when a GPU has it, libx264 otherwise) and writes renditions and a result manifest to S3.

Modules: ``encoders`` (which H.264 encoder), ``transcode`` (one segment to a ladder, pure),
``rendition`` (one rendition's encoder thread), ``jobs`` (one job over presigned URLs), ``worker``
(the SQS loop), ``settings``, ``errors``, ``rfc6381`` (CODECS strings).
"""
