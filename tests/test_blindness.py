"""The second rater cannot see the first's answers until both are submitted (#23), on every path
that gathers a site's audits: the comparison page and API, the agreement API, the site's audit
list (page and API), the site report (PDF and DOCX), the exports (CSV and XLSX), the photos and
the event log. Each path is checked while one side is a draft, and again once both are submitted
(the same figures then show), so a test cannot pass by showing nothing to anyone."""
from __future__ import annotations

import csv
import io
import uuid as uuid_mod
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from fivs.audits.queries import hidden_audits
from fivs.actions.services import raise_action
from fivs.audits.services import start_calibration
from fivs.auth import policy
from fivs.extensions import db as database
from fivs.photos.services import attach_photo
from fivs.reports import pdf
from tests.api_support import api  # noqa: F401  (fixture)
from tests.conftest import login
from tests.factories import make_user
from tests.test_agreement import answer, consultant_score, world  # noqa: F401  (fixture)

FIRST = "Nguyễn Văn An"  # the main audit's rater, named on the pages, in the PDF and the workbook
SECOND = "Trần Thị Bình"  # the second rater


@pytest.fixture
def pair(world, db, photos_dir):  # noqa: F811
    """The main (submitted) baseline audit with a photo, and a draft calibration audit of it."""
    world.main.status = "draft"  # the photo was taken while scoring
    photo, _created = attach_photo(world.main, world.first, (photos_dir / "orientation" / "Landscape_1.jpg").read_bytes(),
                                   photo_uuid=uuid_mod.uuid4(), item_code=world.main.rooms[0].zone.items[1].code,
                                   room=world.main.rooms[0].name)
    world.main.status = "submitted"
    second = start_calibration(world.reviewer, world.main, world.second)
    answer(second, consultant_score)
    db.session.commit()
    world.photo, world.calibration = photo, second
    return world


def submit_both(world, db):
    world.calibration.status = world.main.status = "submitted"
    db.session.commit()


def text_of_pdf(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def text_of_docx(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return " ".join([p.text for p in doc.paragraphs] + cells)


# ---------------------------------------------------------------- the rule
def test_the_rule_hides_the_other_side_of_an_unfinished_pair_only(pair, db):
    w = pair
    assert hidden_audits(w.second) == {w.main.id}
    w.main.status = "reopened"
    assert hidden_audits(w.first) == {w.calibration.id}  # neither side sees the other
    for user in (w.reviewer, w.principal, w.staff, make_user("admin")):
        assert hidden_audits(user) == frozenset()
    submit_both(w, db)
    assert hidden_audits(w.second) == hidden_audits(w.first) == frozenset()
    assert not policy.may_be_kept_blind(w.principal) and policy.may_be_kept_blind(w.second)


# ---------------------------------------------------------------- page, API, PDF, DOCX, export, photo
def test_comparison_page_and_site_page(client, pair, db):
    login(client, pair.second.username)
    for url in ("/sites/S-AG1/comparison", "/sites/S-AG1"):
        html = client.get(url).get_data(as_text=True)
        assert FIRST not in html and str(pair.main.uuid) not in html, url
    assert str(pair.calibration.uuid) in client.get("/sites/S-AG1").get_data(as_text=True)
    submit_both(pair, db)
    for url in ("/sites/S-AG1/comparison", "/sites/S-AG1"):
        assert FIRST in client.get(url).get_data(as_text=True), url


def test_comparison_agreement_and_audit_list_api(api, pair, db):
    api.login(pair.second)
    comparison = api.get("/sites/S-AG1/comparison").get_json()
    assert comparison["baseline"] is None and comparison["final"] is None
    assert api.get("/sites/S-AG1/agreement").get_json()["pairs"] == []  # the self pair is the main audit's
    listed = {a["id"] for a in api.get("/audits?site=S-AG1").get_json()["audits"]}
    assert str(pair.main.uuid) not in listed and str(pair.calibration.uuid) in listed
    submit_both(pair, db)
    comparison = api.get("/sites/S-AG1/comparison").get_json()
    assert comparison["baseline"]["audit_id"] == str(pair.main.uuid)
    assert [p["kind"] for p in api.get("/sites/S-AG1/agreement").get_json()["pairs"]] == ["self"]
    assert str(pair.main.uuid) in {a["id"] for a in api.get("/audits?site=S-AG1").get_json()["audits"]}


def test_site_report_pdf_and_docx(api, pair, db):
    api.login(pair.reviewer)
    overall = api.get("/sites/S-AG1/comparison").get_json()["baseline"]["overall"]
    with api.client.application.test_request_context():
        shown = pdf.pct(overall, "vi")
    api.login(pair.second)
    assert FIRST not in text_of_pdf(api.get("/sites/S-AG1/report.pdf").data)
    assert shown not in text_of_docx(api.get("/sites/S-AG1/report.docx").data)
    submit_both(pair, db)
    assert FIRST in text_of_pdf(api.get("/sites/S-AG1/report.pdf").data)
    assert shown in text_of_docx(api.get("/sites/S-AG1/report.docx").data)


def export_ids(api) -> tuple[set[str], set[str]]:
    """Audit ids in the answers CSV, and the cells of the workbook's overview sheet (drafts
    included: one row per audit, named by its rater)."""
    rows = csv.DictReader(io.StringIO(api.get("/exports/answers.csv").data.decode("utf-8-sig")))
    in_csv = {r["audit_id"] for r in rows}
    sheet = load_workbook(io.BytesIO(api.get("/exports/scores.xlsx?include=drafts").data)).worksheets[0]
    in_xlsx = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    return in_csv, in_xlsx


def test_exports(api, pair, db):
    api.login(pair.second)
    in_csv, in_xlsx = export_ids(api)
    assert str(pair.main.uuid) not in in_csv and str(pair.calibration.uuid) in in_csv
    assert FIRST not in in_xlsx and SECOND in in_xlsx
    api.login(pair.first)  # the first rater, for their part, does not see the second's draft
    in_csv, in_xlsx = export_ids(api)
    assert str(pair.calibration.uuid) not in in_csv and str(pair.main.uuid) in in_csv
    assert SECOND not in in_xlsx and FIRST in in_xlsx
    submit_both(pair, db)
    for user in (pair.first, pair.second):
        in_csv, in_xlsx = export_ids(api.login(user))
        assert {str(pair.main.uuid), str(pair.calibration.uuid)} <= in_csv, user.username
        assert {FIRST, SECOND} <= in_xlsx, user.username


def test_photos_of_the_main_audit(api, client, pair, db):
    photo = str(pair.photo.uuid)
    api.login(pair.second)
    assert api.get(f"/photos/{photo}").status_code == 404
    assert api.get(f"/photos/{photo}/thumb").status_code == 404
    login(client, pair.second.username)
    assert client.get(f"/photos/{photo}/display").status_code == 404
    assert api.login(pair.first).get(f"/photos/{photo}/thumb").status_code == 200
    submit_both(pair, db)
    assert api.login(pair.second).get(f"/photos/{photo}/thumb").status_code == 200
    assert client.get(f"/photos/{photo}/display").status_code == 200


def test_event_log_of_an_admin_who_rated(client, pair, db):
    """An admin who scored the main audit is kept from the second rater's events (their answers)."""
    admin = make_user("admin")
    pair.main.auditor_id = admin.id
    pair.calibration.status = "draft"
    db.session.commit()
    login(client, admin.username)
    calibration = str(pair.calibration.uuid)
    assert calibration not in client.get("/admin/events/").get_data(as_text=True)
    assert client.get(f"/audits/{calibration}/summary").status_code == 404
    submit_both(pair, db)
    assert calibration in client.get("/admin/events/").get_data(as_text=True)


def test_the_first_rater_does_not_see_the_second_on_the_site_pages(client, pair, db):
    login(client, pair.first.username)
    assert str(pair.calibration.uuid) not in client.get("/sites/S-AG1").get_data(as_text=True)
    submit_both(pair, db)
    assert str(pair.calibration.uuid) in client.get("/sites/S-AG1").get_data(as_text=True)


def test_actions_raised_on_the_main_audit(api, client, pair, db):
    """An action names what scored badly: the second rater sees none raised on the main audit (list
    page, API, exports, the action itself) until both are submitted; an action of no audit stays."""
    site = pair.main.site
    on_audit, _ = raise_action(pair.first, site, title="Dọn kho học cụ", responsible="Cô Lan",
                               due_date=date(2026, 12, 20), priority="high", audit=pair.main)
    loose, _ = raise_action(pair.reviewer, site, title="Sơn lại hành lang", responsible="Thầy Nam",
                            due_date=date(2026, 12, 20), priority="low")
    db.session.commit()

    def seen(user) -> dict[str, bool]:
        api.login(user)
        listed = {a["id"] for a in api.get(f"/sites/{site.code}/actions").get_json()["actions"]}
        in_csv = {r["action_id"] for r in csv.DictReader(io.StringIO(
            api.get("/exports/actions.csv").data.decode("utf-8-sig")))}
        login(client, user.username)
        page = client.get(f"/sites/{site.code}/actions").get_data(as_text=True)
        return {"api": str(on_audit.uuid) in listed, "loose": str(loose.uuid) in listed,
                "page": "Dọn kho học cụ" in page, "loose_page": "Sơn lại hành lang" in page,
                "csv": str(on_audit.uuid) in in_csv,
                "detail": client.get(f"/actions/{on_audit.uuid}").status_code == 200}

    assert seen(pair.second) == {"api": False, "loose": True, "page": False, "loose_page": True, "csv": False,
                                 "detail": False}
    assert all(seen(pair.first).values())
    submit_both(pair, db)
    assert all(seen(pair.second).values())
