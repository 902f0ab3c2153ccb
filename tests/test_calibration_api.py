"""Asking for a second rater through the API (#23): POST /api/v1/audits/<id>/calibration, the same
rules and service as the summary page's form. Every response is checked against the OpenAPI
document by the `api` fixture."""
from __future__ import annotations

import uuid as uuid_mod

import pytest
from sqlalchemy import func, select

from fivs.audits.models import Audit
from fivs.extensions import db as database
from tests.api_support import api  # noqa: F401  (fixture)
from tests.factories import make_user
from tests.test_agreement import world  # noqa: F401  (fixture)


def calibrations(main) -> int:
    return database.session.scalar(select(func.count(Audit.id)).where(Audit.calibrates_id == main.id))


def test_reviewer_asks_by_username_and_admin_by_id(api, world):  # noqa: F811
    resp = api.login(world.reviewer).post(f"/audits/{world.main.uuid}/calibration",
                                          json={"auditor": world.second.username})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["kind"] == "calibration" and body["status"] == "draft" and body["auditor"] == world.second.username
    assert body["phase"] == "baseline" and body["site"] == "S-AG1" and body["answers"] == []
    assert resp.headers["Location"].endswith(f"/api/v1/audits/{body['id']}")
    second = database.session.scalar(select(Audit).where(Audit.uuid == uuid_mod.UUID(body["id"])))
    assert second.calibrates_id == world.main.id
    assert [r["label"] for r in body["zone_instances"] if r["label"]] == ["Lớp 1A", "Lớp 1B"]
    # the second rater now has their audit, and still not the first's until both are submitted
    api.login(world.second)
    assert api.get(f"/audits/{body['id']}").status_code == 200
    assert api.get(f"/audits/{world.main.uuid}").status_code == 404

    third = make_user("consultant", site=world.site, full_name="Lê Văn Cường")
    database.session.commit()
    resp = api.login(make_user("admin")).post(f"/audits/{world.main.uuid}/calibration", json={"auditor": third.id})
    assert resp.status_code == 201 and resp.get_json()["auditor"] == third.username
    assert calibrations(world.main) == 2


@pytest.mark.parametrize("role", ["first", "second", "principal", "staff"])
def test_only_reviewers_and_admins_may_ask(api, world, role):  # noqa: F811
    resp = api.login(getattr(world, role)).post(f"/audits/{world.main.uuid}/calibration",
                                                json={"auditor": world.second.username})
    assert resp.status_code == 403
    assert calibrations(world.main) == 0


def test_another_sites_audit_and_an_unknown_audit_are_404(api, world):  # noqa: F811
    assert api.login(world.outsider).post(f"/audits/{world.main.uuid}/calibration",
                                          json={"auditor": world.second.username}).status_code == 404
    assert api.login(world.reviewer).post(f"/audits/{uuid_mod.uuid4()}/calibration",
                                          json={"auditor": world.second.username}).status_code == 404
    assert api.post("/audits/not-a-uuid/calibration", json={"auditor": world.second.username}).status_code == 404
    assert calibrations(world.main) == 0


def problem(resp) -> tuple[int, str]:
    return resp.status_code, resp.get_json()["error"]["code"]


def test_bad_requests(api, world):  # noqa: F811
    api.login(world.reviewer)
    url = f"/audits/{world.main.uuid}/calibration"
    stranger = make_user("consultant", site=world.other_site)
    database.session.commit()
    cases = {
        "no auditor": (url, {}),
        "empty auditor": (url, {"auditor": " "}),
        "not text nor id": (url, {"auditor": ["tran.binh"]}),
        "unknown username": (url, {"auditor": "khong-co-ai"}),
        "unknown id": (url, {"auditor": 987654}),
        "same rater": (url, {"auditor": world.first.username}),
        "not a consultant": (url, {"auditor": world.principal.username}),
        "not assigned to the site": (url, {"auditor": stranger.username}),
        "a self-assessment": (f"/audits/{world.own.uuid}/calibration", {"auditor": world.second.username}),
    }
    for name, (path, body) in cases.items():
        assert problem(api.post(path, json=body)) == (422, "validation_error"), name
    assert api.post(url, data="auditor=x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert calibrations(world.main) == 0

    assert api.post(url, json={"auditor": world.second.username}).status_code == 201
    assert problem(api.post(url, json={"auditor": world.second.id})) == (409, "calibration_exists")
    assert calibrations(world.main) == 1
