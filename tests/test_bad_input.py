"""The bad-input matrix across the HTML forms and the API: each case gets its 4xx, its own clear
message (asserted word for word, in Vietnamese, the default language), and leaves the database
(row counts AND a digest of every row of every table) and the media folder exactly as they were.
Every photo refusal is in both matrices (PHOTO_CASES). HTML or script in notes and names is stored
verbatim and always shown escaped, through the real forms.

Per-feature cases live with their features (tests/test_capture.py BAD_INPUT, tests/test_api.py,
tests/test_api_photos.py, tests/test_photos.py); this file adds the whole-installation
"nothing changed" check and the cases between features.
"""
from __future__ import annotations

import io
import re
import uuid
from html import unescape

import pytest
from markupsafe import escape
from PIL import Image
from sqlalchemy import select

from fivs.audits.models import Answer, Room
from fivs.extensions import db
from fivs.auth.models import User
from fivs.sites.models import Site
from tests.api_support import token_for
from tests.conftest import PASSWORD
from tests.factories import answer_all, make_audit, make_site, make_user
from tests.state import database_state, media_state
from tests.test_photo_pipeline import ORIENTATION, encoded, png_header_only, textured

SCRIPT = "<script>alert('x')</script>"
MAX_BYTES = 1024 * 1024  # whole MB, as configured in production: the 413 message names it


@pytest.fixture
def app_config():
    return {"MAX_CONTENT_LENGTH": MAX_BYTES}  # small, so an oversize request is cheap to send


# ---------------------------------------------------------------- "exactly as before"
def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


# ---------------------------------------------------------------- bad photos (tests/test_photo_pipeline.py's makers)
def real_jpeg() -> bytes:
    return (ORIENTATION / "Landscape_6.jpg").read_bytes()


def gif() -> bytes:
    return encoded(textured((40, 30)).convert("P"), "GIF")


def bmp() -> bytes:
    return encoded(textured((40, 30)), "BMP")


def truncated_jpeg() -> bytes:
    data = (ORIENTATION / "Landscape_1.jpg").read_bytes()
    return data[: len(data) // 2]


def decompression_bomb() -> bytes:
    return png_header_only(10_000, 6_000)  # 60 MP claimed in a few bytes


# ---------------------------------------------------------------- the world
@pytest.fixture
def world(db, client, media_root):
    own, other = make_site(code="BG-OWN"), make_site(code="BG-OTHER")
    consultant = make_user("consultant", site=own)
    draft = make_audit(own, consultant)
    locked = make_audit(own, consultant, phase="final", status="submitted")
    answer_all(locked, 3)
    foreign = make_audit(other, make_user("consultant", site=other))
    zone = next(z for z in draft.template.zones if not z.repeats)
    classroom = next(z for z in draft.template.zones if z.repeats)
    token = token_for(consultant)
    resp = client.post(f"/api/v1/audits/{draft.uuid}/photos", headers={"Authorization": f"Bearer {token}"},
                       data={"id": str(uuid.uuid4()), "item": zone.items[0].code,
                             "file": (io.BytesIO(jpeg()), "p.jpg")})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert media_state(media_root), "the media folder should hold the photo"
    return {"consultant": consultant, "token": token, "draft": str(draft.uuid), "locked": str(locked.uuid),
            "foreign": str(foreign.uuid), "item": zone.items[0].code, "zone": zone.code,
            "non_na_item": next(i.code for i in zone.items if not i.na_allowed),
            "classroom": classroom.code, "room_item": classroom.items[0].code}


def answer(w, **fields) -> dict:
    return {"row_version": 1, "answers": [{"item": w["item"], "score": 2, **fields}]}


def error_text(resp) -> str:
    """The API error's message and every detail's message, as one text."""
    error = resp.get_json()["error"]
    details = error.get("details")
    parts = [error["message"]] + [d.get("message", "") for d in details if isinstance(d, dict)] \
        if isinstance(details, list) else [error["message"]]
    return " | ".join(parts)


NOT_VALID = "Một số câu trả lời không hợp lệ; chưa lưu gì cả."
SCORE_RANGE = "Điểm là số nguyên từ 0 đến 4."
UNKNOWN_ITEM = "Tiêu chí không có trong bảng kiểm này."
NOT_FOUND = "Không tìm thấy, hoặc bạn không có quyền xem."
LOCKED = "Cuộc đánh giá đã nộp và bị khoá. Cán bộ Chi cục có thể mở lại."
TOO_LARGE = f"Tệp tải lên quá lớn (tối đa {MAX_BYTES // (1024 * 1024)} MB)."
NAME_THE_ROOM = "Khu vực này lặp lại: hãy ghi tên phòng (zone_instance)."
NOTE_TOO_LONG = "Ghi chú quá dài (tối đa 5000 ký tự)."

# Photo cases, the same through the API and the page: case id -> (audit key, form fields(w) with the
# file's bytes, status, API error code, Vietnamese message).
PHOTO_CASES = {
    "photo_empty_file": ("draft", lambda w: {"file": b""}, 415, "empty_file", "Tệp tải lên bị trống."),
    "photo_not_an_image": ("draft", lambda w: {"file": b"%PDF-1.4 not a photo"}, 415, "not_an_image",
                           "Tệp tải lên không phải là ảnh."),
    "photo_gif": ("draft", lambda w: {"file": gif()}, 415, "unsupported_type",
                  "Không nhận ảnh định dạng GIF. Vui lòng tải lên ảnh JPEG, PNG, WebP hoặc HEIC."),
    "photo_bmp": ("draft", lambda w: {"file": bmp()}, 415, "unsupported_type",
                  "Không nhận ảnh định dạng BMP. Vui lòng tải lên ảnh JPEG, PNG, WebP hoặc HEIC."),
    "photo_truncated_jpeg": ("draft", lambda w: {"file": truncated_jpeg()}, 422, "corrupt_image",
                             "Ảnh bị hỏng hoặc không đầy đủ nên không đọc được."),
    "photo_too_many_pixels": ("draft", lambda w: {"file": decompression_bomb()}, 422, "too_many_pixels",
                              "Ảnh quá lớn (10000x6000 điểm ảnh): mỗi ảnh tối đa 50 megapixel."),
    "photo_unknown_item": ("draft", lambda w: {"file": real_jpeg(), "item": "NO-SUCH-1"}, 422,
                           "validation_error", UNKNOWN_ITEM),
    "photo_no_room_for_a_repeating_zone": ("draft", lambda w: {"file": real_jpeg(), "item": w["room_item"]}, 422,
                                           "validation_error", NAME_THE_ROOM),
    "photo_room_only_control_characters": ("draft", lambda w: {"file": real_jpeg(), "item": w["room_item"],
                                                               "zone_instance": "\x00\x07\x1b"}, 422,
                                           "validation_error", NAME_THE_ROOM),
    "photo_locked_audit": ("locked", lambda w: {"file": real_jpeg()}, 409, "locked", LOCKED),
    "photo_another_sites_audit": ("foreign", lambda w: {"file": real_jpeg()}, 404, "not_found", NOT_FOUND),
    "photo_invalid_audit_uuid": ("not-a-uuid", lambda w: {"file": real_jpeg()}, 404, "not_found", NOT_FOUND),
    "photo_oversize_request": ("draft", lambda w: {"file": b"\xff\xd8\xff" + b"\0" * MAX_BYTES}, 413, "too_large",
                               TOO_LARGE),
}


def photo_form(w, fields: dict) -> dict:
    """multipart fields: the item (by default one of a zone audited once), room and the file."""
    form = {"item": w["item"], **fields}
    if "file" in form:
        form["file"] = (io.BytesIO(form["file"]), "anh.jpg", "image/jpeg")
    return form


# case id -> (method, audit key, body(w) as JSON | (bytes, content type) | photo fields, status, error code,
#             the Vietnamese message, in the error's message or one of its details)
API_CASES = {
    "score_5": ("PUT", "draft", lambda w: answer(w, score=5), 422, "validation_error", SCORE_RANGE),
    "score_negative": ("PUT", "draft", lambda w: answer(w, score=-1), 422, "validation_error", SCORE_RANGE),
    "score_fraction": ("PUT", "draft", lambda w: answer(w, score=2.5), 422, "validation_error", SCORE_RANGE),
    "score_text": ("PUT", "draft", lambda w: answer(w, score="three"), 422, "validation_error", SCORE_RANGE),
    "score_boolean": ("PUT", "draft", lambda w: answer(w, score=True), 422, "validation_error", SCORE_RANGE),
    "unknown_item": ("PUT", "draft", lambda w: answer(w, item="NO-SUCH-1"), 422, "validation_error", UNKNOWN_ITEM),
    "room_not_text": ("PUT", "draft", lambda w: answer(w, zone_instance=["Lớp 9Z"]), 422, "validation_error",
                      "Tên phòng phải là văn bản."),
    "room_on_a_zone_audited_once": ("PUT", "draft", lambda w: answer(w, zone_instance="Lớp 9Z"), 422,
                                    "validation_error",
                                    "Khu vực này chỉ đánh giá một lần: không gửi tên phòng (zone_instance)"),
    "no_room_for_a_repeating_zone": ("PUT", "draft", lambda w: answer(w, item=w["room_item"]), 422,
                                     "validation_error", NAME_THE_ROOM),
    "room_with_control_characters": ("PUT", "draft", lambda w: answer(w, item=w["room_item"],
                                                                      zone_instance="Lớp\x00 1A"),
                                     422, "validation_error", "Tên phòng chứa ký tự điều khiển."),
    "na_not_allowed": ("PUT", "draft", lambda w: answer(w, item=w["non_na_item"], score=None, na=True), 422,
                       "validation_error", "Tiêu chí này không được đánh dấu “Không áp dụng”."),
    "note_over_5000": ("PUT", "draft", lambda w: answer(w, note="x" * 5001), 422, "validation_error",
                       NOTE_TOO_LONG),
    "note_not_text": ("PUT", "draft", lambda w: answer(w, note={"a": 1}), 422, "validation_error",
                      "Ghi chú phải là văn bản."),
    "answers_not_a_list": ("PUT", "draft", lambda w: {"row_version": 1, "answers": "all"}, 422,
                           "validation_error", "Phải là một danh sách câu trả lời."),
    "no_row_version": ("PUT", "draft", lambda w: {"answers": answer(w)["answers"]}, 422, "validation_error",
                       "Trường này là bắt buộc."),
    "stale_row_version": ("PUT", "draft", lambda w: {**answer(w), "row_version": 7}, 409, "stale_row_version",
                          "Người khác vừa sửa cuộc đánh giá này"),
    "base_not_an_answer": ("PUT", "draft", lambda w: answer(w, base="3"), 422, "validation_error",
                           "Giá trị gốc (base) phải là một câu trả lời (score, na, note) hoặc null."),
    "base_score_5": ("PUT", "draft", lambda w: answer(w, base={"score": 5}), 422, "validation_error", SCORE_RANGE),
    "answer_changed_meanwhile": ("PUT", "draft", lambda w: {**answer(w, base={"score": 3}), "row_version": 7}, 409,
                                 "answer_changed", "Người khác vừa sửa chính câu trả lời này; chưa lưu gì cả."),
    "locked_audit": ("PUT", "locked", lambda w: {**answer(w), "row_version": 1}, 409, "locked", LOCKED),
    "another_sites_audit": ("PUT", "foreign", lambda w: {**answer(w), "row_version": 1}, 404, "not_found",
                            NOT_FOUND),
    "invalid_uuid": ("PUT", "not-a-uuid", answer, 404, "not_found", NOT_FOUND),
    "malformed_json": ("PUT", "draft", lambda w: (b'{"row_version": 1, "answers": [', "application/json"),
                       400, "malformed_json", "Nội dung gửi lên không phải JSON hợp lệ."),
    "wrong_content_type": ("PUT", "draft", lambda w: (b"row_version=1", "application/x-www-form-urlencoded"),
                           415, "unsupported_media_type",
                           "Hãy gửi dữ liệu JSON, với tiêu đề Content-Type: application/json."),
    "oversize_body": ("PUT", "draft", lambda w: answer(w, note="x" * (MAX_BYTES + 1)), 413, "too_large", TOO_LARGE),
    "json_not_an_object": ("PUT", "draft", lambda w: ([1, 2], None), 422, "validation_error",
                           "Nội dung gửi lên phải là một đối tượng JSON."),
    "create_audit_bad_uuid": ("POST", None, lambda w: {"id": "123", "site": "BG-OWN", "phase": "baseline",
                                                       "date": "2023-05-10"}, 422, "validation_error",
                              "Phải là một UUID"),
    "create_audit_another_site": ("POST", None, lambda w: {"id": str(uuid.uuid4()), "site": "BG-OTHER",
                                                           "phase": "baseline", "date": "2023-05-10"},
                                  404, "not_found", NOT_FOUND),
    "photo_no_file": ("PHOTO", "draft", lambda w: {}, 422, "validation_error", "Trường này là bắt buộc."),
    "photo_bad_photo_id": ("PHOTO", "draft", lambda w: {"id": "photo-1", "file": real_jpeg()}, 422,
                           "validation_error", "Phải là một UUID"),
    "photo_sent_as_json": ("PUT-PHOTO-JSON", "draft", lambda w: {"id": str(uuid.uuid4())}, 415,
                           "unsupported_media_type",
                           "Hãy gửi ảnh dạng multipart/form-data, trong trường có tên file."),
    **{case: ("PHOTO", target, fields, status, code, message)
       for case, (target, fields, status, code, message) in PHOTO_CASES.items()},
}


def _send_api(client, w, method, target, body):
    headers = {"Authorization": f"Bearer {w['token']}"}
    audit_id = w.get(target, target)
    if method == "POST":
        return client.post("/api/v1/audits", json=body, headers=headers)
    if method == "PUT-PHOTO-JSON":
        return client.post(f"/api/v1/audits/{audit_id}/photos", json=body, headers=headers)
    if method == "PHOTO":
        return client.post(f"/api/v1/audits/{audit_id}/photos", headers=headers, content_type="multipart/form-data",
                           data={"id": str(uuid.uuid4()), **photo_form(w, body)})
    path = f"/api/v1/audits/{audit_id}/answers"
    if isinstance(body, tuple):
        data, content_type = body
        if content_type is None:
            return client.put(path, json=data, headers=headers)
        return client.put(path, data=data, content_type=content_type, headers=headers)
    return client.put(path, json=body, headers=headers)


@pytest.mark.parametrize("case", API_CASES, ids=list(API_CASES))
def test_bad_api_input_is_refused_and_changes_nothing(client, db, media_root, world, case):
    method, target, body, status, code, message = API_CASES[case]
    before, files = database_state(db), media_state(media_root)
    resp = _send_api(client, world, method, target, body(world))
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/json"
    assert resp.get_json()["error"]["code"] == code
    assert message in error_text(resp), error_text(resp)
    assert database_state(db) == before
    assert media_state(media_root) == files


# ---------------------------------------------------------------- HTML forms
def page_text(html: str) -> str:
    """The page's <main>, as text: what the reader sees (for assertion messages)."""
    main = re.search(r"<main.*?</main>", html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(0) if main else html).split())[:1500]


def _zone_url(w, audit_key: str, zone: str | None = None, room: str = "") -> str:
    return f"/audits/{w.get(audit_key, audit_key)}/zones/{zone or w['zone']}" + (f"?room={room}" if room else "")


def _score(w, value: str, **extra) -> dict:
    return {"row_version": "1", f"score-{w['item']}": value, **extra}


def _rooms(audit_key: str, label: str = "Lớp 5C", action: str = "") -> tuple:
    return (lambda w: f"/audits/{w.get(audit_key, audit_key)}/rooms{action}",
            lambda w: {"zone": w["classroom"], "label": label})


def _start(**fields):
    return lambda w: {"site": "BG-OWN", "phase": "baseline", "audit_date": "2023-05-10",
                      "client_uuid": str(uuid.uuid4()), **fields}


# case id -> (url(w), form(w), status, the (Vietnamese) message shown on the page). Everything goes
# through the real pages: CSRF token, the zone form's score-/note- fields, the photo form's multipart.
FORM_CASES = {
    # a zone's answers
    "score_7": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "7"), 422, SCORE_RANGE),
    "score_minus_one": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "-1"), 422, SCORE_RANGE),
    "score_fraction": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "2.5"), 422, SCORE_RANGE),
    "score_text": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "abc"), 422, SCORE_RANGE),
    "score_unicode_digit": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "３"), 422, SCORE_RANGE),
    "na_not_allowed": (lambda w: _zone_url(w, "draft"),
                       lambda w: {"row_version": "1", f"score-{w['non_na_item']}": "na"}, 422,
                       "Tiêu chí này không được đánh dấu “Không áp dụng”."),
    "unknown_item": (lambda w: _zone_url(w, "draft"), lambda w: {"row_version": "1", "score-NO-SUCH-1": "2"},
                     422, UNKNOWN_ITEM),
    "unknown_item_beside_a_good_one": (lambda w: _zone_url(w, "draft"),
                                       lambda w: _score(w, "3", **{"note-NO-SUCH-1": "ghi chú"}), 422, UNKNOWN_ITEM),
    "item_of_another_zone": (lambda w: _zone_url(w, "draft"),
                             lambda w: {"row_version": "1", f"score-{w['room_item']}": "2"}, 422, UNKNOWN_ITEM),
    "note_over_5000": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "2", **{f"note-{w['item']}": "x" * 5001}),
                       422, NOTE_TOO_LONG),
    "note_only_control_characters": (lambda w: _zone_url(w, "draft"),
                                     lambda w: {"row_version": "1", f"note-{w['item']}": "\x00\x07\x1b"}, 422,
                                     "Chưa có gì để lưu: hãy chọn điểm trước."),
    "nothing_chosen": (lambda w: _zone_url(w, "draft"), lambda w: {"row_version": "1"}, 422,
                       "Chưa có gì để lưu: hãy chọn điểm trước."),
    "no_row_version": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "2", row_version=""), 422,
                       "Biểu mẫu thiếu số phiên bản; hãy tải lại trang."),
    "stale_row_version": (lambda w: _zone_url(w, "draft"), lambda w: _score(w, "2", row_version="7"), 409,
                          "Người khác vừa sửa cuộc đánh giá này"),
    "unknown_zone": (lambda w: _zone_url(w, "draft", "NO-SUCH-ZONE"), lambda w: _score(w, "2"), 404, NOT_FOUND),
    "unknown_room": (lambda w: _zone_url(w, "draft", w["classroom"], "Lớp 9Z"),
                     lambda w: {"row_version": "1", f"score-{w['room_item']}": "2"}, 404,
                     "Không có phòng này trong cuộc đánh giá."),
    "locked_audit": (lambda w: _zone_url(w, "locked"), lambda w: _score(w, "2"), 409, LOCKED),
    "another_sites_audit": (lambda w: _zone_url(w, "foreign"), lambda w: _score(w, "2"), 404, NOT_FOUND),
    "invalid_uuid": (lambda w: _zone_url(w, "not-a-uuid"), lambda w: _score(w, "2"), 404, NOT_FOUND),
    "oversize_form": (lambda w: _zone_url(w, "draft"),
                      lambda w: _score(w, "2", **{f"note-{w['item']}": "x" * (MAX_BYTES + 1)}), 413, TOO_LARGE),
    # rooms
    "room_name_only_control_characters": (*_rooms("draft", "\x00\x07\x1b"), 422,
                                          "Hãy đặt tên phòng, ví dụ “Lớp 3A”."),
    "room_name_too_long": (*_rooms("draft", "Lớp " + "A" * 200), 422, "Tên quá dài"),
    "room_on_a_zone_audited_once": (lambda w: f"/audits/{w['draft']}/rooms",
                                    lambda w: {"zone": w["zone"], "label": "Lớp 5C"}, 422,
                                    "Khu vực này chỉ đánh giá một lần; không thể thêm lần nữa."),
    "room_unknown_zone": (lambda w: f"/audits/{w['draft']}/rooms", lambda w: {"zone": "NO-SUCH", "label": "Lớp 5C"},
                          404, NOT_FOUND),
    "room_locked_audit": (*_rooms("locked"), 409, LOCKED),
    "room_another_sites_audit": (*_rooms("foreign"), 404, NOT_FOUND),
    "room_invalid_uuid": (*_rooms("not-a-uuid"), 404, NOT_FOUND),
    "remove_room_locked_audit": (*_rooms("locked", "Lớp 1A", "/remove"), 409, LOCKED),
    "remove_room_another_sites_audit": (*_rooms("foreign", "Lớp 1A", "/remove"), 404, NOT_FOUND),
    # submit and reopen
    "submit_incomplete": (lambda w: f"/audits/{w['draft']}/submit", lambda w: {}, 422, "tiêu chí chưa chấm"),
    "submit_locked_audit": (lambda w: f"/audits/{w['locked']}/submit", lambda w: {}, 409, LOCKED),
    "submit_another_sites_audit": (lambda w: f"/audits/{w['foreign']}/submit", lambda w: {}, 404, NOT_FOUND),
    "submit_invalid_uuid": (lambda w: "/audits/not-a-uuid/submit", lambda w: {}, 404, NOT_FOUND),
    "reopen_by_a_consultant": (lambda w: f"/audits/{w['locked']}/reopen", lambda w: {"reason": "Sửa điểm"}, 403,
                               "Bạn không có quyền thực hiện việc này."),
    # starting an audit
    "start_for_another_site": (lambda w: "/audits/new", _start(site="BG-OTHER"), 404, NOT_FOUND),
    "start_for_an_unknown_site": (lambda w: "/audits/new", _start(site="NOPE"), 404, NOT_FOUND),
    "start_bad_date": (lambda w: "/audits/new", _start(audit_date="hôm qua"), 422,
                       "Phải là ngày viết theo dạng YYYY-MM-DD (năm-tháng-ngày)."),
    "start_unknown_phase": (lambda w: "/audits/new", _start(phase="midterm"), 422,
                            "Đợt đánh giá không hợp lệ: midterm"),
    "start_bad_uuid": (lambda w: "/audits/new", _start(client_uuid="123"), 422, "Hãy tải lại trang và thử lại."),
    # photos through the zone page's upload form
    "photo_no_file": (lambda w: f"/audits/{w['draft']}/photos", lambda w: photo_form(w, {}), 422,
                      "Hãy chọn một ảnh để tải lên."),
    **{case: ((lambda target: lambda w: f"/audits/{w.get(target, target)}/photos")(target),
              (lambda fields: lambda w: photo_form(w, fields(w)))(fields), status, message)
       for case, (target, fields, status, _code, message) in PHOTO_CASES.items()},
}


@pytest.mark.parametrize("case", FORM_CASES, ids=list(FORM_CASES))
def test_bad_form_input_is_refused_and_changes_nothing(client, db, media_root, login, world, case):
    url, form, status, message = FORM_CASES[case]
    login(client, world["consultant"].username)
    before, files = database_state(db), media_state(media_root)
    data = form(world)
    multipart = {"content_type": "multipart/form-data"} if "/photos" in url(world) else {}
    resp = client.form_post(url(world), data, **multipart)
    _assert_refused_page(resp, status, message)
    assert database_state(db) == before
    assert media_state(media_root) == files


def _assert_refused_page(resp, status: int, message: str) -> None:
    """An HTML page with the status and the message (the database and media checks follow)."""
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == status, page_text(html)
    assert resp.mimetype == "text/html"
    assert message in html, page_text(html)


def _site_form(**fields):
    return lambda w: {"code": "BG-NEW", "name": "Trường Tiểu học Mới", "kind": "school", "active": "y", **fields}


def _site_edit_url(w) -> str:
    return f"/admin/sites/{db.session.scalar(select(Site.id).where(Site.code == 'BG-OWN'))}"


def _user_form(**fields):
    return lambda w: {"username": "nguoi.moi", "full_name": "Nguyễn Văn Mới", "role": "consultant", "site": "",
                      "assigned": "BG-OWN", "active": "y", "password": PASSWORD, **fields}


def _user_edit(**fields):
    """The world's consultant, through the edit form (its username is a hidden field there)."""
    return lambda w: {"username": w["consultant"].username, "full_name": "Nguyễn Văn Sửa", "role": "consultant",
                      "site": "", "assigned": "BG-OWN", "active": "y", "password": "", **fields}


def _user_edit_url(w) -> str:
    return f"/admin/users/{w['consultant'].id}"


REQUIRED = "Trường này là bắt buộc."
ROLES_ARE = "Phải là một trong các giá trị: admin, reviewer, consultant, principal, staff."
NEEDS_A_SITE = "Hiệu trưởng hoặc nhân viên phải thuộc một cơ sở: hãy chọn cơ sở."
SHORT_PASSWORD = "Mật khẩu phải có ít nhất 8 ký tự."
BAD_USERNAME = "Tên đăng nhập dài từ 1 đến 80 ký tự, không có dấu cách."

# The admin's user forms (create, edit): case id -> (url(w), form(w), status, message | message(w))
USER_FORM_CASES = {
    "username_empty": (lambda w: "/admin/users/new", _user_form(username=""), 422, REQUIRED),
    "username_only_control_characters": (lambda w: "/admin/users/new", _user_form(username="\x00\x07\x1b"), 422,
                                         REQUIRED),
    "username_too_long": (lambda w: "/admin/users/new", _user_form(username="u" * 81), 422, "Tối đa 80 ký tự."),
    "username_with_spaces": (lambda w: "/admin/users/new", _user_form(username="nguoi moi"), 422, BAD_USERNAME),
    "username_with_a_tab": (lambda w: "/admin/users/new", _user_form(username="nguoi\tmoi"), 422, BAD_USERNAME),
    "username_taken": (lambda w: "/admin/users/new", lambda w: _user_form(username=w["consultant"].username)(w),
                       422, lambda w: f"Tên đăng nhập {w['consultant'].username} đã có người dùng."),
    "username_taken_other_case": (lambda w: "/admin/users/new",
                                  lambda w: _user_form(username=w["consultant"].username.upper())(w), 422,
                                  lambda w: f"Tên đăng nhập {w['consultant'].username.upper()} đã có người dùng."),
    "full_name_empty": (lambda w: "/admin/users/new", _user_form(full_name=""), 422, REQUIRED),
    "full_name_only_control_characters": (lambda w: "/admin/users/new", _user_form(full_name="\x00\x07 \x1b"), 422,
                                          REQUIRED),
    "full_name_too_long": (lambda w: "/admin/users/new", _user_form(full_name="T" * 201), 422, "Tối đa 200 ký tự."),
    "unknown_role": (lambda w: "/admin/users/new", _user_form(role="superuser"), 422, ROLES_ARE),
    "principal_without_site": (lambda w: "/admin/users/new", _user_form(role="principal"), 422, NEEDS_A_SITE),
    "staff_without_site": (lambda w: "/admin/users/new", _user_form(role="staff"), 422, NEEDS_A_SITE),
    "unknown_site": (lambda w: "/admin/users/new", _user_form(role="principal", site="NOPE"), 422,
                     "Không có cơ sở nào có mã NOPE."),
    "unknown_assigned_site": (lambda w: "/admin/users/new", _user_form(assigned="NOPE"), 422,
                              "Không có cơ sở nào có mã NOPE."),
    "no_password": (lambda w: "/admin/users/new", _user_form(password=""), 422,
                    "Người dùng mới cần có mật khẩu (ít nhất 8 ký tự)."),
    "password_too_short": (lambda w: "/admin/users/new", _user_form(password="1234567"), 422, SHORT_PASSWORD),
    "password_too_long": (lambda w: "/admin/users/new", _user_form(password="p" * 201), 422, "Tối đa 200 ký tự."),
    "edit_full_name_empty": (_user_edit_url, _user_edit(full_name=""), 422, REQUIRED),
    "edit_full_name_only_control_characters": (_user_edit_url, _user_edit(full_name="\x00\x07 \x1b"), 422,
                                               REQUIRED),
    "edit_unknown_role": (_user_edit_url, _user_edit(role="superuser"), 422, ROLES_ARE),
    "edit_principal_without_site": (_user_edit_url, _user_edit(role="principal"), 422, NEEDS_A_SITE),
    "edit_staff_without_site": (_user_edit_url, _user_edit(role="staff"), 422, NEEDS_A_SITE),
    "edit_unknown_site": (_user_edit_url, _user_edit(role="principal", site="NOPE"), 422,
                          "Không có cơ sở nào có mã NOPE."),
    "edit_unknown_assigned_site": (_user_edit_url, _user_edit(assigned="NOPE"), 422,
                                   "Không có cơ sở nào có mã NOPE."),
    "edit_password_too_short": (_user_edit_url, _user_edit(password="1234567"), 422, SHORT_PASSWORD),
    "edit_unknown_user": (lambda w: "/admin/users/999999", _user_edit(), 404, NOT_FOUND),
}


# The admin's site and user forms: case id -> (url(w), form(w), status, the (Vietnamese) message on the page)
ADMIN_FORM_CASES = {
    "site_name_empty": (lambda w: "/admin/sites/new", _site_form(name=""), 422, "Trường này là bắt buộc."),
    "site_name_only_control_characters": (lambda w: "/admin/sites/new", _site_form(name="\x00\x07\x1b"), 422,
                                          "Trường này là bắt buộc."),
    "site_name_too_long": (lambda w: "/admin/sites/new", _site_form(name="T" * 201), 422, "Tối đa 200 ký tự."),
    "site_code_with_spaces": (lambda w: "/admin/sites/new", _site_form(code="BG 01"), 422,
                              "Chỉ dùng chữ, số, dấu - và _."),
    "site_code_taken": (lambda w: "/admin/sites/new", _site_form(code="bg-own"), 422, "Mã này đã được dùng."),
    "site_unknown_kind": (lambda w: "/admin/sites/new", _site_form(kind="hospital"), 422,
                          "Phải là một trong các giá trị: school, clinic."),
    "site_edit_name_only_control_characters": (_site_edit_url, _site_form(code="BG-OWN", name="\x00 \x1b"), 422,
                                               "Trường này là bắt buộc."),
    "site_edit_unknown_site": (lambda w: "/admin/sites/999999", _site_form(), 404, NOT_FOUND),
    **{f"user_{case}": spec for case, spec in USER_FORM_CASES.items()},
}


@pytest.mark.parametrize("case", ADMIN_FORM_CASES, ids=list(ADMIN_FORM_CASES))
def test_bad_admin_form_input_is_refused_and_changes_nothing(client, db, media_root, login_as, world, case):
    url, form, status, message = ADMIN_FORM_CASES[case]
    login_as("admin")
    message = message(world) if callable(message) else message
    before, files = database_state(db), media_state(media_root)
    resp = client.form_post(url(world), form(world))
    _assert_refused_page(resp, status, message)
    assert database_state(db) == before
    assert media_state(media_root) == files


@pytest.fixture
def login():
    from tests.conftest import login as _login

    return _login


# ---------------------------------------------------------------- stored verbatim, shown escaped
def _assert_escaped(html: str, raw: str = SCRIPT, shown: str | None = None) -> None:
    """`raw` never reaches the page as markup; `shown` (default: `raw`) is on it, escaped."""
    assert raw not in html, "raw markup reached the page"
    assert "&lt;script&gt;" in html, "the text should be shown, escaped"
    assert str(escape(shown or raw)) in html, "the whole text should be shown, escaped"


def test_script_in_a_note_is_stored_verbatim_and_shown_escaped(client, db, login, world):
    note = f"Bàn ghế {SCRIPT} & <b>đậm</b>"
    resp = client.put(f"/api/v1/audits/{world['draft']}/answers", headers={"Authorization": f"Bearer {world['token']}"},
                      json=answer(world, note=note))
    assert resp.status_code == 200
    assert next(a["note"] for a in resp.get_json()["answers"] if a["item"] == world["item"]) == note
    assert db.session.scalar(select(Answer.note).where(Answer.note.like("%script%"))) == note
    login(client, world["consultant"].username)
    for page in (_zone_url(world, "draft"), f"/audits/{world['draft']}/summary"):
        html = client.get(page).get_data(as_text=True)
        assert "<b>đậm</b>" not in html
        _assert_escaped(html)
    history = client.get(f"/audits/{world['draft']}/history").get_data(as_text=True)
    assert SCRIPT not in history and "<b>đậm</b>" not in history


def test_script_in_names_is_stored_verbatim_and_shown_escaped(client, db, login_as, world):
    admin = login_as("admin")
    site_name = f"Trường {SCRIPT}"
    resp = client.form_post("/admin/sites/new", {"code": "BG-XSS", "name": site_name, "kind": "school",
                                                 "active": "y"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert db.session.scalar(select(Site.name).where(Site.code == "BG-XSS")) == site_name
    for page in ("/", "/sites/BG-XSS", "/admin/sites/"):
        _assert_escaped(client.get(page).get_data(as_text=True))

    site_id = db.session.scalar(select(Site.id).where(Site.code == "BG-XSS"))
    _assert_escaped(client.get(f"/admin/sites/{site_id}").get_data(as_text=True), shown=site_name)

    # a room name, shown on the audit's zone list and its zone page
    resp = client.form_post(f"/audits/{world['draft']}/rooms", {"zone": "classroom", "label": f"Lớp {SCRIPT}"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Room.name).where(Room.name.like("%script%"))) == f"Lớp {SCRIPT}"
    _assert_escaped(client.get(f"/audits/{world['draft']}").get_data(as_text=True), shown=f"Lớp {SCRIPT}")
    _assert_escaped(client.get(_zone_url(world, "draft", "classroom", f"Lớp {SCRIPT}")).get_data(as_text=True),
                    shown=f"Lớp {SCRIPT}")

    # a person's name, shown in the user list and the event log
    user = make_user("staff", site=make_site(), full_name=f"Cô {SCRIPT}")
    db.session.commit()
    assert admin.role == "admin" and user.full_name == f"Cô {SCRIPT}"
    _assert_escaped(client.get("/admin/users/").get_data(as_text=True))


def test_script_in_a_note_through_the_zone_form_is_stored_verbatim_and_shown_escaped(client, db, login, world):
    login(client, world["consultant"].username)
    note = f"Bàn ghế {SCRIPT} & <b>đậm</b>"
    url = _zone_url(world, "draft")
    # refused (bad score): the posted note comes back in the form, escaped
    resp = client.form_post(url, _score(world, "7", **{f"note-{world['item']}": note}))
    assert resp.status_code == 422
    _assert_escaped(resp.get_data(as_text=True), shown=note)
    # saved: verbatim in the database, escaped on every page that shows it
    resp = client.form_post(url, _score(world, "2", **{f"note-{world['item']}": note}))
    assert resp.status_code == 302, page_text(unescape(resp.get_data(as_text=True)))
    assert db.session.scalar(select(Answer.note).where(Answer.note.like("%script%"))) == note
    for page in (url, f"/audits/{world['draft']}/summary"):
        html = client.get(page).get_data(as_text=True)
        assert "<b>đậm</b>" not in html
        _assert_escaped(html, shown=note)


def test_script_in_a_users_name_through_the_admin_user_form_is_stored_verbatim_and_shown_escaped(
        client, db, login_as, login, world):
    login_as("admin")
    name = f"Cô {SCRIPT}"
    resp = client.form_post("/admin/users/new", {
        "username": "co.xss", "full_name": name, "role": "consultant", "site": "", "assigned": "BG-OWN",
        "active": "y", "password": PASSWORD})
    assert resp.status_code == 302, page_text(unescape(resp.get_data(as_text=True)))
    user = db.session.scalar(select(User).where(User.username == "co.xss"))
    assert user.full_name == name
    for page in ("/admin/users/", f"/admin/users/{user.id}"):
        _assert_escaped(client.get(page).get_data(as_text=True), shown=name)

    name = f"Thầy {SCRIPT} & <b>đậm</b>"  # changed through the edit form
    resp = client.form_post(f"/admin/users/{user.id}", {
        "username": "co.xss", "full_name": name, "role": "consultant", "site": "", "assigned": "BG-OWN",
        "active": "y"})
    assert resp.status_code == 302, page_text(unescape(resp.get_data(as_text=True)))
    db.session.expire_all()
    assert db.session.get(User, user.id).full_name == name
    _assert_escaped(client.get("/admin/users/").get_data(as_text=True), shown=name)

    # the person at work: their name in the header, on the audit they start, beside their answers
    assert login(client, "co.xss").status_code == 302
    _assert_escaped(client.get("/").get_data(as_text=True), shown=name)
    html = client.get("/audits/new?site=BG-OWN").get_data(as_text=True)
    client_uuid = re.search(r'name="client_uuid"[^>]*value="([^"]+)"', html).group(1)
    resp = client.form_post("/audits/new", {"site": "BG-OWN", "phase": "periodic", "audit_date": "2023-06-01",
                                            "client_uuid": client_uuid})
    assert resp.status_code == 302
    audit = {"draft": client_uuid, "zone": world["zone"]}
    assert client.form_post(_zone_url(audit, "draft"), _score(world, "3")).status_code == 302
    for page in (f"/audits/{client_uuid}/summary", "/sites/BG-OWN", _zone_url(audit, "draft")):
        html = client.get(page).get_data(as_text=True)
        assert "<b>đậm</b>" not in html
        _assert_escaped(html, shown=name)


def test_control_characters_are_removed_from_a_note_saved_through_the_form(client, db, login, world):
    login(client, world["consultant"].username)
    resp = client.form_post(_zone_url(world, "draft"),
                            _score(world, "2", **{f"note-{world['item']}": "Sạch\x00 sẽ\x1b\x07 gọn\tgàng\r\nhết"}))
    assert resp.status_code == 302
    assert db.session.scalar(select(Answer.note).where(Answer.note.like("Sạch%"))) == "Sạch sẽ gọn\tgàng\nhết"
    # the same note posted again (a browser sends CRLF) is no change: nothing to save
    before = database_state(db)
    resp = client.form_post(_zone_url(world, "draft"),
                            {"row_version": "2", f"note-{world['item']}": "Sạch sẽ gọn\tgàng\r\nhết"})
    assert resp.status_code == 422
    assert "Chưa có gì để lưu: hãy chọn điểm trước." in unescape(resp.get_data(as_text=True))
    assert database_state(db) == before


def test_control_characters_are_removed_from_saved_text(client, db, world):
    """Control characters never reach the database; the rest of the text is kept (NFC)."""
    resp = client.put(f"/api/v1/audits/{world['draft']}/answers",
                      headers={"Authorization": f"Bearer {world['token']}"},
                      json=answer(world, note="Sạch\x00 sẽ\x1b\x07 gọn\tgàng"))
    assert resp.status_code == 200
    stored = db.session.scalar(select(Answer.note).where(Answer.note.like("S%")))
    assert stored is not None and not any(ord(c) < 32 and c not in "\t\n" for c in stored)
    assert "Sạch" in stored and "gàng" in stored


@pytest.mark.parametrize("path", ["/api/v1/audits?site=TH%00X", "/api/v1/sites/TH%00X", "/sites/TH%00X",
                                  "/api/v1/sites/TH%01X/comparison"])
def test_a_site_code_with_a_nul_or_control_character_is_a_404_on_either_database(client, db, login_as, world, path):
    login_as("admin")
    resp = client.get(path)
    assert resp.status_code == 404
