"""Where photo derivatives live. Every read and write of media goes through a backend here.

Keys are relative, slash-separated names such as ``"BG-TH01/<audit uuid>/<photo uuid>-display.jpg"``.
Two backends implement the ``Storage`` protocol, chosen by FIVS_MEDIA_URL (``open_storage``):

- ``FileStorage``: files under a root folder (the default, FIVS_MEDIA_ROOT). A write made
  inside a transaction is staged in ``root/.tmp`` and renamed into place when it commits.
- ``S3Storage`` (fivs.photos.s3storage): objects in an S3-compatible bucket under a prefix.
  A write made inside a transaction is PUT under its key at once (so every committed row has
  its object) and DELETEd if the transaction rolls back; a crash in between leaves an object
  no row names, which ``flask --app wsgi media sweep`` reports and removes.

``prepare(key, data, content_type)`` returns a ``PendingWrite`` whose ``commit()`` and
``discard()`` fivs.photos.files calls when the transaction ends. Views never build paths;
reports get bytes, not paths.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["FileStorage", "InvalidKeyError", "MediaObject", "PendingWrite", "StagedFile", "Storage", "StorageError",
           "VARIANTS", "check_key"]

VARIANTS = frozenset({"display", "thumb"})

# One path segment: letters, digits, "_", "." and "-", not starting with a dot (so no
# "..", no hidden files, and never the ".tmp" staging folder).
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
_TMP_DIR = ".tmp"


class StorageError(OSError):
    """The media store refused a read or write, or could not be reached (not a missing key): the
    request answers 503 and keeps nothing of its own (fivs.errors), and a tablet sends again later."""


class InvalidKeyError(ValueError):
    """A key or key part that could escape the storage root or is not ours."""


@dataclass(frozen=True)
class StagedFile:
    """Bytes written and flushed to disk but not yet visible under any key."""

    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class MediaObject:
    """A stored object read for serving: its bytes, strong ETag (unquoted) and content type."""

    data: bytes
    etag: str
    content_type: str


class PendingWrite(Protocol):
    """A write made inside a transaction: `commit()` when it commits, `discard()` when it does not."""

    def commit(self) -> None: ...
    def discard(self) -> None: ...


class Storage(Protocol):
    """What the app needs of a media backend. Missing keys raise FileNotFoundError; keys that could
    escape the root or prefix raise InvalidKeyError."""

    description: str  # for messages: the folder or s3://bucket/prefix

    def key_for(self, site_code: str, audit_uuid: str, photo_uuid: str, variant: str) -> str: ...
    def prepare(self, key: str, data: bytes, content_type: str = "image/jpeg") -> PendingWrite: ...
    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> None: ...
    def read(self, key: str) -> bytes: ...
    def fetch(self, key: str) -> MediaObject: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def size(self, key: str) -> int: ...
    def iter_keys(self) -> Iterator[str]: ...
    def iter_objects(self) -> Iterator[tuple[str, float]]: ...  # (key, last modified as a Unix time)
    def etag(self, key: str) -> str: ...
    def purge_staged(self, older_than_seconds: float = 3600) -> int: ...


def content_type_for(key: str) -> str:
    """The content type an object is stored with, from its name (derivatives are JPEGs)."""
    return "image/jpeg" if key.endswith(".jpg") else "application/octet-stream"


def check_key(key: str) -> list[str]:
    """The key's segments, each checked (InvalidKeyError when one could escape or is not ours)."""
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("A storage key must be a non-empty string.")
    parts = key.split("/")
    for part in parts:
        _check_segment(part)
    return parts


def make_key(site_code: str, audit_uuid: str, photo_uuid: str, variant: str) -> str:
    """The key of a photo derivative: site / audit folder / photo-variant.jpg (the same in every backend)."""
    if variant not in VARIANTS:
        raise InvalidKeyError(f"Unknown photo variant {variant!r}.")
    for part in (site_code, audit_uuid, photo_uuid):
        _check_segment(part)
    return f"{site_code}/{audit_uuid}/{photo_uuid}-{variant}.jpg"


@dataclass(frozen=True)
class _StagedMove:
    """A FileStorage write inside a transaction: a staged file renamed to its key on commit."""

    storage: "FileStorage"
    staged: StagedFile
    key: str

    def commit(self) -> None:
        self.storage.commit(self.staged, self.key)

    def discard(self) -> None:
        self.storage.discard(self.staged)


class FileStorage:
    """Files under ``root``; staging files in ``root/.tmp`` so commit is an atomic rename."""

    kind = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        self._tmp = self.root / _TMP_DIR
        self.description = str(self.root)

    # ------------------------------------------------------------------ keys

    def key_for(self, site_code: str, audit_uuid: str, photo_uuid: str, variant: str) -> str:
        return make_key(site_code, audit_uuid, photo_uuid, variant)

    def path(self, key: str) -> Path:
        """Filesystem path of a key (this backend only)."""
        return self.root.joinpath(*check_key(key))

    # ------------------------------------------------------------------ writing

    def prepare(self, key: str, data: bytes, content_type: str = "image/jpeg") -> _StagedMove:
        """Stage `data`; it appears under `key` when the returned write is committed."""
        self.path(key)  # refuse a bad key before writing anything
        return _StagedMove(self, self.stage(data), key)

    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """Write `data` under `key` now (stage, then atomic rename)."""
        self.path(key)  # refuse a bad key before writing anything
        self.commit(self.stage(data), key)

    def stage(self, data: bytes) -> StagedFile:
        """Write ``data`` to a new temporary file inside the root and fsync it (a full or read-only
        disk is a StorageError)."""
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self._tmp, suffix=".part")
        except OSError as exc:
            raise StorageError(f"media folder not writable: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), 0o644)
                os.fsync(handle.fileno())
        except OSError as exc:
            Path(name).unlink(missing_ok=True)
            raise StorageError(f"media folder not writable: {exc}") from exc
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return StagedFile(Path(name), len(data), hashlib.sha256(data).hexdigest())

    def commit(self, staged: StagedFile, key: str) -> None:
        """Atomically move a staged file to ``key`` (replacing any file already there)."""
        self._check_staged(staged)
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        _fsync_dir(target.parent)

    def discard(self, staged: StagedFile) -> None:
        """Remove a staged file; quietly does nothing if it is already gone."""
        self._check_staged(staged)
        try:
            staged.path.unlink(missing_ok=True)
        except OSError:
            pass

    def delete(self, key: str) -> None:
        """Remove a committed file; no error if it does not exist."""
        self.path(key).unlink(missing_ok=True)

    def purge_staged(self, older_than_seconds: float = 3600) -> int:
        """Remove staging files left behind by crashed requests; returns how many."""
        if not self._tmp.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in self._tmp.iterdir():
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def _check_staged(self, staged: StagedFile) -> None:
        if staged.path.parent != self._tmp:
            raise InvalidKeyError("That staged file does not belong to this storage.")

    # ------------------------------------------------------------------ reading

    def open(self, key: str) -> BinaryIO:
        """Open for reading in binary mode. Raises FileNotFoundError if missing."""
        return self.path(key).open("rb")

    def read(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def fetch(self, key: str) -> MediaObject:
        """The bytes, ETag and content type of a key, for serving."""
        return MediaObject(self.read(key), self.etag(key), content_type_for(key))

    def iter_objects(self) -> Iterator[tuple[str, float]]:
        """(key, modification time) of every committed file."""
        for key in self.iter_keys():
            try:
                yield key, self.path(key).stat().st_mtime
            except FileNotFoundError:
                continue

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def iter_keys(self) -> Iterator[str]:
        """Every committed file, sorted, skipping staging files and anything hidden."""
        if not self.root.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if _SEGMENT.fullmatch(d))
            rel = Path(dirpath).relative_to(self.root).parts
            for name in sorted(filenames):
                if _SEGMENT.fullmatch(name):
                    yield "/".join((*rel, name))

    def etag(self, key: str) -> str:
        """Strong ETag (unquoted, for ``Response.set_etag``): SHA-256 of the content,
        cached per (inode, size, mtime) so repeated requests do not re-read the file."""
        path = self.path(key)
        stat = path.stat()
        return _file_digest(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _check_segment(part: str) -> None:
    if not isinstance(part, str) or not _SEGMENT.fullmatch(part):
        raise InvalidKeyError(
            f"Invalid storage key part {part!r}: use letters, digits, '_', '.' and '-', "
            "not starting with a dot."
        )


@lru_cache(maxsize=4096)
def _file_digest(path: str, inode: int, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); harmless no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
