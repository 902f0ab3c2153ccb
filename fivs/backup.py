"""Backup and restore of a whole installation: the database and the media files, in one archive.

The archive is a tar.gz holding
    manifest.json       format, schema revision (Alembic), database kind, creation time,
                        and the SHA-256 of every other file in the archive
    database.sqlite3    SQLite: a copy made with the online backup API (consistent while the app runs)
    database.pgdump     PostgreSQL: `pg_dump --format=custom` (one consistent snapshot)
    media/<key>         every media file or object, read through the app's storage backend (the folder
                        or the S3 bucket of FIVS_MEDIA_URL: the archive is the same either way, so a
                        folder's backup restores into a bucket and the reverse)

The database is copied first and the media after, so every photo row in the snapshot has its file
(photo files are moved into place right after their rows commit). A restore goes into an empty installation only
(unless forced) and checks every checksum before it writes anything.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect, literal_column, select, table

from fivs.extensions import db
from fivs.photos.files import get_storage
from fivs.photos.storage import InvalidKeyError, Storage, check_key, content_type_for
from fivs.timeutil import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
MEDIA_PREFIX = "media/"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why (nothing was changed)."""


def _dialect() -> str:
    name = db.engine.url.get_backend_name()
    if name not in DATABASE_MEMBERS:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {name}.")
    return name


# ---------------------------------------------------------------- backup
def create_backup(path: str | os.PathLike) -> dict:
    """Write the archive to `path` (which must not exist yet); returns the manifest."""
    target = Path(path)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name.")
    dialect = _dialect()
    checksums: dict[str, str] = {}
    partial = target.with_name(target.name + ".part")
    with tempfile.TemporaryDirectory() as tmp:
        revision = _schema_revision()
        snapshot = Path(tmp) / DATABASE_MEMBERS[dialect]
        (_sqlite_snapshot if dialect == "sqlite" else _pg_dump)(snapshot)
        storage = get_storage()
        try:
            with tarfile.open(partial, "w:gz") as tar:
                with snapshot.open("rb") as fh:
                    checksums[snapshot.name] = hashlib.file_digest(fh, "sha256").hexdigest()
                tar.add(snapshot, arcname=snapshot.name)
                for key in storage.iter_keys():
                    try:
                        data = storage.read(key)
                    except FileNotFoundError:  # deleted (a photo removed) since it was listed
                        continue
                    _add(tar, MEDIA_PREFIX + key, data, checksums)
                manifest = {"format": FORMAT, "app": "fivs", "created_at": utcnow().isoformat(),
                            "schema_revision": revision, "database": dialect, "media_backend": storage.kind,
                            "media_files": len(checksums) - 1, "files": checksums}
                _add(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode(), {})
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _add(tar: tarfile.TarFile, name: str, data: bytes, checksums: dict[str, str]) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))
    checksums[name] = hashlib.sha256(data).hexdigest()


def _schema_revision() -> str | None:
    if not inspect(db.engine).has_table("alembic_version"):
        return None
    with db.engine.connect() as conn:
        return conn.execute(select(literal_column("version_num")).select_from(table("alembic_version"))).scalar()


def _sqlite_file() -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up or restored.")
    return Path(name)


def _sqlite_snapshot(dst: Path) -> None:
    source = _sqlite_file()
    if not source.is_file():
        raise BackupError(f"The database file {source} does not exist.")
    with _sqlite(source) as src, _sqlite(dst) as out:
        src.backup(out)


def _sqlite(path: Path):
    return closing(sqlite3.connect(path, timeout=30))


def _libpq() -> tuple[str, dict]:
    """The database URL for pg_dump/pg_restore (no SQLAlchemy driver part; password in the environment)."""
    url = db.engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(tool: str, *args: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed; install the PostgreSQL client tools.")
    dsn, env = _libpq()
    result = subprocess.run([tool, *args, f"--dbname={dsn}"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[-2000:]}")


def _pg_dump(dst: Path) -> None:
    _run("pg_dump", "--format=custom", f"--file={dst}")


# ---------------------------------------------------------------- restore
def restore_backup(path: str | os.PathLike, *, force: bool = False) -> dict:
    """Restore an archive into this installation; returns its manifest.

    Refuses (BackupError, nothing changed) when a checksum does not match, the archive is not a fivs
    backup or is for the other kind of database, or, unless `force`, the database or media folder
    already holds data.
    """
    dialect = _dialect()
    storage = get_storage()
    with tempfile.TemporaryDirectory() as tmp:
        manifest, files = _unpack_and_verify(Path(path), Path(tmp))
        if manifest["database"] != dialect:
            raise BackupError(f"This archive holds a {manifest['database']} database; "
                              f"this installation uses {dialect}.")
        media = {name[len(MEDIA_PREFIX):]: file for name, file in files.items() if name.startswith(MEDIA_PREFIX)}
        for key in media:
            try:
                check_key(key)
            except InvalidKeyError as exc:
                raise BackupError(f"The archive holds a media file with a bad name: {exc}") from None
        if not force:
            _ensure_empty(storage)
        db.session.remove()
        db.engine.dispose()
        snapshot = files[DATABASE_MEMBERS[dialect]]
        if dialect == "sqlite":
            _sqlite_restore(snapshot)
        else:
            _run("pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists",
                 "--single-transaction", "--exit-on-error", str(snapshot))
        for key, file in media.items():
            storage.put(key, file.read_bytes(), content_type_for(key))
    return manifest


def _unpack_and_verify(path: Path, tmp: Path) -> tuple[dict, dict[str, Path]]:
    """Copy every member to `tmp` (never under its own name) and check it against the manifest."""
    files: dict[str, Path] = {}
    digests: dict[str, str] = {}
    manifest_bytes = None
    try:
        with tarfile.open(path, "r:gz") as tar:
            for number, member in enumerate(tar):
                duplicate = member.name in files or (member.name == MANIFEST and manifest_bytes is not None)
                if not member.isfile() or duplicate:
                    raise BackupError(f"Unexpected entry {member.name!r} in the archive.")
                source = tar.extractfile(member)
                if member.name == MANIFEST:
                    manifest_bytes = source.read()
                    continue
                files[member.name] = tmp / str(number)
                digests[member.name] = _copy_hashing(source, files[member.name])
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{path} is not a readable backup archive ({exc}).") from None
    manifest = _parse_manifest(manifest_bytes)
    expected = manifest["files"]
    if set(expected) != set(digests):
        missing, extra = sorted(set(expected) - set(digests)), sorted(set(digests) - set(expected))
        raise BackupError(f"The archive does not match its manifest (missing: {missing[:5]}, "
                          f"not listed: {extra[:5]}).")
    bad = sorted(name for name, digest in digests.items() if expected[name] != digest)
    if bad:
        raise BackupError(f"Checksum mismatch, the archive is damaged: {', '.join(bad[:5])}. Nothing was restored.")
    database = DATABASE_MEMBERS[manifest["database"]]
    if database not in files:
        raise BackupError("The archive holds no database snapshot.")
    unexpected = sorted(n for n in files if n != database and not n.startswith(MEDIA_PREFIX))
    if unexpected:
        raise BackupError(f"Unexpected entries in the archive: {', '.join(unexpected[:5])}.")
    return manifest, files


def _copy_hashing(source, dst: Path) -> str:
    digest = hashlib.sha256()
    with dst.open("wb") as out:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _parse_manifest(data: bytes | None) -> dict:
    try:
        manifest = json.loads(data) if data is not None else None
    except ValueError:
        manifest = None
    if not (isinstance(manifest, dict) and manifest.get("app") == "fivs"
            and isinstance(manifest.get("files"), dict) and manifest.get("database") in DATABASE_MEMBERS):
        raise BackupError("This is not a fivs backup: its manifest is missing or unreadable.")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Backup format {manifest.get('format')!r} is not supported (expected {FORMAT}).")
    return manifest


def _ensure_empty(storage: Storage) -> None:
    tables = _tables_with_rows()
    has_media = next(iter(storage.iter_keys()), None) is not None
    if tables or has_media:
        found = (["database tables: " + ", ".join(tables)] if tables else []) + (
            ["media files"] if has_media else [])
        raise BackupError("Restore goes into an empty installation, but this one holds "
                          f"{' and '.join(found)}. Use --force to overwrite.")


def _tables_with_rows() -> list[str]:
    names = [n for n in inspect(db.engine).get_table_names() if n != "alembic_version"]
    with db.engine.connect() as conn:
        return [n for n in sorted(names)
                if conn.execute(select(literal_column("1")).select_from(table(n)).limit(1)).first()]


def _sqlite_restore(snapshot: Path) -> None:
    target = _sqlite_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _sqlite(snapshot) as src, _sqlite(target) as out:
        src.backup(out)
