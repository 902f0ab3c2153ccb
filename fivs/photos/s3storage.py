"""Photo derivatives as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage...).

Chosen by FIVS_MEDIA_URL=s3://BUCKET/PREFIX; FIVS_S3_ENDPOINT_URL names a service other than AWS
(then keys are addressed path-style, as MinIO and Ceph expect). Credentials and region come the
standard boto3 way (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, or an instance
role). Keys are the same as FileStorage's, under PREFIX/. The bucket must exist.

A write inside a transaction is PUT at once, so a committed row always has its object; when the
transaction rolls back the object is deleted again (fivs.photos.files). A process that dies in
between leaves an object no row names: `flask --app wsgi media sweep` finds and removes those.
Not-found answers become FileNotFoundError; any other failure a StorageError (an OSError), so the
callers handle both backends alike.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from fivs.photos.storage import MediaObject, StorageError, check_key, content_type_for, make_key

__all__ = ["S3Storage", "StorageError", "parse_s3_url"]

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """("bucket", "prefix") of s3://bucket/prefix (the prefix may be empty; no slashes at its ends)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"FIVS_MEDIA_URL must look like s3://BUCKET/PREFIX, not {url!r}.")
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix)
    return parts.netloc, prefix


@dataclass(frozen=True)
class _PutNow:
    """An object PUT inside a transaction: kept when it commits, deleted when it does not."""

    storage: S3Storage
    key: str

    def commit(self) -> None:
        pass

    def discard(self) -> None:
        self.storage.delete(self.key)


class S3Storage:
    """Objects under `prefix/` in `bucket`; one boto3 client per app (clients are thread-safe)."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, client=None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}"
        self.client = client or _client(endpoint_url or None)

    # ------------------------------------------------------------------ keys
    def key_for(self, site_code: str, audit_uuid: str, photo_uuid: str, variant: str) -> str:
        return make_key(site_code, audit_uuid, photo_uuid, variant)

    def object_name(self, key: str) -> str:
        """The bucket's name for a key: PREFIX/key."""
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    # ------------------------------------------------------------------ writing
    def prepare(self, key: str, data: bytes, content_type: str = "image/jpeg") -> _PutNow:
        self.put(key, data, content_type)
        return _PutNow(self, key)

    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> None:
        name = self.object_name(key)
        with _errors(key):
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=content_type)

    def delete(self, key: str) -> None:
        """Remove an object; no error if it does not exist (as S3 itself)."""
        name = self.object_name(key)
        with _errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def purge_staged(self, older_than_seconds: float = 3600) -> int:
        """Nothing is staged here (writes are PUT at once; orphans are the sweep's)."""
        return 0

    # ------------------------------------------------------------------ reading
    def read(self, key: str) -> bytes:
        return self.fetch(key).data

    def fetch(self, key: str) -> MediaObject:
        name = self.object_name(key)
        with _errors(key):
            answer = self.client.get_object(Bucket=self.bucket, Key=name)
            data = answer["Body"].read()
        return MediaObject(data, answer["ETag"].strip('"'), answer.get("ContentType") or content_type_for(key))

    def _head(self, key: str) -> dict:
        name = self.object_name(key)
        with _errors(key):
            return self.client.head_object(Bucket=self.bucket, Key=name)

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def etag(self, key: str) -> str:
        """The object's ETag (for a plain PUT, the MD5 of its bytes), unquoted."""
        return self._head(key)["ETag"].strip('"')

    def content_type(self, key: str) -> str:
        return self._head(key).get("ContentType", "")

    def iter_objects(self) -> Iterator[tuple[str, float]]:
        """(key, last modified) of every object under the prefix, sorted by key; names that are not
        keys of ours (another tool's files, a folder marker) are skipped."""
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
        with _errors(self.description):
            for page in pages:
                for entry in page.get("Contents", []):
                    key = entry["Key"][len(start):]
                    try:
                        check_key(key)
                    except ValueError:
                        continue
                    yield key, entry["LastModified"].timestamp()

    def iter_keys(self) -> Iterator[str]:
        for key, _modified in self.iter_objects():
            yield key


@lru_cache(maxsize=8)
def _client(endpoint_url: str | None):
    """One client per endpoint and process (made on first use; botocore clients are thread-safe and
    loading the service model for each app would cost a fraction of a second)."""
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url,
        config=Config(s3={"addressing_style": "path" if endpoint_url else "auto"},
                      retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30))


class _errors:
    """Turn botocore's answers into FileNotFoundError (missing) or StorageError (anything else)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            if str(error.get("Code")) in _NOT_FOUND:
                raise FileNotFoundError(self.key) from None
            raise StorageError(f"object store refused {self.key!r}: {error.get('Code')} {error.get('Message', '')}") \
                from exc
        if isinstance(exc, BotoCoreError):
            raise StorageError(f"object store unreachable for {self.key!r}: {exc}") from exc
        return False
