"""Photos through the pages and the service: upload, refusals that leave nothing behind, replays,
delete, serving with access checks, and the baseline photos beside a final audit.

The pages answer in Vietnamese (the default language), so messages are asserted in Vietnamese.
"""
from __future__ import annotations

import io
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from sqlalchemy import event, func, select

from fivs.events.models import Event
from fivs.extensions import db as _db
from fivs.api.representations import photo_dict
from fivs.comparisons import photos as comparison_photos
from fivs.photos import queries as photo_queries
from fivs.photos import services
from fivs.photos.models import Photo
from fivs.services_errors import ConflictError
from tests.api_support import token_for
from tests.factories import make_audit, make_site, make_user
from tests.test_photo_pipeline import (ORIENTATION, ORIENTATION_FILES, assert_no_metadata, encoded, jpeg_bytes,
                                       mad, open_jpeg, png_header_only, signature, textured)

pytestmark = pytest.mark.media_backends  # the folder and S3 (moto)

MAX_MB = 4
ITEM, ROOM = "CLS-S1-01", "Lớp 3A"  # an item of the repeating zone "classroom"
PLAIN_ITEM = "TCH-S1-01"  # an item of a zone audited once


@pytest.fixture
def app_config():
    # A small request limit, so the oversize case needs only a few MB.
    return {"MAX_CONTENT_LENGTH": MAX_MB * 1024 * 1024}


@pytest.fixture
def setup(db, login_as):
    site = make_site(code="BG-TH01")
    consultant = login_as("consultant", site=site)
    audit = make_audit(site, consultant, rooms=(ROOM,))
    db.session.commit()
    return {"site": site, "consultant": consultant, "audit": audit}


def jpeg(name: str = "Landscape_6.jpg") -> bytes:
    return (ORIENTATION / name).read_bytes()


def post_photo(client, audit, data: bytes | None, *, item=ITEM, room=ROOM, filename="anh.jpg", **kw):
    form = {"item": item or "", "zone_instance": room or ""}
    if data is not None:
        form["file"] = (io.BytesIO(data), filename, "image/jpeg")
    return client.form_post(f"/audits/{audit.uuid}/photos", form, content_type="multipart/form-data", **kw)


def photo_rows() -> list[Photo]:
    return _db.session.scalars(select(Photo).order_by(Photo.id)).all()


def events(action: str) -> int:
    return _db.session.scalar(select(func.count()).select_from(Event).where(Event.action == action))


# ---------------------------------------------------------------- real photos through the page
@pytest.mark.parametrize("name", ORIENTATION_FILES)
def test_real_photo_uploaded_through_the_page_is_upright_and_metadata_free(client, setup, media, name):
    audit = setup["audit"]
    resp = post_photo(client, audit, jpeg(name))
    assert resp.status_code == 302
    back = urlsplit(resp.headers["Location"])  # to the item on its zone page
    assert (back.path, parse_qs(back.query), back.fragment) == (
        f"/audits/{audit.uuid}/zones/classroom", {"room": [ROOM]}, f"item-{ITEM}")

    (photo,) = photo_rows()
    assert (photo.item.code, photo.room, photo.source_format) == (ITEM, ROOM, "JPEG")
    assert media.files() == sorted([photo.display_key, photo.thumb_key])
    assert {media.content_type(k) for k in media.files()} == {"image/jpeg"}
    kind = name.split("_")[0]
    size = (32, 24) if kind == "Landscape" else (24, 32)
    reference = signature(Image.open(ORIENTATION / f"{kind}_1.jpg"), size)
    for variant, (w, h) in (("display", (photo.width, photo.height)),
                            ("thumb", (photo.thumb_width, photo.thumb_height))):
        served = client.get(f"/photos/{photo.uuid}/{variant}")
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert served.data == media.read(getattr(photo, f"{variant}_key"))
        im = open_jpeg(served.data)
        assert im.size == (w, h)
        assert (w > h) if kind == "Landscape" else (h > w)
        assert mad(signature(im, size), reference) < 4.0
        assert_no_metadata(served.data)
    assert events("photo.add") == 1


@pytest.mark.parametrize("bound", [None, 1200])
def test_an_upload_bigger_than_the_photo_bound_is_accepted_and_its_display_image_keeps_to_it(
        app, client, setup, media, bound):
    """FIVS_PHOTO_MAX_PX (default 1600) bounds the display image, as it bounds what the tablet sends;
    a bigger picture (no JavaScript, or an old page) is still accepted and downsized here."""
    if bound is not None:
        app.config["PHOTO_MAX_PX"] = bound
    edge = bound or 1600
    resp = post_photo(client, setup["audit"], jpeg_bytes(textured((3000, 2000)), quality=90))
    assert resp.status_code == 302
    (photo,) = photo_rows()
    assert (photo.width, photo.height) == (edge, round(2000 * edge / 3000))
    assert open_jpeg(media.read(photo.display_key)).size == (photo.width, photo.height)
    assert max(photo.thumb_width, photo.thumb_height) == 320


def test_upload_page_flashes_and_zone_page_shows_the_photo(client, setup):
    audit = setup["audit"]
    resp = post_photo(client, audit, jpeg(), follow_redirects=True)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Đã thêm ảnh." in page
    (photo,) = photo_rows()
    assert f'src="/photos/{photo.uuid}/thumb"' in page and f'href="/photos/{photo.uuid}/display"' in page
    assert f'formaction="/photos/{photo.uuid}/delete"' in page and "Xoá ảnh 1" in page
    # The upload controls sit in the item's fieldset and belong to a form after the zone's form.
    assert f'form="photo-add-{ITEM}"' in page and 'capture="environment"' in page and 'accept="image/*"' in page
    assert f'<form id="photo-add-{ITEM}" method="post" enctype="multipart/form-data"' in page
    assert f'name="zone_instance" value="{ROOM}"' in page
    assert page.index(f'id="item-{ITEM}"') < page.index(f'src="/photos/{photo.uuid}/thumb"')


def test_plain_zone_and_audit_level_photos(client, setup):
    audit = setup["audit"]
    resp = post_photo(client, audit, jpeg("Portrait_2.jpg"), item=PLAIN_ITEM, room="ignored")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/zones/teachers-room#item-{PLAIN_ITEM}")
    resp = post_photo(client, audit, jpeg("Portrait_3.jpg"), item=None, room=None)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/audits/{audit.uuid}/summary#photos")
    plain, whole = photo_rows()
    assert (plain.item.code, plain.room) == (PLAIN_ITEM, "")
    assert (whole.item, whole.room) == (None, "")
    summary = client.get(f"/audits/{audit.uuid}/summary").get_data(as_text=True)
    assert "Ảnh chung của cuộc đánh giá" in summary and f"/photos/{whole.uuid}/thumb" in summary
    assert f"/photos/{plain.uuid}/thumb" not in summary


# ---------------------------------------------------------------- bad input leaves nothing
def _gif() -> bytes:
    return encoded(textured((40, 30)).convert("P"), "GIF")


def _bmp() -> bytes:
    return encoded(textured((40, 30)), "BMP")


def _truncated() -> bytes:
    data = jpeg("Landscape_1.jpg")
    return data[: len(data) // 2]


BAD_UPLOADS = {
    # case: (make data, form overrides, audit to use, status, message)
    "empty": (lambda: b"", {}, "own", 415, "Tệp tải lên bị trống."),
    "not-an-image": (lambda: b"%PDF-1.7\n" + b"x" * 500, {}, "own", 415, "Tệp tải lên không phải là ảnh."),
    "gif": (_gif, {}, "own", 415,
            "Không nhận ảnh định dạng GIF. Vui lòng tải lên ảnh JPEG, PNG, WebP hoặc HEIC."),
    "bmp": (_bmp, {}, "own", 415,
            "Không nhận ảnh định dạng BMP. Vui lòng tải lên ảnh JPEG, PNG, WebP hoặc HEIC."),
    "truncated-jpeg": (_truncated, {}, "own", 422, "Ảnh bị hỏng hoặc không đầy đủ nên không đọc được."),
    "png-over-50mp": (lambda: png_header_only(10_000, 6_000), {}, "own", 422,
                      "Ảnh quá lớn (10000x6000 điểm ảnh): mỗi ảnh tối đa 50 megapixel."),
    "request-too-large": (lambda: b"\xff\xd8\xff" + b"\0" * (MAX_MB * 1024 * 1024), {}, "own", 413,
                          f"Tệp tải lên quá lớn (tối đa {MAX_MB} MB)."),
    "no-file": (lambda: None, {}, "own", 422, "Hãy chọn một ảnh để tải lên."),
    "unknown-item": (jpeg, {"item": "NOPE-99"}, "own", 422, "Tiêu chí không có trong bảng kiểm này."),
    "no-room": (jpeg, {"room": ""}, "own", 422, "Khu vực này lặp lại: hãy ghi tên phòng (zone_instance)."),
    "other-sites-audit": (jpeg, {}, "other", 404, "Không tìm thấy, hoặc bạn không có quyền xem."),
    "locked-audit": (jpeg, {}, "locked", 409, "Cuộc đánh giá đã nộp và bị khoá. Cán bộ Chi cục có thể mở lại."),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_is_refused_clearly_and_leaves_nothing(client, db, setup, media, case):
    make, overrides, which, status, message = BAD_UPLOADS[case]
    audit = setup["audit"]
    if which == "other":
        other = make_site(code="BG-TH02")
        audit = make_audit(other, make_user("consultant", site=other))
    elif which == "locked":
        audit = make_audit(setup["site"], setup["consultant"], status="submitted", rooms=(ROOM,))
    db.session.commit()

    resp = post_photo(client, audit, make(), **overrides)
    assert resp.status_code == status
    assert resp.mimetype == "text/html"
    assert message in resp.get_data(as_text=True)
    assert photo_rows() == []
    assert media.files() == []  # no derivative and no staging file
    assert events("photo.add") == 0


def test_oversize_request_to_the_api_is_a_json_413(client, db, setup, media):
    token = token_for(setup["consultant"])
    body = {"id": str(uuid.uuid4()), "file": (io.BytesIO(b"\0" * (MAX_MB * 1024 * 1024 + 1)), "a.jpg")}
    resp = client.post(f"/api/v1/audits/{setup['audit'].uuid}/photos", data=body,
                       content_type="multipart/form-data", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 413 and resp.mimetype == "application/json"
    assert resp.get_json()["error"] == {"code": "too_large", "message": f"Tệp tải lên quá lớn (tối đa {MAX_MB} MB).",
                                        "details": None}
    assert photo_rows() == [] and media.files() == []


def test_photo_for_a_room_not_added_yet_adds_it_as_an_answer_would(db, setup):
    audit, user = setup["audit"], setup["consultant"]
    photo, created = services.attach_photo(audit, user, jpeg(), photo_uuid=uuid.uuid4(), item_code=ITEM,
                                           room="  Lớp 4B ")
    db.session.commit()
    assert created and photo.room == "Lớp 4B"
    assert "Lớp 4B" in {zi.name for zi in audit.rooms}


@pytest.mark.media_backends(postgresql=True)
def test_rolled_back_upload_leaves_no_file_and_no_row(db, setup, media):
    audit, user = setup["audit"], setup["consultant"]
    photo, created = services.attach_photo(audit, user, jpeg(), photo_uuid=uuid.uuid4(), item_code=ITEM,
                                           room=ROOM)
    assert created and len(media.files()) == 2
    if media.kind == "local":  # staged, not yet visible
        assert all(name.startswith(".tmp/") for name in media.files())
    else:  # already PUT under their keys, so a committed row always has its objects
        assert media.files() == sorted([photo.display_key, photo.thumb_key])
    db.session.rollback()
    assert photo_rows() == [] and media.files() == []


@pytest.mark.media_backends(postgresql=True)
def test_upload_inside_a_rolled_back_savepoint_leaves_no_file(db, setup, media):
    audit, user = setup["audit"], setup["consultant"]
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            services.attach_photo(audit, user, jpeg(), photo_uuid=uuid.uuid4(), item_code=ITEM, room=ROOM)
            raise RuntimeError("something else failed")
    db.session.commit()
    assert photo_rows() == [] and media.files() == []


# ---------------------------------------------------------------- stored once
def test_duplicate_upload_is_stored_once_per_answer(client, setup, media):
    audit, data = setup["audit"], jpeg()
    assert post_photo(client, audit, data).status_code == 302
    again = post_photo(client, audit, data, follow_redirects=True)
    assert "Ảnh này đã được đính kèm ở đây." in again.get_data(as_text=True)
    assert len(photo_rows()) == 1 and len(media.files()) == 2
    # The same picture on another answer is another photo.
    assert post_photo(client, audit, data, item=PLAIN_ITEM).status_code == 302
    assert len(photo_rows()) == 2 and len(media.files()) == 4
    assert events("photo.add") == 2


def test_replay_of_the_same_photo_id_is_stored_once(db, setup, media):
    audit, user, photo_id = setup["audit"], setup["consultant"], uuid.uuid4()
    first, created = services.attach_photo(audit, user, jpeg(), photo_uuid=photo_id, item_code=ITEM,
                                           room=ROOM)
    db.session.commit()
    assert created
    again, created = services.attach_photo(audit, user, jpeg(), photo_uuid=photo_id, item_code=ITEM,
                                           room=ROOM)
    db.session.commit()
    assert not created and again.id == first.id
    assert len(photo_rows()) == 1 and media.files() == sorted([first.display_key, first.thumb_key])

    other = make_audit(setup["site"], user, rooms=(ROOM,))
    with pytest.raises(ConflictError) as caught:
        services.attach_photo(other, user, jpeg("Portrait_1.jpg"), photo_uuid=photo_id, item_code=ITEM,
                              room=ROOM)
    assert caught.value.status == 409 and caught.value.code == "id_conflict"
    db.session.rollback()
    assert len(photo_rows()) == 1 and len(media.files()) == 2


def test_replay_after_the_audit_was_submitted_still_answers_with_the_photo(db, setup):
    audit, user, photo_id = setup["audit"], setup["consultant"], uuid.uuid4()
    first, _ = services.attach_photo(audit, user, jpeg(), photo_uuid=photo_id, item_code=ITEM, room=ROOM)
    audit.status = "submitted"
    db.session.commit()
    again, created = services.attach_photo(audit, user, jpeg(), photo_uuid=photo_id, item_code=ITEM,
                                           room=ROOM)
    assert (again.id, created) == (first.id, False)


# ---------------------------------------------------------------- delete
@pytest.mark.media_backends(postgresql=True)
def test_delete_while_draft_removes_row_and_files(client, setup, media):
    audit = setup["audit"]
    post_photo(client, audit, jpeg())
    (photo,) = photo_rows()
    resp = client.form_post(f"/photos/{photo.uuid}/delete", follow_redirects=True)
    assert resp.status_code == 200 and "Đã xoá ảnh." in resp.get_data(as_text=True)
    assert photo_rows() == [] and media.files() == []
    assert events("photo.delete") == 1


def test_delete_on_a_submitted_audit_is_refused_and_keeps_everything(client, db, setup, media):
    audit = setup["audit"]
    post_photo(client, audit, jpeg())
    (photo,) = photo_rows()
    kept = media.files()
    audit.status = "submitted"
    db.session.commit()
    resp = client.form_post(f"/photos/{photo.uuid}/delete")
    assert resp.status_code == 409
    assert "Cuộc đánh giá đã nộp và bị khoá." in resp.get_data(as_text=True)
    assert len(photo_rows()) == 1 and media.files() == kept == sorted([photo.display_key, photo.thumb_key])
    assert events("photo.delete") == 0
    page = client.get(f"/audits/{audit.uuid}/zones/classroom?room={ROOM}").get_data(as_text=True)
    assert f"/photos/{photo.uuid}/thumb" in page
    assert "photo-add-" not in page and 'formaction="/photos/' not in page  # no upload or remove when locked


# ---------------------------------------------------------------- serving
@pytest.mark.media_backends(postgresql=True)
def test_images_have_etag_304_and_private_cache(client, setup):
    post_photo(client, setup["audit"], jpeg())
    (photo,) = photo_rows()
    for variant in ("display", "thumb"):
        resp = client.get(f"/photos/{photo.uuid}/{variant}")
        assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
        assert resp.headers["ETag"] and resp.data[:2] == b"\xff\xd8"
        cache = resp.cache_control
        assert cache.private and not cache.public and cache.max_age > 0
        again = client.get(f"/photos/{photo.uuid}/{variant}", headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    assert client.get(f"/photos/{photo.uuid}/original").status_code == 404


def test_another_sites_photo_is_404(client, setup, login_as):
    post_photo(client, setup["audit"], jpeg())
    (photo,) = photo_rows()
    login_as("principal", site=make_site(code="BG-TH02"))
    for path in (f"/photos/{photo.uuid}/display", f"/photos/{photo.uuid}/thumb"):
        assert client.get(path).status_code == 404
    assert client.form_post(f"/photos/{photo.uuid}/delete").status_code == 404
    assert client.get(f"/photos/{uuid.uuid4()}/thumb").status_code == 404
    assert client.get("/photos/not-a-uuid/thumb").status_code == 404
    assert len(photo_rows()) == 1


def test_same_sites_principal_sees_the_photo_but_cannot_remove_it(client, setup, login_as):
    post_photo(client, setup["audit"], jpeg())
    (photo,) = photo_rows()
    login_as("principal", site=setup["site"])
    assert client.get(f"/photos/{photo.uuid}/thumb").status_code == 200
    assert client.form_post(f"/photos/{photo.uuid}/delete").status_code == 403
    assert len(photo_rows()) == 1


# ---------------------------------------------------------------- baseline beside final, pairs
def _photo(audit, user, name, item=ITEM, room=ROOM):
    photo, _ = services.attach_photo(audit, user, jpeg(name), photo_uuid=uuid.uuid4(), item_code=item,
                                     room=room)
    return photo


def test_final_audit_shows_the_baseline_photos_of_the_item(client, db, setup):
    site, user = setup["site"], setup["consultant"]
    baseline = make_audit(site, user, phase="baseline", rooms=("Lớp 1A",))
    reference = _photo(baseline, user, "Landscape_2.jpg", room="Lớp 1A")
    baseline.status = "submitted"
    final = make_audit(site, user, phase="final", rooms=(ROOM,))
    db.session.commit()
    page = client.get(f"/audits/{final.uuid}/zones/classroom?room={ROOM}").get_data(as_text=True)
    assert page.count("Ảnh đợt đánh giá đầu kỳ") == 1  # only beside the photographed item
    assert f"/photos/{reference.uuid}/thumb" in page
    assert page.index(f'id="item-{ITEM}"') < page.index(f"/photos/{reference.uuid}/thumb")
    # A baseline audit itself shows no reference.
    page = client.get(f"/audits/{setup['audit'].uuid}/zones/classroom?room={ROOM}").get_data(as_text=True)
    assert "Ảnh đợt đánh giá đầu kỳ" not in page


def test_before_after_pairs(db, setup):
    site, user = setup["site"], setup["consultant"]
    assert comparison_photos.before_after_pairs(site) == []
    baseline = make_audit(site, user, phase="baseline", rooms=(ROOM,))
    b1 = _photo(baseline, user, "Landscape_1.jpg")
    b2 = _photo(baseline, user, "Landscape_2.jpg")
    b3 = _photo(baseline, user, "Landscape_3.jpg", item=PLAIN_ITEM)  # never re-shot
    final = make_audit(site, user, phase="final", rooms=("Lớp 3B",))
    f1 = _photo(final, user, "Portrait_1.jpg", room="Lớp 3B")  # same item, another room label
    _photo(final, user, "Portrait_2.jpg", item="OFF-S1-01")  # no baseline photo
    _photo(final, user, "Portrait_3.jpg", item=None)  # the audit as a whole
    assert comparison_photos.before_after_pairs(site) == []  # neither is submitted yet
    baseline.status = final.status = "submitted"
    # A self-assessment and a draft baseline are not the site's baseline.
    principal = make_user("principal", site=site)
    own = make_audit(site, principal, phase="baseline")
    _photo(own, principal, "Landscape_4.jpg", room="Lớp 1A")
    own.status = "submitted"
    db.session.commit()

    pairs = comparison_photos.before_after_pairs(site)
    assert [(p.item.code, [x.id for x in p.baseline], [x.id for x in p.final]) for p in pairs] == [
        (ITEM, [b1.id, b2.id], [f1.id])]
    item, before, after = pairs[0]
    assert item.code == ITEM and before[0].room == ROOM and after[0].room == "Lớp 3B"
    assert {code: [p.id for p in ps] for code, ps in comparison_photos.baseline_photos_for(final).items()} == {
        ITEM: [b1.id, b2.id], PLAIN_ITEM: [b3.id]}


def test_photos_for_audit_is_one_query(db, setup):
    audit, user = setup["audit"], setup["consultant"]
    first = _photo(audit, user, "Landscape_1.jpg")
    second = _photo(audit, user, "Landscape_2.jpg")
    whole = _photo(audit, user, "Landscape_3.jpg", item=None)
    db.session.commit()
    audit.id  # noqa: B018  (reloaded after the commit, before counting)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        grouped = photo_queries.photos_for_audit(audit)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    item_id = first.item_id
    assert {k: [p.id for p in v] for k, v in grouped.items()} == {
        (item_id, ROOM): [first.id, second.id], (None, ""): [whole.id]}


def test_photo_dict(app, db, setup):
    photo = _photo(setup["audit"], setup["consultant"], "Portrait_6.jpg")
    db.session.commit()
    with app.test_request_context():
        data = photo_dict(photo)
    assert data == {
        "id": str(photo.uuid), "audit": str(setup["audit"].uuid), "item": ITEM, "zone_instance": ROOM,
        "action": None, "width": photo.width, "height": photo.height, "thumb_width": photo.thumb_width,
        "thumb_height": photo.thumb_height, "created_at": data["created_at"],
        "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
        "display_url": f"/api/v1/photos/{photo.uuid}/display", "thumb_url": f"/api/v1/photos/{photo.uuid}/thumb"}
    assert data["created_at"].endswith("+00:00")
