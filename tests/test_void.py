"""One live consultant audit per site and compared round; a reviewer voids an audit with a reason.

A voided audit stays readable (banner, struck through in the site's list) but counts nowhere: the
site and programme comparisons, exports and agreement leave it out (fivs.audits.queries.counted),
and a new audit of its site and round may start. Checked through the API against the scores.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from fivs.audits.models import Audit
from fivs.audits.services import audit_scores
from fivs.events.models import Event
from tests.api_support import api  # noqa: F401  (fixture)
from tests.conftest import login
from tests.factories import answer_all, make_audit, make_site, make_user


@pytest.fixture
def site(db):
    site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
    db.session.commit()
    return site


@pytest.fixture
def people(db, site):
    users = {role: make_user(role, site=site) for role in ("consultant", "reviewer", "admin", "principal")}
    db.session.commit()
    return users


def body(phase="baseline", **kw):
    return {"id": str(uuid.uuid4()), "site": "BG-TH01", "phase": phase, "date": "2023-05-10", **kw}


def error_of(resp) -> dict:
    return resp.get_json()["error"]


@pytest.mark.parametrize("status", ["draft", "submitted", "reopened"])
def test_a_second_baseline_is_refused_with_the_existing_ones_id(api, db, site, people, status):
    first = make_audit(site, people["consultant"], status=status)
    db.session.commit()
    api.login(people["consultant"])
    resp = api.post("/audits", json=body())
    assert resp.status_code == 409
    error = error_of(resp)
    assert error["code"] == "audit_exists" and error["details"] == {"audit_id": str(first.uuid)}
    assert db.session.scalar(select(Audit.id).where(Audit.id != first.id)) is None


def test_replaying_the_same_audit_is_still_idempotent_and_other_rounds_may_start(api, db, site, people):
    api.login(people["consultant"])
    first = body()
    assert api.post("/audits", json=first).status_code == 201
    assert api.post("/audits", json=first).status_code == 200  # a retry of the same id is no second audit
    assert api.post("/audits", json=body("final")).status_code == 201
    # periodic checks repeat: only the compared rounds (baseline, final) are one per site
    assert api.post("/audits", json=body("periodic")).status_code == 201
    assert api.post("/audits", json=body("periodic")).status_code == 201
    # a self-assessment is not the consultant's audit of the round
    api.login(people["principal"])
    assert api.post("/audits", json=body()).status_code == 201


def test_only_a_reviewer_or_admin_voids_with_a_reason_and_it_is_logged(api, db, site, people):
    audit = make_audit(site, people["consultant"], status="submitted")
    db.session.commit()
    path = f"/audits/{audit.uuid}/void"
    for role in ("consultant", "principal"):
        api.login(people[role])
        assert api.post(path, json={"reason": "Nhầm"}).status_code == 403
    api.login(people["reviewer"])
    resp = api.post(path, json={"reason": "   "})
    assert resp.status_code == 422 and error_of(resp)["code"] == "reason_required"
    resp = api.post(path, json={"reason": "Chấm nhầm cơ sở; chấm lại đợt đầu kỳ."})
    assert resp.status_code == 200
    voided = resp.get_json()["voided"]
    assert voided["reason"] == "Chấm nhầm cơ sở; chấm lại đợt đầu kỳ." and voided["by"] == people["reviewer"].username
    assert voided["at"]
    again = api.post(path, json={"reason": "Lần nữa"})
    assert again.status_code == 409 and error_of(again)["code"] == "already_voided"
    event = db.session.scalar(select(Event).where(Event.action == "audit.void"))
    assert event.audit_id == audit.id and event.detail == "Chấm nhầm cơ sở; chấm lại đợt đầu kỳ."
    # still readable, no longer editable, not reopenable
    api.login(people["consultant"])
    assert api.get(f"/audits/{audit.uuid}").get_json()["voided"]["reason"]
    api.login(people["admin"])
    assert api.post(f"/audits/{audit.uuid}/reopen", json={"reason": "Mở lại"}).status_code == 409
    resp = api.put(f"/audits/{audit.uuid}/answers", json={"row_version": 99, "answers": []})
    assert resp.status_code in (409, 422)


def test_a_voided_baseline_leaves_every_comparison_and_a_new_one_counts(api, db, site, people):
    old = make_audit(site, people["consultant"], status="submitted")
    answer_all(old, 1)
    final = make_audit(site, people["consultant"], phase="final", status="submitted")
    answer_all(final, 4)
    db.session.commit()
    api.login(people["reviewer"])
    before = api.get("/sites/BG-TH01/comparison").get_json()
    assert before["baseline"]["audit_id"] == str(old.uuid)
    assert before["baseline"]["overall"] == pytest.approx(audit_scores(old).overall)

    assert api.post(f"/audits/{old.uuid}/void", json={"reason": "Chấm nhầm"}).status_code == 200
    gone = api.get("/sites/BG-TH01/comparison").get_json()
    assert gone["baseline"] is None and gone["change"] is None
    programme = api.get("/programme/comparison").get_json()
    assert programme["sites_included"] == [] and programme["sites_missing"] == [{"code": "BG-TH01", "missing": ["baseline"]}]

    api.login(people["consultant"])
    created = api.post("/audits", json=body())
    assert created.status_code == 201  # the round may start again
    new = db.session.get(Audit, db.session.scalar(select(Audit.id).where(Audit.uuid == uuid.UUID(created.get_json()["id"]))))
    answer_all(new, 2)
    new.status = "submitted"
    db.session.commit()
    assert api.post("/audits", json=body()).status_code == 409  # and is again the one live baseline

    api.login(people["reviewer"])
    after = api.get("/sites/BG-TH01/comparison").get_json()
    assert after["baseline"]["audit_id"] == str(new.uuid)
    assert after["baseline"]["overall"] == pytest.approx(audit_scores(new).overall)
    assert after["final"]["overall"] == pytest.approx(audit_scores(final).overall)
    assert after["change"]["overall"] == pytest.approx(audit_scores(final).overall - audit_scores(new).overall)
    programme = api.get("/programme/comparison").get_json()
    assert programme["sites_included"] == ["BG-TH01"] and programme["sites_missing"] == []
    assert programme["overall"]["n"] == 1
    assert programme["overall"]["baseline_mean"] == pytest.approx(audit_scores(new).overall)
    assert programme["overall"]["mean_change"] == pytest.approx(after["change"]["overall"])


def test_web_start_refuses_a_second_baseline_with_a_link(client, db, site, people):
    first = make_audit(site, people["consultant"])
    db.session.commit()
    login_as_user(client, people["consultant"])
    resp = client.form_post("/audits/new", {"site": "BG-TH01", "phase": "baseline", "audit_date": "2023-05-11",
                                            "client_uuid": str(uuid.uuid4())})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert f'href="/audits/{first.uuid}"' in html and "data-existing-audit" in html
    assert "Cơ sở này đã có phiếu đánh giá của chuyên gia cho đợt này" in html


def test_web_void_shows_a_banner_and_strikes_the_audit_through(client, db, site, people):
    audit = make_audit(site, people["consultant"], status="submitted")
    answer_all(audit, 3)
    db.session.commit()
    login_as_user(client, people["consultant"])
    assert "Huỷ phiếu đánh giá" not in client.get(f"/audits/{audit.uuid}/summary").get_data(as_text=True)
    assert client.form_post(f"/audits/{audit.uuid}/void", {"reason": "x"}).status_code == 403
    login_as_user(client, people["reviewer"])
    resp = client.form_post(f"/audits/{audit.uuid}/void", {"reason": ""})
    assert resp.status_code == 422 and "Hãy nêu lý do huỷ phiếu." in resp.get_data(as_text=True)
    resp = client.form_post(f"/audits/{audit.uuid}/void", {"reason": "Chấm nhầm cơ sở"})
    assert resp.status_code == 302
    summary = client.get(f"/audits/{audit.uuid}/summary").get_data(as_text=True)
    assert "void-banner" in summary and "Lý do: Chấm nhầm cơ sở" in summary
    assert "Huỷ phiếu đánh giá" not in summary  # no second void form
    listing = client.get("/sites/BG-TH01").get_data(as_text=True)
    assert '<tr class="voided">' in listing and "Đã huỷ" in listing


def login_as_user(client, user):
    assert login(client, user.username).status_code == 302
