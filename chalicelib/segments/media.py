"""The media bucket: sources, renditions and result manifests, read, written and presigned in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

TS_CONTENT_TYPE = "video/mp2t"
JSON_CONTENT_TYPE = "application/json"
PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
#: S3's longest object key: a longer one (a path parameter of a request, say) names no object.
MAX_S3_KEY_BYTES = 1024


class MediaBucket:
    """One stage's media bucket."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self.name = bucket

    def put(self, key: str, body: bytes, content_type: str = TS_CONTENT_TYPE) -> None:
        """Store ``body`` at ``key``."""
        self._s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)

    def read(self, key: str) -> bytes:
        """Return the object at ``key``."""
        return self._s3.get_object(Bucket=self.name, Key=key)["Body"].read()

    def find(self, key: str) -> bytes | None:
        """Return the object at ``key``, or None when there is none."""
        if len(key.encode("utf-8", "surrogatepass")) > MAX_S3_KEY_BYTES:  # S3 refuses it (KeyTooLongError)
            return None
        try:
            return self.read(key)
        except self._s3.exceptions.NoSuchKey:
            return None

    def presigned_get(self, key: str, ttl_s: int) -> str:
        """Return a URL that GETs ``key`` for ``ttl_s`` seconds without credentials."""
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self.name, "Key": key}, ExpiresIn=ttl_s)

    def presigned_put(self, key: str, ttl_s: int, content_type: str) -> str:
        """Return a URL that PUTs ``key`` (with exactly ``content_type``) for ``ttl_s`` seconds."""
        params = {"Bucket": self.name, "Key": key, "ContentType": content_type}
        return self._s3.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl_s)
