"""Photos through the API: idempotent upload on the device's UUID, metadata, images, delete."""
from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import func, select

from fivs.photos.files import PHOTO_STORAGE
from fivs.photos.models import Photo
from fivs.photos.s3storage import S3Storage
from tests.api_support import api  # noqa: F401  (fixture)
from tests.conftest import free_port, login
from tests.factories import make_audit, make_site, make_user

pytestmark = pytest.mark.media_backends  # the folder and S3 (moto)


@pytest.fixture
def setup(db, photos_dir):
    site = make_site(code="BG-TH01")
    consultant = make_user("consultant", site=site)
    audit = make_audit(site, consultant, rooms=("Lớp 3A",))
    db.session.commit()
    return {"site": site, "consultant": consultant, "audit": audit,
            "jpeg": (photos_dir / "orientation" / "Landscape_6.jpg").read_bytes()}


def photo_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Photo))


def upload(api, audit, data: bytes, photo_id: str, **fields):
    form = {"id": photo_id, "file": (io.BytesIO(data), "anh.jpg", "image/jpeg"), **fields}
    return api.post(f"/audits/{audit.uuid}/photos", data=form, content_type="multipart/form-data")


def test_upload_replay_stores_one_photo(api, db, setup):
    api.login(setup["consultant"])
    photo_id = str(uuid.uuid4())
    first = upload(api, setup["audit"], setup["jpeg"], photo_id, item="CLS-S1-01", zone_instance="Lớp 3A")
    assert first.status_code == 201, first.get_json()
    assert first.headers["Location"].endswith(f"/api/v1/photos/{photo_id}")
    again = upload(api, setup["audit"], setup["jpeg"], photo_id, item="CLS-S1-01", zone_instance="Lớp 3A")
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert photo_count(db) == 1
    meta = api.get(f"/photos/{photo_id}").get_json()
    assert meta["id"] == photo_id and meta["item"] == "CLS-S1-01" and meta["zone_instance"] == "Lớp 3A"


def test_images_are_jpegs_with_etags(api, setup):
    api.login(setup["consultant"])
    photo_id = str(uuid.uuid4())
    assert upload(api, setup["audit"], setup["jpeg"], photo_id).status_code == 201
    for variant in ("display", "thumb"):
        resp = api.get(f"/photos/{photo_id}/{variant}")
        assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
        assert resp.data[:2] == b"\xff\xd8" and resp.headers["ETag"]
        assert "private" in resp.headers["Cache-Control"]
        again = api.get(f"/photos/{photo_id}/{variant}", headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304


@pytest.mark.parametrize("case, status", [
    ("no file", 422), ("no id", 422), ("bad id", 422), ("not an image", 415), ("json", 415), ("empty", 415),
])
def test_bad_uploads_store_nothing(api, db, setup, case, status):
    api.login(setup["consultant"])
    path = f"/audits/{setup['audit'].uuid}/photos"
    photo_id = str(uuid.uuid4())
    if case == "no file":
        resp = api.post(path, data={"id": photo_id}, content_type="multipart/form-data")
    elif case == "no id":
        resp = api.post(path, data={"file": (io.BytesIO(setup["jpeg"]), "a.jpg")},
                        content_type="multipart/form-data")
    elif case == "bad id":
        resp = upload(api, setup["audit"], setup["jpeg"], "photo-1")
    elif case == "not an image":
        resp = upload(api, setup["audit"], b"%PDF-1.4 not a photo", photo_id)
    elif case == "empty":
        resp = upload(api, setup["audit"], b"", photo_id)
    else:
        resp = api.post(path, json={"id": photo_id})
    assert resp.status_code == status
    assert resp.get_json()["error"]["message"]
    assert photo_count(db) == 0


def test_another_sites_photo_is_404(api, db, setup):
    api.login(setup["consultant"])
    photo_id = str(uuid.uuid4())
    assert upload(api, setup["audit"], setup["jpeg"], photo_id).status_code == 201
    other = make_site(code="BG-TH02")
    api.login(make_user("principal", site=other))
    for path in (f"/photos/{photo_id}", f"/photos/{photo_id}/display", f"/photos/{photo_id}/thumb"):
        assert api.get(path).status_code == 404
    assert api.delete(f"/photos/{photo_id}").status_code == 404
    assert upload(api, setup["audit"], setup["jpeg"], str(uuid.uuid4())).status_code == 404
    assert photo_count(db) == 1


def test_delete(api, db, setup, media):
    api.login(setup["consultant"])
    photo_id = str(uuid.uuid4())
    assert upload(api, setup["audit"], setup["jpeg"], photo_id).status_code == 201
    assert len(media.files()) == 2
    assert api.delete(f"/photos/{photo_id}").status_code == 204
    assert api.get(f"/photos/{photo_id}").status_code == 404
    assert photo_count(db) == 0 and media.files() == []  # its objects went after the commit


def test_an_unreachable_photo_store_is_a_503_that_keeps_nothing(app, api, db, setup):
    api.login(setup["consultant"])
    stored = str(uuid.uuid4())
    assert upload(api, setup["audit"], setup["jpeg"], stored).status_code == 201
    app.extensions[PHOTO_STORAGE] = S3Storage("fivs-test", "away", endpoint_url=f"http://127.0.0.1:{free_port()}")
    resp = upload(api, setup["audit"], setup["jpeg"], str(uuid.uuid4()), item="CLS-S1-01", zone_instance="Lớp 3A")
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["error"]["code"] == "storage_unavailable"
    assert resp.headers["Retry-After"] == "30"
    assert photo_count(db) == 1
    assert api.get(f"/photos/{stored}/thumb").status_code == 503
    login(api.client, setup["consultant"].username)
    page = api.client.get(f"/photos/{stored}/thumb")  # the web route: the same answer, as a page
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "Không kết nối được kho ảnh" in page.get_data(as_text=True)
