"""The bad-input matrix across the HTML forms and the API: each case gets its 4xx, a clear
message, and leaves the database (row counts AND a digest of every row of every table) and the
media folder exactly as they were. HTML or script in notes and names is stored verbatim and
always shown escaped.

Per-feature cases live with their features (tests/test_capture.py BAD_INPUT, tests/test_api.py,
tests/test_api_photos.py, tests/test_photos.py); this file adds the whole-installation
"nothing changed" check and the cases between features.
"""
from __future__ import annotations

import hashlib
import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from fivs.audits.models import Answer
from tests.api_support import token_for
from tests.factories import answer_all, make_audit, make_site, make_user

SCRIPT = "<script>alert('x')</script>"
MAX_BYTES = 256 * 1024


@pytest.fixture
def app_config():
    return {"MAX_CONTENT_LENGTH": MAX_BYTES}  # small, so an oversize request is cheap to send


# ---------------------------------------------------------------- "exactly as before"
def database_state(db) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of every row in primary-key order)."""
    db.session.commit()
    state = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
    return state


def media_state(media_root) -> dict[str, str]:
    return {str(p.relative_to(media_root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(media_root.rglob("*")) if p.is_file()}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


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
    token = token_for(consultant)
    resp = client.post(f"/api/v1/audits/{draft.uuid}/photos", headers={"Authorization": f"Bearer {token}"},
                       data={"id": str(uuid.uuid4()), "item": zone.items[0].code,
                             "file": (io.BytesIO(jpeg()), "p.jpg")})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert media_state(media_root), "the media folder should hold the photo"
    return {"consultant": consultant, "token": token, "draft": str(draft.uuid), "locked": str(locked.uuid),
            "foreign": str(foreign.uuid), "item": zone.items[0].code, "zone": zone.code,
            "non_na_item": next(i.code for i in zone.items if not i.na_allowed)}


def answer(w, **fields) -> dict:
    return {"row_version": 1, "answers": [{"item": w["item"], "score": 2, **fields}]}


# case id -> (method, path(w), body(w) as JSON | bytes+content type, status, error code)
API_CASES = {
    "score_5": ("PUT", "draft", lambda w: answer(w, score=5), 422, "validation_error"),
    "score_negative": ("PUT", "draft", lambda w: answer(w, score=-1), 422, "validation_error"),
    "score_fraction": ("PUT", "draft", lambda w: answer(w, score=2.5), 422, "validation_error"),
    "score_text": ("PUT", "draft", lambda w: answer(w, score="three"), 422, "validation_error"),
    "score_boolean": ("PUT", "draft", lambda w: answer(w, score=True), 422, "validation_error"),
    "unknown_item": ("PUT", "draft", lambda w: answer(w, item="NO-SUCH-1"), 422, "validation_error"),
    "room_not_text": ("PUT", "draft", lambda w: answer(w, zone_instance=["Lớp 9Z"]), 422, "validation_error"),
    "room_on_a_zone_audited_once": ("PUT", "draft", lambda w: answer(w, zone_instance="Lớp 9Z"), 422,
                                    "validation_error"),
    "na_not_allowed": ("PUT", "draft", lambda w: answer(w, item=w["non_na_item"], score=None, na=True), 422,
                       "validation_error"),
    "note_over_5000": ("PUT", "draft", lambda w: answer(w, note="x" * 5001), 422, "validation_error"),
    "note_not_text": ("PUT", "draft", lambda w: answer(w, note={"a": 1}), 422, "validation_error"),
    "answers_not_a_list": ("PUT", "draft", lambda w: {"row_version": 1, "answers": "all"}, 422,
                           "validation_error"),
    "no_row_version": ("PUT", "draft", lambda w: {"answers": answer(w)["answers"]}, 422, "validation_error"),
    "stale_row_version": ("PUT", "draft", lambda w: {**answer(w), "row_version": 7}, 409, "stale_row_version"),
    "locked_audit": ("PUT", "locked", lambda w: {**answer(w), "row_version": 1}, 409, None),
    "another_sites_audit": ("PUT", "foreign", lambda w: {**answer(w), "row_version": 1}, 404, "not_found"),
    "invalid_uuid": ("PUT", "not-a-uuid", answer, 404, "not_found"),
    "malformed_json": ("PUT", "draft", lambda w: (b'{"row_version": 1, "answers": [', "application/json"),
                       400, "malformed_json"),
    "wrong_content_type": ("PUT", "draft", lambda w: (b"row_version=1", "application/x-www-form-urlencoded"),
                           415, "unsupported_media_type"),
    "oversize_body": ("PUT", "draft", lambda w: answer(w, note="x" * (MAX_BYTES + 1)), 413, "too_large"),
    "json_not_an_object": ("PUT", "draft", lambda w: ([1, 2], None), 422, "validation_error"),
    "create_audit_bad_uuid": ("POST", None, lambda w: {"id": "123", "site": "BG-OWN", "phase": "baseline",
                                                       "date": "2023-05-10"}, 422, "validation_error"),
    "create_audit_another_site": ("POST", None, lambda w: {"id": str(uuid.uuid4()), "site": "BG-OTHER",
                                                           "phase": "baseline", "date": "2023-05-10"},
                                  404, "not_found"),
    "photo_not_an_image": ("PHOTO", "draft", lambda w: b"%PDF-1.4 not a photo", 415, "not_an_image"),
}


def _send_api(client, w, method, target, body):
    headers = {"Authorization": f"Bearer {w['token']}"}
    audit_id = w.get(target, target)
    if method == "POST":
        return client.post("/api/v1/audits", json=body, headers=headers)
    if method == "PHOTO":
        return client.post(f"/api/v1/audits/{audit_id}/photos", headers=headers,
                           data={"id": str(uuid.uuid4()), "file": (io.BytesIO(body), "p.jpg")})
    path = f"/api/v1/audits/{audit_id}/answers"
    if isinstance(body, tuple):
        data, content_type = body
        if content_type is None:
            return client.put(path, json=data, headers=headers)
        return client.put(path, data=data, content_type=content_type, headers=headers)
    return client.put(path, json=body, headers=headers)


@pytest.mark.parametrize("case", API_CASES, ids=list(API_CASES))
def test_bad_api_input_is_refused_and_changes_nothing(client, db, media_root, world, case):
    method, target, body, status, code = API_CASES[case]
    before, files = database_state(db), media_state(media_root)
    resp = _send_api(client, world, method, target, body(world))
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    error = resp.get_json()["error"]
    assert error["message"].strip(), "a clear message"
    if code:
        assert error["code"] == code
    assert database_state(db) == before
    assert media_state(media_root) == files


# ---------------------------------------------------------------- HTML forms
def _zone_url(w, audit_key: str, zone: str | None = None) -> str:
    return f"/audits/{w.get(audit_key, audit_key)}/zones/{zone or w['zone']}"


# case id -> (url(w), form(w), status, a fragment of the (Vietnamese) message or None)
FORM_CASES = {
    "unknown_zone": (lambda w: _zone_url(w, "draft", "NO-SUCH-ZONE"), lambda w: {"row_version": "1"}, 404, None),
    "locked_audit": (lambda w: _zone_url(w, "locked"), lambda w: {"row_version": "1", f"score-{w['item']}": "2"},
                     409, None),
    "another_sites_audit": (lambda w: _zone_url(w, "foreign"),
                            lambda w: {"row_version": "1", f"score-{w['item']}": "2"}, 404, None),
    "invalid_uuid": (lambda w: _zone_url(w, "not-a-uuid"), lambda w: {"row_version": "1"}, 404, None),
    "score_minus_one": (lambda w: _zone_url(w, "draft"), lambda w: {"row_version": "1", f"score-{w['item']}": "-1"},
                        422, "Điểm là số nguyên từ 0 đến 4."),
    "oversize_form": (lambda w: _zone_url(w, "draft"),
                      lambda w: {"row_version": "1", f"note-{w['item']}": "x" * (MAX_BYTES + 1)}, 413, None),
    "room_name_only_controls": (lambda w: f"/audits/{w['draft']}/rooms",
                                lambda w: {"zone": "classroom", "label": "\x00\x07\x1b"}, 422, None),
    "audit_for_unknown_site": (lambda w: "/audits/new",
                               lambda w: {"site": "NOPE", "phase": "baseline", "audit_date": "2023-05-10",
                                          "client_uuid": str(uuid.uuid4())}, 404, None),
}


@pytest.mark.parametrize("case", FORM_CASES, ids=list(FORM_CASES))
def test_bad_form_input_is_refused_and_changes_nothing(client, db, media_root, login, world, case):
    url, form, status, message = FORM_CASES[case]
    login(client, world["consultant"].username)
    before, files = database_state(db), media_state(media_root)
    resp = client.form_post(url(world), form(world))
    html = resp.get_data(as_text=True)
    assert resp.status_code == status, html[:500]
    assert "<h1" in html or "<main" in html, "an HTML page with a message, not a bare error"
    if message:
        assert message in html
    assert database_state(db) == before
    assert media_state(media_root) == files


@pytest.fixture
def login():
    from tests.conftest import login as _login

    return _login


# ---------------------------------------------------------------- stored verbatim, shown escaped
def _assert_escaped(html: str, raw: str = SCRIPT) -> None:
    assert raw not in html, "raw markup reached the page"
    assert "&lt;script&gt;" in html, "the text should be shown, escaped"


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
    from fivs.sites.models import Site

    assert db.session.scalar(select(Site.name).where(Site.code == "BG-XSS")) == site_name
    for page in ("/", "/sites/BG-XSS", "/admin/sites/"):
        _assert_escaped(client.get(page).get_data(as_text=True))

    # a room name, shown on the audit's zone list
    client.form_post(f"/audits/{world['draft']}/rooms", {"zone": "classroom", "label": f"Lớp {SCRIPT}"})
    _assert_escaped(client.get(f"/audits/{world['draft']}").get_data(as_text=True))

    # a person's name, shown in the user list and the event log
    user = make_user("staff", site=make_site(), full_name=f"Cô {SCRIPT}")
    db.session.commit()
    assert admin.role == "admin" and user.full_name == f"Cô {SCRIPT}"
    _assert_escaped(client.get("/admin/users/").get_data(as_text=True))


def test_control_characters_are_removed_from_saved_text(client, db, world):
    """Control characters never reach the database; the rest of the text is kept (NFC)."""
    resp = client.put(f"/api/v1/audits/{world['draft']}/answers",
                      headers={"Authorization": f"Bearer {world['token']}"},
                      json=answer(world, note="Sạch\x00 sẽ\x1b\x07 gọn\tgàng"))
    assert resp.status_code == 200
    stored = db.session.scalar(select(Answer.note).where(Answer.note.like("S%")))
    assert stored is not None and not any(ord(c) < 32 and c not in "\t\n" for c in stored)
    assert "Sạch" in stored and "gàng" in stored
