"""The media storage interface on both backends (the folder, and S3 through moto's server): the same
contract for writes, reads, ETags, content types, bad keys and missing keys; the S3 prefix keeps to
itself; an unreachable store is an OSError; and `flask --app wsgi media sweep` reports and removes
what a crash between an upload's write and its commit leaves behind."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from fivs.photos import services
from fivs.photos.files import get_storage, open_storage
from fivs.photos.models import Photo
from fivs.photos.s3storage import S3Storage, StorageError, parse_s3_url
from fivs.photos.storage import InvalidKeyError
from tests.conftest import PHOTOS, free_port
from tests.factories import make_audit, make_site, make_user

pytestmark = pytest.mark.media_backends

KEY = "BG-TH01/audit-1/photo-1-display.jpg"
JPEG = (PHOTOS / "orientation" / "Landscape_6.jpg").read_bytes() if PHOTOS.is_dir() else b"\xff\xd8\xff"


def test_the_app_uses_the_configured_backend(app, media):
    storage = get_storage()
    assert storage.kind == media.kind
    if media.kind == "s3":
        assert storage.description == media.config["MEDIA_URL"]


def test_write_read_and_delete_through_the_backend(app, media):
    storage = get_storage()
    assert list(storage.iter_keys()) == []
    storage.put(KEY, JPEG, "image/jpeg")
    storage.put("BG-TH01/audit-1/data.bin", b"\x00\x01", "application/octet-stream")
    assert media.files() == sorted([KEY, "BG-TH01/audit-1/data.bin"])
    assert media.read(KEY) == storage.read(KEY) == JPEG
    assert media.content_type(KEY) == "image/jpeg"
    fetched = storage.fetch(KEY)
    assert (fetched.data, fetched.content_type) == (JPEG, "image/jpeg")
    assert fetched.etag == storage.etag(KEY) and fetched.etag
    assert storage.exists(KEY) and storage.size(KEY) == len(JPEG)
    assert list(storage.iter_keys()) == sorted([KEY, "BG-TH01/audit-1/data.bin"])
    assert [k for k, _t in storage.iter_objects()] == list(storage.iter_keys())

    storage.put(KEY, b"other bytes")  # replaced whole: a new ETag
    assert storage.read(KEY) == b"other bytes" and storage.etag(KEY) != fetched.etag
    storage.delete(KEY)
    storage.delete(KEY)  # already gone: no error
    assert not storage.exists(KEY) and media.files() == ["BG-TH01/audit-1/data.bin"]
    for read in (storage.read, storage.fetch, storage.size, storage.etag):
        with pytest.raises(FileNotFoundError):
            read(KEY)


@pytest.mark.parametrize("key", ["", "../evil.jpg", "a/../b.jpg", ".tmp/x.jpg", "a//b.jpg", "/abs.jpg", "a/b c.jpg"])
def test_a_key_that_could_escape_is_refused_and_nothing_is_written(app, media, key):
    storage = get_storage()
    for call in (lambda: storage.put(key, b"x"), lambda: storage.prepare(key, b"x"), lambda: storage.read(key),
                 lambda: storage.delete(key), lambda: storage.exists(key)):
        with pytest.raises(InvalidKeyError):
            call()
    assert media.files() == []


def test_a_pending_write_is_kept_on_commit_and_gone_on_discard(app, media):
    storage = get_storage()
    kept, dropped = storage.prepare(KEY, b"kept"), storage.prepare("S/a/p-thumb.jpg", b"dropped")
    if media.kind == "local":  # staged out of sight until the commit
        assert not storage.exists(KEY) and all(f.startswith(".tmp/") for f in media.files())
    else:  # PUT at once: a committed row never lacks its object
        assert storage.exists(KEY) and storage.exists("S/a/p-thumb.jpg")
    kept.commit()
    dropped.discard()
    assert media.files() == [KEY] and storage.read(KEY) == b"kept"


def test_an_s3_prefix_keeps_to_itself(app, media, request):
    if media.kind != "s3":
        pytest.skip("S3 prefixes only")
    s3 = request.getfixturevalue("moto_s3")
    s3.client.put_object(Bucket=s3.bucket, Key="someone-else/BG-TH01/x-display.jpg", Body=b"x")
    s3.client.put_object(Bucket=s3.bucket, Key=media.prefix + "/odd name.txt", Body=b"x")  # not a key of ours
    storage = get_storage()
    storage.put(KEY, b"ours")
    assert list(storage.iter_keys()) == [KEY]
    assert s3.client.head_object(Bucket=s3.bucket, Key=f"{media.prefix}/{KEY}")["ContentLength"] == 4


def test_media_url_is_checked():
    assert parse_s3_url("s3://photos/fivs/prod") == ("photos", "fivs/prod")
    assert parse_s3_url("s3://photos") == ("photos", "")
    for bad in ("http://photos/x", "s3:///x", "s3://photos/../x"):
        with pytest.raises(ValueError):
            parse_s3_url(bad)
    storage = open_storage({"MEDIA_URL": "s3://b/p", "S3_ENDPOINT_URL": "http://127.0.0.1:9", "MEDIA_ROOT": "/x"})
    assert isinstance(storage, S3Storage) and (storage.bucket, storage.prefix) == ("b", "p")


def test_an_unreachable_object_store_is_an_oserror_not_a_missing_file(moto_s3):
    storage = S3Storage("fivs-test", "p", endpoint_url=f"http://127.0.0.1:{free_port()}")  # nothing listens
    with pytest.raises(StorageError) as caught:
        storage.read(KEY)
    assert isinstance(caught.value, OSError) and not isinstance(caught.value, FileNotFoundError)


# ---------------------------------------------------------------- orphans and the sweep
@pytest.fixture
def stored_photo(db):
    site = make_site(code="BG-TH01")
    consultant = make_user("consultant", site=site)
    audit = make_audit(site, consultant)
    photo, _created = services.attach_photo(audit, consultant, JPEG, photo_uuid=uuid.uuid4(), item_code=None)
    db.session.commit()
    return photo, audit, consultant


def _crash_after_write(db, audit, user) -> Photo:
    """An upload whose process dies after writing its files and before the commit: no rollback hook runs."""
    photo, _created = services.attach_photo(audit, user, (PHOTOS / "orientation" / "Portrait_2.jpg").read_bytes(),
                                            photo_uuid=uuid.uuid4(), item_code=None)
    db.session.info.pop("fivs.photos.pending")  # what the dead process would have done on rollback: nothing
    db.session.rollback()
    return photo


def test_sweep_reports_then_removes_what_a_crash_left_and_keeps_every_photo_file(app, db, media, stored_photo):
    photo, audit, user = stored_photo
    services.print_file(photo)  # the cached print derivative belongs to the photo too
    kept = sorted([photo.display_key, photo.thumb_key, services.print_key(photo.display_key)])
    lost = _crash_after_write(db, audit, user)
    get_storage().put("BG-TH01/readme.txt", b"not ours to judge", "text/plain")
    assert db.session.scalar(select(Photo).where(Photo.uuid == lost.uuid)) is None
    left = sorted(set(media.files()) - set(kept) - {"BG-TH01/readme.txt"})
    assert len(left) == 2  # the two derivatives (S3: objects; folder: staging files)
    runner = app.test_cli_runner()

    young = runner.invoke(args=["media", "sweep"])  # default: only files older than an hour
    assert young.exit_code == 0, young.output
    assert "0 orphan(s) removed" in young.output and sorted(media.files()) == sorted([*kept, *left, "BG-TH01/readme.txt"])

    dry = runner.invoke(args=["media", "sweep", "--older-than", "0", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    if media.kind == "s3":
        assert "2 orphan(s) found" in dry.output
        assert {f"orphan: {k}" for k in (lost.display_key, lost.thumb_key)} <= set(dry.output.splitlines())
    assert "not a photo file, left alone: BG-TH01/readme.txt" in dry.output
    assert sorted(media.files()) == sorted([*kept, *left, "BG-TH01/readme.txt"])

    swept = runner.invoke(args=["media", "sweep", "--older-than", "0"])
    assert swept.exit_code == 0, swept.output
    if media.kind == "s3":
        assert "2 orphan(s) removed" in swept.output and "0 staging file(s) purged" in swept.output
    else:
        assert "0 orphan(s) removed" in swept.output and "2 staging file(s) purged" in swept.output
    assert media.files() == sorted([*kept, "BG-TH01/readme.txt"])
    assert get_storage().read(photo.display_key)  # the committed photo is untouched


def test_a_photo_file_left_by_a_failed_delete_is_an_orphan(app, db, media, stored_photo):
    photo, _audit, user = stored_photo
    keys = sorted([photo.display_key, photo.thumb_key])
    services.delete_photo(photo, user)
    db.session.info.pop("fivs.photos.pending")  # the after-commit removal never happens (store away)
    db.session.commit()
    assert media.files() == keys
    swept = app.test_cli_runner().invoke(args=["media", "sweep", "--older-than", "0"])
    assert swept.exit_code == 0 and "2 orphan(s) removed" in swept.output
    assert media.files() == []
