"""The OpenAPI document cannot drift: every route is in it, it is valid, and real responses of
every operation match its schemas (tests/api_support.py validates each response)."""
from __future__ import annotations

import io
import json
import uuid

from jsonschema import Draft202012Validator

from fivs.api.openapi import openapi_document
from fivs.calendar.services import seed_pilot_calendar
from tests.api_support import PREFIX, api, doc_path  # noqa: F401  (fixture)
from tests.factories import answer_all, make_audit, make_site, make_user

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def documented_operations() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in openapi_document()["paths"].items() for method in item}


def test_every_api_route_is_documented_and_nothing_else(app):
    routes = {(method, doc_path(rule.rule)) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(PREFIX + "/") for method in rule.methods - IGNORED_METHODS}
    assert routes - documented_operations() == set(), "routes missing from fivs/api/openapi.py"
    assert documented_operations() - routes == set(), "documented operations without a route"


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_document_is_well_formed():
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    for ref in set(_refs(document)):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # KeyError: a dangling $ref
    operation_ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["responses"], (method, path)
            if op.get("security") != []:
                assert "401" in op["responses"], (method, path)


def test_document_is_served_without_a_token(api):
    resp = api.get("/openapi.json", token=None)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "Bắc Giang".encode() in resp.data
    assert json.loads(resp.data) == openapi_document()


def test_every_operation_answers_as_documented(api, db, photos_dir):
    """Walks every operation with real data; each response is validated by `api`."""
    site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
    consultant = make_user("consultant", site=site)
    reviewer = make_user("reviewer")
    for phase in ("baseline", "final"):
        done = make_audit(site, consultant, phase=phase, status="submitted")
        answer_all(done, lambda item: item.position % 5)
    seed_pilot_calendar()
    db.session.commit()

    api.login(consultant)
    api.get("/sites")
    api.get("/sites/BG-TH01")
    api.get("/sites/NOPE")
    api.get("/checklists")
    api.get("/checklists/school-5s/1")
    api.get("/checklists/school-5s/9")
    body = {"id": str(uuid.uuid4()), "site": "BG-TH01", "phase": "periodic", "date": "2023-09-05"}
    assert api.post("/audits", json=body).status_code == 201
    assert api.post("/audits", json=body).status_code == 200
    api.post("/audits", json={**body, "phase": "final"})
    api.post("/audits", json={**body, "site": "NOPE"})
    api.post("/audits", data="{", content_type="application/json")
    api.post("/audits", data="x", content_type="text/plain")
    api.post("/audits", json={})
    api.get("/audits")
    api.get("/audits?site=NOPE")
    api.get("/audits?phase=x")
    path = f"/audits/{body['id']}"
    api.get(path)
    api.get(f"/audits/{uuid.uuid4()}")
    item = next(i.code for i in done.template.items if not i.zone.repeats)
    assert api.put(path + "/answers", json={"row_version": 1, "answers": [{"item": item, "score": 3}]}
                   ).status_code == 200
    api.put(path + "/answers", json={"row_version": 1, "answers": [{"item": item, "score": 3}]})
    api.put(path + "/answers", json={"row_version": 2, "answers": [{"item": "nope"}]})
    api.post(path + "/submit")
    api.post(path + "/reopen", json={"reason": "x"})
    photo_id = str(uuid.uuid4())
    jpeg = (photos_dir / "orientation" / "Landscape_3.jpg").read_bytes()
    form = {"id": photo_id, "item": "CLS-S1-01", "zone_instance": "Lớp 1A"}
    for _ in range(2):  # 201, then 200
        api.post(path + "/photos", content_type="multipart/form-data",
                 data={**form, "file": (io.BytesIO(jpeg), "anh.jpg")})
    api.post(path + "/photos", content_type="multipart/form-data",
             data={**form, "id": str(uuid.uuid4()), "file": (io.BytesIO(b"no"), "x.jpg")})
    api.post(path + "/photos", json=form)
    api.get(f"/photos/{photo_id}")
    etag = api.get(f"/photos/{photo_id}/display").headers["ETag"]
    api.get(f"/photos/{photo_id}/display", headers={"If-None-Match": etag})
    api.get(f"/photos/{photo_id}/thumb")
    api.delete(f"/photos/{photo_id}")
    api.get(f"/photos/{photo_id}")
    api.get("/sites/BG-TH01/comparison")
    api.get("/sites/BG-TH01/report.pdf")
    api.get("/sites/BG-TH01/report.pdf?lang=xx")
    api.get("/exports/answers.csv")
    api.get("/exports/scores.xlsx")
    api.get("/exports/nothing.csv")
    api.get("/programme/comparison")
    api.get("/programme/agreement")  # 403 for a consultant
    api.get("/programme/calendar")
    api.get("/programme/board")  # 403 for a consultant
    api.get("/sites/BG-TH01/agreement?phase=baseline")
    api.get("/sites/BG-TH01/agreement?phase=x")
    action = api.post("/sites/BG-TH01/actions", json={"title": "Dọn bệ cửa sổ", "due_date": "2023-06-01"})
    api.get("/sites/BG-TH01/actions")
    api.get(f"/actions/{action.get_json()['id']}")
    after = {"id": str(uuid.uuid4()), "file": (io.BytesIO(jpeg), "sau.jpg")}
    api.post(f"/actions/{action.get_json()['id']}/photos", content_type="multipart/form-data", data=after)
    api.post(f"/actions/{action.get_json()['id']}/photos", content_type="multipart/form-data",
             data={"id": str(uuid.uuid4()), "file": (io.BytesIO(b"no"), "x.jpg")})
    api.open("PATCH", f"/actions/{action.get_json()['id']}", json={"status": "done", "note": "Đã dọn"})
    api.get("/sites", token=None)

    api.login(reviewer)
    done_path = f"/audits/{done.uuid}"
    assert api.post(done_path + "/reopen", json={"reason": "Chấm lại"}).status_code == 200
    api.post(done_path + "/reopen", json={"reason": "Chấm lại"})
    api.put(done_path + "/answers", json={"row_version": 1, "answers": [{"item": item, "score": 4}]})
    assert api.post(done_path + "/submit").status_code == 200
    api.get("/programme/comparison")
    api.get("/programme/comparison?kind=school")
    api.get("/programme/comparison?kind=moon")
    api.get("/programme/agreement")
    api.get("/programme/board")
    api.get("/sites/BG-TH01/agreement")
    api.get("/programme/report.pdf?lang=en")
    api.post("/audits", json={**body, "id": str(uuid.uuid4())})
    api.get(done_path + "/record.pdf")
    api.get(path + "/record.pdf")  # a draft: 409
    api.post(done_path + "/acknowledgement", json={})  # not the site's head: 403
    api.login(make_user("principal", site=site))
    assert api.post(done_path + "/acknowledgement", json={"comment": "Đã nhận"}).status_code == 201
    api.post(done_path + "/acknowledgement", json={})  # already acknowledged: 409
    api.post(done_path + "/acknowledgement", json={"comment": 1})
    api.get(done_path + "/record.pdf?lang=en")
    api.get("/sites/BG-TH01/report.docx")
    api.get("/sites/NOPE/report.docx")
    api.get("/programme/report.docx")  # a principal: 403
    api.login(reviewer)
    api.get("/programme/report.docx?lang=en")
    api.get("/programme/report.docx?lang=xx")
    second = make_user("consultant", site=site)
    db.session.commit()
    assert api.post(done_path + "/calibration", json={"auditor": second.username}).status_code == 201
    api.post(done_path + "/calibration", json={"auditor": second.id})  # already asked: 409
    api.post(done_path + "/calibration", json={"auditor": consultant.username})  # the first rater: 422
    assert api.post(path + "/void", json={"reason": "Chấm nhầm cơ sở"}).status_code == 200  # voiding (a reviewer)
    api.get("/openapi.json", token=None)

    ok = {(method, path) for method, path, status in api.validated if status < 300}
    assert documented_operations() - ok == set(), "operations never answered successfully"
    statuses = {status for _m, _p, status in api.validated}
    assert {400, 401, 403, 404, 409, 415, 422} <= statuses
