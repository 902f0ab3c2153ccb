"""JSON API v1: auth, scopes, idempotent audits, answers, submit/reopen, errors.

Every response goes through `api` (tests/api_support.py), which validates it against the
OpenAPI document.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fivs.audits.models import Answer, Audit
from fivs.audits.services import audit_scores
from fivs.auth.models import ApiToken
from fivs.auth.services import revoke_tokens
from fivs.timeutil import utcnow
from tests.api_support import api, token_for  # noqa: F401  (fixture)
from tests.conftest import login
from tests.factories import answer_all, make_audit, make_site, make_user


@pytest.fixture
def site(db):
    site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
    db.session.commit()
    return site


@pytest.fixture
def other_site(db):
    site = make_site(code="BG-TH02")
    db.session.commit()
    return site


@pytest.fixture
def consultant(db, site):
    user = make_user("consultant", site=site)
    db.session.commit()
    return user


def audit_body(site_code="BG-TH01", **kw):
    return {"id": str(uuid.uuid4()), "site": site_code, "phase": "baseline", "date": "2023-05-10", **kw}


def audit_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Audit))


def error_of(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


# ---------------------------------------------------------------- tokens
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "fivs_abc"])
def test_missing_or_wrong_token_is_401(api, consultant, header):
    headers = {"Authorization": header} if header else {}
    resp = api.get("/sites", token=None, headers=headers)
    assert resp.status_code == 401
    assert error_of(resp)["code"] in ("unauthorized", "invalid_token")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(api, consultant, db):
    api.login(consultant)
    assert api.get("/sites").status_code == 200
    revoke_tokens(consultant)
    db.session.commit()
    resp = api.get("/sites")
    assert resp.status_code == 401 and error_of(resp)["code"] == "invalid_token"


def test_token_of_deactivated_user_is_401(api, consultant, db):
    api.login(consultant)
    consultant.active = False
    db.session.commit()
    assert api.get("/sites").status_code == 401


def test_bearer_request_sets_no_login_session(api, consultant):
    api.login(consultant)
    resp = api.get("/sites")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers  # no session cookie at all
    with api.client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_last_used_at_is_written_at_most_once_a_minute(api, consultant, db):
    api.login(consultant)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == consultant.id))
    assert row.last_used_at is None
    api.get("/sites")
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None
    api.get("/sites")
    db.session.refresh(row)
    assert row.last_used_at == first
    row.last_used_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    api.get("/sites")
    db.session.refresh(row)
    assert row.last_used_at > first


def test_cli_issues_and_revokes_tokens(app, api, consultant, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "token", consultant.username, "--name", "Máy tính bảng 1"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("fivs_")
    assert api.get("/sites", token=token).status_code == 200
    stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == consultant.id))
    assert stored.name == "Máy tính bảng 1" and token not in stored.token_hash
    result = runner.invoke(args=["users", "revoke-token", consultant.username])
    assert result.exit_code == 0 and "1 token(s) revoked" in result.output
    assert api.get("/sites", token=token).status_code == 401


def test_cli_token_for_unknown_user_fails(app):
    result = app.test_cli_runner().invoke(args=["users", "token", "nobody"])
    assert result.exit_code == 1 and "no user" in result.output


# ---------------------------------------------------------------- session cookie + CSRF
def _cookie_audit(client, db, site):
    user = make_user("consultant", site=site)
    audit = make_audit(site, user)
    db.session.commit()
    assert login(client, user.username).status_code == 302
    return audit


def _put_one(api, audit, headers, score=3, token="default"):
    item = next(i.code for i in audit.template.items if not i.zone.repeats)
    return api.put(f"/audits/{audit.uuid}/answers", token=token, headers=headers,
                   json={"row_version": audit.row_version, "answers": [{"item": item, "score": score}]})


def test_cookie_session_reads_without_csrf(api, client, db, site):
    audit = _cookie_audit(client, db, site)
    resp = api.get(f"/audits/{audit.uuid}", token=None)
    assert resp.status_code == 200 and resp.get_json()["id"] == str(audit.uuid)


@pytest.mark.parametrize("csrf", [None, "wrong-token"])
def test_cookie_put_without_valid_csrf_header_is_400(api, client, db, site, csrf):
    audit = _cookie_audit(client, db, site)
    headers = {"X-CSRFToken": csrf} if csrf else {}
    resp = _put_one(api, audit, headers, token=None)
    assert resp.status_code == 400 and error_of(resp)["code"] == "csrf"
    db.session.refresh(audit)
    assert audit.row_version == 1 and audit.answers == []


def test_cookie_put_with_csrf_header_saves(api, client, db, site):
    audit = _cookie_audit(client, db, site)
    resp = _put_one(api, audit, {"X-CSRFToken": client.csrf()}, token=None)
    assert resp.status_code == 200 and resp.get_json()["row_version"] == 2, resp.get_json()


def test_bearer_put_needs_no_csrf(api, consultant, db, site):
    audit = make_audit(site, consultant)
    api.login(consultant)
    assert _put_one(api, audit, {}, score=2).status_code == 200


# ---------------------------------------------------------------- scope and roles
def test_sites_are_scoped(api, consultant, other_site):
    api.login(consultant)
    codes = [s["code"] for s in api.get("/sites").get_json()["sites"]]
    assert codes == ["BG-TH01"]
    assert api.get("/sites/BG-TH01").get_json()["name"] == "Trường Tiểu học Thị trấn An Châu"
    assert api.get("/sites/BG-TH02").status_code == 404
    assert api.get("/sites/NOPE").status_code == 404


def test_another_sites_audit_is_404_everywhere(api, consultant, db, other_site):
    other = make_audit(other_site, make_user("consultant", site=other_site))
    db.session.commit()
    api.login(consultant)
    path = f"/audits/{other.uuid}"
    assert api.get(path).status_code == 404
    assert api.put(path + "/answers", json={"row_version": 1, "answers": [{"item": "x"}]}).status_code == 404
    assert api.post(path + "/submit").status_code == 404
    assert api.get("/audits?site=BG-TH02").status_code == 404
    assert api.get("/audits").get_json()["audits"] == []


@pytest.mark.parametrize("audit_id", ["not-a-uuid", str(uuid.uuid4())], ids=["not-a-uuid", "no-such-uuid"])
def test_unknown_audit_is_404(api, consultant, audit_id):
    api.login(consultant)
    resp = api.get(f"/audits/{audit_id}")
    assert resp.status_code == 404 and error_of(resp)["code"] == "not_found"


@pytest.mark.parametrize("role, kind", [("consultant", "consultant"), ("principal", "self"),
                                        ("staff", "self"), ("admin", "consultant")])
def test_kind_follows_role(api, db, site, role, kind):
    api.login(make_user(role, site=site))
    resp = api.post("/audits", json=audit_body())
    assert resp.status_code == 201 and resp.get_json()["kind"] == kind


def test_reviewer_may_see_but_not_start_audits(api, db, site):
    api.login(make_user("reviewer"))
    assert api.get("/sites/BG-TH01").status_code == 200
    resp = api.post("/audits", json=audit_body())
    assert resp.status_code == 403
    assert audit_count(db) == 0


def test_principal_cannot_start_at_another_site(api, db, site, other_site):
    api.login(make_user("principal", site=site))
    assert api.post("/audits", json=audit_body("BG-TH02")).status_code == 404
    assert audit_count(db) == 0


def test_principal_cannot_change_a_consultant_audit(api, db, site, consultant):
    audit = make_audit(site, consultant)
    api.login(make_user("principal", site=site))
    assert _put_one(api, audit, {}).status_code == 403


# ---------------------------------------------------------------- create: idempotent
def test_idempotent_create(api, consultant, db):
    api.login(consultant)
    body = audit_body()
    first = api.post("/audits", json=body)
    assert first.status_code == 201
    assert first.headers["Location"].endswith(f"/api/v1/audits/{body['id']}")
    again = api.post("/audits", json=body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert audit_count(db) == 1


@pytest.mark.parametrize("change", [{"phase": "final"}, {"date": "2023-05-11"}])
def test_conflicting_replay_is_409(api, consultant, db, change):
    api.login(consultant)
    body = audit_body()
    assert api.post("/audits", json=body).status_code == 201
    resp = api.post("/audits", json={**body, **change})
    assert resp.status_code == 409 and error_of(resp)["code"] == "id_conflict"
    audit = db.session.scalar(select(Audit))
    assert (audit.phase, audit.audit_date.isoformat(), audit_count(db)) == ("baseline", "2023-05-10", 1)


def test_create_with_explicit_checklist(api, consultant):
    api.login(consultant)
    resp = api.post("/audits", json=audit_body(checklist={"key": "school-5s", "version": 1}))
    assert resp.status_code == 201
    audit = resp.get_json()
    assert audit["checklist"] == {"key": "school-5s", "version": 1}
    assert audit["row_version"] == 1 and audit["status"] == "draft" and audit["answers"] == []


@pytest.mark.parametrize("change, field", [
    ({"id": None}, "id"),
    ({"id": "1234"}, "id"),
    ({"id": 5}, "id"),
    ({"site": None}, "site"),
    ({"site": ["BG-TH01"]}, "site"),
    ({"phase": "midterm"}, "phase"),
    ({"date": "10/05/2023"}, "date"),
    ({"date": "2023-13-01"}, "date"),
    ({"date": 20230510}, "date"),
    ({"checklist": "school-5s"}, "checklist"),
    ({"checklist": {"key": "school-5s"}}, "checklist"),
    ({"checklist": {"key": "school-5s", "version": "1"}}, "checklist"),
    ({"checklist": {"key": "nope", "version": 1}}, "checklist"),
])
def test_create_rejects_bad_fields(api, consultant, db, change, field):
    api.login(consultant)
    resp = api.post("/audits", json={**audit_body(), **change})
    assert resp.status_code == 422
    error = error_of(resp)
    assert error["code"] == "validation_error" and error["message"]
    assert [d["field"] for d in error["details"]] == [field]
    assert audit_count(db) == 0


def test_create_with_clinic_checklist_at_school_is_422(api, consultant, db):
    api.login(consultant)
    resp = api.post("/audits", json=audit_body(checklist={"key": "clinic-5s", "version": 1}))
    assert resp.status_code == 422 and audit_count(db) == 0


@pytest.mark.parametrize("data, content_type, status, code", [
    ("{not json", "application/json", 400, "malformed_json"),
    ("", "application/json", 400, "malformed_json"),
    (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
    ("[" * 100_000 + "]" * 100_000, "application/json", 400, "malformed_json"),
    ('{"id": "x"}', "text/plain", 415, "unsupported_media_type"),
    ("id=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("[]", "application/json", 422, "validation_error"),
    ('"text"', "application/json", 422, "validation_error"),
    ("null", "application/json", 422, "validation_error"),
])
def test_body_shape_errors(api, consultant, db, data, content_type, status, code):
    api.login(consultant)
    resp = api.post("/audits", data=data, content_type=content_type)
    assert resp.status_code == status
    assert error_of(resp)["code"] == code
    assert audit_count(db) == 0


# ---------------------------------------------------------------- read
def test_audit_has_answers_and_unrounded_scores(api, consultant, db, site):
    audit = make_audit(site, consultant)
    answer_all(audit, lambda item: (item.position % 5) if item.position % 7 else None)
    db.session.commit()
    api.login(consultant)
    body = api.get(f"/audits/{audit.uuid}").get_json()
    expected = audit_scores(db.session.get(Audit, audit.id))
    assert body["scores"] == {"by_s": expected.by_s, "by_zone": expected.by_zone, "overall": expected.overall}
    assert any(v is not None and v != round(v, 1) for v in body["scores"]["by_s"].values())
    assert len(body["answers"]) == len(audit.answers)
    rooms = [zi for zi in body["zone_instances"] if zi["label"]]
    assert rooms == [{"zone": "classroom", "label": "Lớp 1A"}]


def test_list_filters(api, consultant, db, site):
    make_audit(site, consultant, phase="baseline")
    make_audit(site, consultant, phase="final", status="submitted")
    db.session.commit()
    api.login(consultant)
    assert len(api.get("/audits").get_json()["audits"]) == 2
    finals = api.get("/audits?site=BG-TH01&phase=final&status=submitted").get_json()["audits"]
    assert [a["phase"] for a in finals] == ["final"]
    assert api.get("/audits?phase=&status=").status_code == 200
    resp = api.get("/audits?phase=midterm&status=open")
    assert resp.status_code == 422
    assert [d["field"] for d in error_of(resp)["details"]] == ["phase", "status"]


def test_checklists_in_both_languages(api, consultant):
    api.login(consultant)
    keys = {(c["key"], c["version"]) for c in api.get("/checklists").get_json()["checklists"]}
    assert {("school-5s", 1), ("clinic-5s", 1)} <= keys
    checklist = api.get("/checklists/school-5s/1").get_json()
    assert [s["level"] for s in checklist["scale"]] == [0, 1, 2, 3, 4]
    assert all(s["anchor_vi"] and s["anchor_en"] for s in checklist["scale"])
    assert len(checklist["zones"]) == 9 and all(len(z["items"]) == 10 for z in checklist["zones"])
    item = checklist["zones"][0]["items"][0]
    assert item["text_vi"] and item["text_en"] and item["s"] == "seiri"
    assert api.get("/checklists/school-5s/99").status_code == 404
    assert api.get("/checklists/school-5s/latest").status_code == 404


# ---------------------------------------------------------------- answers
@pytest.fixture
def draft(db, site, consultant):
    audit = make_audit(site, consultant, rooms=())
    db.session.commit()
    return audit


def _codes(audit, zone_code):
    return [i.code for i in audit.template.items if i.zone.code == zone_code]


def test_put_answers_saves_and_returns_the_audit(api, consultant, db, draft):
    api.login(consultant)
    classroom = _codes(draft, "classroom")
    note = "Bàn ghế được sắp xếp gọn gàng; góc học tập sạch sẽ."
    resp = api.put(f"/audits/{draft.uuid}/answers", json={"row_version": 1, "answers": [
        {"item": classroom[0], "zone_instance": "Lớp 3A", "score": 4, "note": note},
        {"item": classroom[1], "zone_instance": "Lớp 3A", "score": 1, "na": False},
    ]})
    assert resp.status_code == 200
    assert "Lớp 3A".encode() in resp.data  # UTF-8 on the wire, not \u escapes
    body = resp.get_json()
    assert body["row_version"] == 2
    assert {"zone": "classroom", "label": "Lớp 3A"} in body["zone_instances"]
    saved = {a["item"]: a for a in body["answers"]}
    assert saved[classroom[0]]["note"] == note and saved[classroom[0]]["zone_instance"] == "Lớp 3A"
    assert body["scores"]["by_zone"]["classroom"] == pytest.approx(62.5)
    assert body["scores"] == api.get(f"/audits/{draft.uuid}").get_json()["scores"]


def test_stale_row_version_is_409_with_current_state(api, consultant, db, draft):
    api.login(consultant)
    item = _codes(draft, "teachers-room")[0]
    assert api.put(f"/audits/{draft.uuid}/answers",
                   json={"row_version": 1, "answers": [{"item": item, "score": 4}]}).status_code == 200
    resp = api.put(f"/audits/{draft.uuid}/answers",
                   json={"row_version": 1, "answers": [{"item": item, "score": 0}]})
    assert resp.status_code == 409
    error = error_of(resp)
    assert error["code"] == "stale_row_version"
    assert error["details"]["row_version"] == 2
    assert error["details"]["audit"]["answers"][0]["score"] == 4
    assert db.session.scalar(select(Answer.score)) == 4


def test_bad_batch_saves_nothing(api, consultant, db, draft):
    api.login(consultant)
    items = _codes(draft, "teachers-room")
    resp = api.put(f"/audits/{draft.uuid}/answers", json={"row_version": 1, "answers": [
        {"item": items[0], "score": 3},
        {"item": items[1], "score": 7},
        {"item": "no-such-item", "score": 1},
        "not an object",
        {"item": items[2], "score": 2, "na": True},
    ]})
    assert resp.status_code == 422
    details = error_of(resp)["details"]
    assert [(d["index"], d["field"]) for d in details] == [(1, "score"), (2, "item"), (3, None), (4, "na")]
    assert all(d["message"] for d in details)
    db.session.refresh(draft)
    assert draft.row_version == 1 and draft.answers == []


@pytest.mark.parametrize("body, fields", [
    ({"answers": [{"item": "x"}]}, ["row_version"]),
    ({"row_version": "1", "answers": []}, ["row_version"]),
    ({"row_version": 0, "answers": []}, ["row_version"]),
    ({"row_version": True, "answers": []}, ["row_version"]),
    ({"row_version": 1}, ["answers"]),
    ({"row_version": 1, "answers": {"item": "x"}}, ["answers"]),
])
def test_put_answers_body_problems(api, consultant, db, draft, body, fields):
    api.login(consultant)
    resp = api.put(f"/audits/{draft.uuid}/answers", json=body)
    assert resp.status_code == 422
    assert [d["field"] for d in error_of(resp)["details"]] == fields
    db.session.refresh(draft)
    assert draft.row_version == 1


def test_empty_batch_is_422(api, consultant, draft):
    api.login(consultant)
    resp = api.put(f"/audits/{draft.uuid}/answers", json={"row_version": 1, "answers": []})
    assert resp.status_code == 422


def test_locked_audit_is_409(api, consultant, db, site):
    audit = make_audit(site, consultant, status="submitted")
    db.session.commit()
    api.login(consultant)
    resp = _put_one(api, audit, {})
    assert resp.status_code == 409
    assert error_of(resp)["code"] == "locked"
    assert error_of(resp)["details"]["audit"]["status"] == "submitted"


def test_too_large_body_is_413_json(api, app, consultant, draft):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    api.login(consultant)
    resp = api.put(f"/audits/{draft.uuid}/answers",
                   json={"row_version": 1, "answers": [{"item": "x", "note": "a" * 5000}]})
    assert resp.status_code == 413 and error_of(resp)["code"] == "too_large"


# ---------------------------------------------------------------- submit and reopen
def test_submit_lists_unscored_items_then_submits(api, consultant, db, site):
    audit = make_audit(site, consultant)
    answer_all(audit, lambda item: None if item.code.endswith("1") else 3)
    db.session.commit()
    api.login(consultant)
    resp = api.post(f"/audits/{audit.uuid}/submit")
    assert resp.status_code == 422
    error = error_of(resp)
    assert error["code"] == "incomplete"
    missing = {d["item"] for d in error["details"]}
    assert missing and all(code.endswith("1") for code in missing)
    answer_all_missing = [{"item": d["item"], "zone_instance": d["zone_instance"], "na": False, "score": 2}
                          for d in error["details"]]
    assert api.put(f"/audits/{audit.uuid}/answers",
                   json={"row_version": 1, "answers": answer_all_missing}).status_code == 200
    resp = api.post(f"/audits/{audit.uuid}/submit", json={"row_version": 1})
    assert resp.status_code == 409 and error_of(resp)["code"] == "stale_row_version"
    resp = api.post(f"/audits/{audit.uuid}/submit", json={"row_version": 2})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "submitted" and body["submitted_at"] and body["scores"]["overall"] is not None
    assert error_of(api.post(f"/audits/{audit.uuid}/submit"))["code"] == "locked"


def test_reopen(api, db, site, consultant):
    audit = make_audit(site, consultant, status="submitted")
    db.session.commit()
    path = f"/audits/{audit.uuid}/reopen"
    api.login(consultant)
    assert api.post(path, json={"reason": "Sai điểm"}).status_code == 403
    api.login(make_user("reviewer"))
    resp = api.post(path, json={"reason": "   "})
    assert resp.status_code == 422 and error_of(resp)["code"] == "reason_required"
    resp = api.post(path, json={})
    assert resp.status_code == 422 and error_of(resp)["details"][0]["field"] == "reason"
    resp = api.post(path, json={"reason": "Chấm lại khu vệ sinh"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "reopened"
    resp = api.post(path, json={"reason": "again"})
    assert resp.status_code == 409 and error_of(resp)["code"] == "not_submitted"


# ---------------------------------------------------------------- errors are JSON
@pytest.mark.parametrize("method, path, status", [
    ("DELETE", "/sites", 405),
    ("PATCH", "/audits", 405),
    ("GET", "/no-such-endpoint", 404),
    ("GET", "/checklists/school-5s/not-a-number", 404),
])
def test_routing_errors_are_json(api, consultant, method, path, status):
    api.login(consultant)
    resp = api.open(method, path)
    assert resp.status_code == status and resp.mimetype == "application/json"
    error_of(resp)


def test_english_messages_on_request(api, consultant):
    api.login(consultant)
    vi = error_of(api.post("/audits", json={}))["message"]
    assert vi == "Một số trường không hợp lệ; chưa có gì thay đổi."
    resp = api.post("/audits?lang=en", json={})
    assert error_of(resp)["message"] == "Some fields are not valid; nothing was changed."
    assert json.loads(resp.data)["error"]["details"][0]["message"] == "This field is required."
