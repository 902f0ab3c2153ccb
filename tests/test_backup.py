"""Backup and restore: a populated installation round-trips row for row and byte for byte,
on SQLite and PostgreSQL, with its media in a folder or in an S3 bucket (moto's server: the archive then
holds every object of the prefix with its checksum); a damaged archive or a non-empty installation is
refused and nothing changes."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from fivs import create_app
from fivs.actions.models import CorrectiveAction
from fivs.audits.services import reopen_audit, save_answers, submit_audit
from fivs.auth.services import issue_token
from fivs.extensions import db
from fivs.photos.models import Photo
from fivs.photos.files import get_storage
from tests.conftest import make_media
from tests.factories import answer_all, make_audit, make_site, make_user

pytestmark = pytest.mark.media_backends(postgresql=True)  # the folder and S3 (moto)


@pytest.fixture(scope="module")
def new_database(backend, tmp_path_factory):
    """new_database() -> the URL of a new, empty database (dropped after the module's tests)."""
    tmp_path = tmp_path_factory.mktemp("databases")
    created: list[str] = []
    base = os.environ.get("TEST_DATABASE_URL")
    admin = create_engine(base, isolation_level="AUTOCOMMIT") if backend == "postgresql" else None

    def _new() -> str:
        name = f"fivs_bak_{uuid.uuid4().hex[:10]}"
        if admin is None:
            return f"sqlite:///{tmp_path / name}.sqlite3"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return base.rsplit("/", 1)[0] + "/" + name

    yield _new
    if admin is not None:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Installation:
    """An app on its own database and media store (a folder or an S3 prefix), migrated to the current
    schema (`flask db upgrade`)."""

    def __init__(self, url: str, store):
        self.store = store
        self.app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                               "RATELIMIT_ENABLED": True, **store.config})
        with self.app.app_context():
            upgrade()
            db.engine.dispose()

    def cli(self, *args: str):
        return self.app.test_cli_runner().invoke(args=list(args))

    def rows(self) -> dict[str, list[tuple]]:
        with self.app.app_context(), db.engine.connect() as conn:
            out = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                   for t in db.metadata.sorted_tables}
            out["alembic_version"] = [tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
        return out

    def files(self) -> dict[str, bytes]:
        return {key: self.store.read(key) for key in self.store.files()}

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture
def installation(new_database, tmp_path, media_backend, request):
    made: list[Installation] = []

    def _make(name: str) -> Installation:
        made.append(Installation(new_database(), make_media(media_backend, request, tmp_path / name)))
        return made[-1]

    yield _make
    for inst in made:
        inst.close()


def _populate(inst: Installation) -> None:
    from fivs.commands import _load_checklists

    with inst.app.app_context():
        _load_checklists(inst.app.config["CHECKLISTS_DIR"])
        site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
        clinic = make_site("clinic", code="BG-TYT01", name="Trạm Y tế xã Dương Hưu")
        consultant = make_user("consultant", assigned=[site, clinic], full_name="Nguyễn Thị Hằng")
        reviewer = make_user("reviewer")
        make_user("principal", site=site)
        issue_token(consultant, "Máy tính bảng 1")
        audit = make_audit(site, consultant, rooms=("Lớp 1A", "Lớp 3A"))
        answer_all(audit, lambda item: len(item.code) % 5)
        submit_audit(audit, consultant)
        reopen_audit(audit, reviewer, "Chấm lại phòng Lớp 3A")
        item = next(i for i in audit.template.items if not i.zone.repeats)
        save_answers(audit, consultant, [{"item": item.code, "score": 4, "note": "Đã sắp xếp <gọn gàng>"}],
                     row_version=audit.row_version)
        storage = get_storage()
        photo_uuid = uuid.uuid4()
        keys = {v: storage.key_for(site.code, str(audit.uuid), str(photo_uuid), v) for v in ("display", "thumb")}
        for variant, key in keys.items():
            storage.put(key, os.urandom(40_000 if variant == "display" else 4_000), "image/jpeg")
        storage.put("BG-TYT01/extra.bin", b"\x00\xff" * 100, "application/octet-stream")
        db.session.add(Photo(uuid=photo_uuid, audit_id=audit.id, site_id=site.id, item_id=item.id,
                             room="", sha256="ab" * 32, captured_at=datetime(2023, 5, 10, 9, 15),
                             width=2000, height=1500, thumb_width=320, thumb_height=240, source_format="JPEG",
                             display_key=keys["display"], thumb_key=keys["thumb"], caption="Góc học tập",
                             uploaded_by_id=consultant.id))
        db.session.add(CorrectiveAction(uuid=uuid.uuid4(), site_id=site.id, audit_id=audit.id, item_id=item.id,
                                        title="Dán nhãn tủ đồ dùng", due_date=date(2023, 6, 1),
                                        created_by_id=consultant.id,
                                        created_at=datetime(2023, 5, 11, 3, 0, tzinfo=timezone.utc)))
        db.session.commit()


@pytest.fixture(scope="module")
def source(new_database, tmp_path_factory, media_backend, request):
    """A populated installation and a backup archive made from it with the CLI (tests only read them)."""
    tmp_path = tmp_path_factory.mktemp("source")
    inst = Installation(new_database(), make_media(media_backend, request, tmp_path / "media"))
    _populate(inst)
    archive = tmp_path / "fivs-backup.tar.gz"
    result = inst.cli("backup", str(archive))
    assert result.exit_code == 0, result.stderr
    assert "3 media files" in result.stdout
    yield inst, archive
    inst.close()


def test_round_trip_restores_every_row_and_every_file(source, installation):
    src, archive = source
    expected_rows, expected_files = src.rows(), src.files()
    for table in ("sites", "users", "api_tokens", "audits", "answers", "events", "photos", "corrective_actions",
                  "checklist_items", "alembic_version"):
        assert expected_rows[table], f"nothing in {table}: the round trip would prove little"
    assert len(expected_files) == 3

    target = installation("target")
    result = target.cli("restore", str(archive))
    assert result.exit_code == 0, result.stderr
    assert target.rows() == expected_rows
    assert target.files() == expected_files
    assert {k: target.store.content_type(k) for k in expected_files} == {  # objects keep their content type
        k: "image/jpeg" if k.endswith(".jpg") else "application/octet-stream" for k in expected_files}
    with target.app.app_context():  # sequences came along: new rows get fresh ids
        site = make_site(code="BG-NEW")
        db.session.commit()
        assert site.id > max(r[0] for r in expected_rows["sites"])


def test_manifest_lists_every_file_with_its_checksum(source):
    src, archive = source
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["files"] == {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    assert manifest["schema_revision"] == src.rows()["alembic_version"][0][0]
    assert manifest["format"] == 1 and manifest["app"] == "fivs"
    assert manifest["media_backend"] == src.store.kind
    assert datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert {n for n in members if n.startswith("media/")} == {"media/" + k for k in src.files()}


def test_backup_never_overwrites_an_existing_file(source):
    src, archive = source
    before = archive.read_bytes()
    result = src.cli("backup", str(archive))
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert archive.read_bytes() == before


def _rewrite(archive: Path, out: Path, change) -> None:
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}
    manifest = json.loads(members.pop("manifest.json"))
    change(members, manifest)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _media(members) -> str:
    return next(n for n in members if n.startswith("media/"))


def _database(members) -> str:
    return next(n for n in members if n.startswith("database."))


def _listed(members, manifest, name, data):
    members[name] = data
    manifest["files"][name] = hashlib.sha256(data).hexdigest()


def _other_database(members, manifest):
    old = _database(members)
    other = "sqlite" if manifest["database"] == "postgresql" else "postgresql"
    new = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}[other]
    members[new] = members.pop(old)
    manifest["files"][new] = manifest["files"].pop(old)
    manifest["database"] = other


DAMAGE = {
    # Flip every bit of the first byte: always a change (the files are random bytes, so writing a
    # fixed byte left one file in 256 unchanged).
    "media file changed": (lambda m, f: m.update({_media(m): bytes([m[_media(m)][0] ^ 0xFF]) + m[_media(m)][1:]}),
                           "Checksum mismatch"),
    "database changed": (lambda m, f: m.update({_database(m): m[_database(m)][:-1] + bytes([m[_database(m)][-1] ^ 0xFF])}),
                         "Checksum mismatch"),
    "file not in the manifest": (lambda m, f: m.update({"media/BG-TH01/new.jpg": b"new"}), "does not match"),
    "file missing": (lambda m, f: m.pop(_media(m)), "does not match"),
    "path escapes the media folder": (lambda m, f: _listed(m, f, "media/../../evil.sh", b"rm -rf"), "bad name"),
    "unknown entry": (lambda m, f: _listed(m, f, "notes.txt", b"hello"), "Unexpected"),
    "not a fivs manifest": (lambda m, f: f.update({"app": "other"}), "not a fivs backup"),
    "newer format": (lambda m, f: f.update({"format": 99}), "not supported"),
    "other kind of database": (_other_database, "this installation uses"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_archive_is_refused_and_nothing_changes(source, installation, tmp_path, damage):
    src, archive = source
    change, message = DAMAGE[damage]
    bad = tmp_path / "bad.tar.gz"
    _rewrite(archive, bad, change)
    target = installation("target")
    rows, files = target.rows(), target.files()
    result = target.cli("restore", str(bad))
    assert result.exit_code == 1
    assert message in result.stderr
    assert target.rows() == rows and target.files() == files == {}


@pytest.mark.parametrize("content", [b"", b"not a tar file at all", None])
def test_unreadable_archive_is_refused(source, installation, tmp_path, content):
    src, archive = source
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(archive.read_bytes()[: len(archive.read_bytes()) // 2] if content is None else content)
    target = installation("target")
    rows = target.rows()
    result = target.cli("restore", str(bad))
    assert result.exit_code == 1
    assert "not a readable backup archive" in result.stderr or "not a fivs backup" in result.stderr
    assert target.rows() == rows and target.files() == {}


@pytest.mark.parametrize("holds", ["rows", "media"])
def test_restore_into_a_non_empty_installation_is_refused_unless_forced(source, installation, holds):
    src, archive = source
    target = installation("target")
    with target.app.app_context():
        if holds == "rows":
            make_site(code="BG-OTHER", name="Đã có dữ liệu")
            db.session.commit()
        else:
            get_storage().put("BG-OTHER/old.jpg", b"old photo")
    rows, files = target.rows(), target.files()
    result = target.cli("restore", str(archive))
    assert result.exit_code == 1
    assert "empty installation" in result.stderr and ("sites" if holds == "rows" else "media files") in result.stderr
    assert target.rows() == rows and target.files() == files

    result = target.cli("restore", "--force", str(archive))
    assert result.exit_code == 0, result.stderr
    assert target.rows() == src.rows()
    assert target.files() == {**files, **src.files()}  # --force overwrites; it never deletes media

