"""Exports: answers and scores as CSV (UTF-8 with BOM) and XLSX, read back; access; injection."""
from __future__ import annotations

import csv
import io
import uuid
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from fivs import scoring
from fivs.audits.services import scored_answers
from fivs.photos.models import Photo
from fivs.reports.exports import ANSWER_COLUMNS, ascii_filename, content_disposition, csv_cell
from tests.api_support import ApiClient
from tests.factories import answer_all, make_audit, make_site, make_user

DANGEROUS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-3+4", "@SUM(A1)"]
NOTE_VI = "Bàn ghế hỏng ở góc lớp; cần thay trước tháng Chín — ưu tiên"


@pytest.fixture
def data(db):
    """Two schools with a submitted baseline each (one with notes), a consultant on the first."""
    first = make_site(code="E01", name="Trường Tiểu học Đồng Phúc", district="Yên Dũng")
    second = make_site(code="E02", name="Trường Tiểu học Xuân Hương", district="Lạng Giang")
    consultant = make_user("consultant", assigned=[first], full_name="Nguyễn Thị Hà")
    audits = {}
    for site in (first, second):
        audit = make_audit(site, consultant, phase="baseline", status="submitted")
        answer_all(audit, lambda item: 1 if item.s == "seiri" else 3)
        audits[site.code] = audit
    answers = sorted(audits["E01"].answers, key=lambda a: a.id)
    answers[0].note = NOTE_VI
    for answer, note in zip(answers[1:], DANGEROUS):
        answer.note = note
    na = next(a for a in answers if a.item.na_allowed)
    na.score, na.na = None, True
    for n in range(2):  # two photos of the answer with the Vietnamese note
        db.session.add(Photo(uuid=uuid.uuid4(), audit_id=answers[0].audit_id, site_id=first.id,
                             item_id=answers[0].item_id, room=answers[0].room,
                             sha256=f"{n:064d}", width=2000, height=1500, thumb_width=320,
                             thumb_height=240, source_format="JPEG", display_key=f"d{n}", thumb_key=f"t{n}"))
    db.session.commit()
    return {"sites": (first, second), "consultant": consultant, "audits": audits}


def read_csv(resp) -> list[dict]:
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode())  # BOM so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(resp):
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    return header, [{h: c for h, c in zip(header, row)} for row in rows[1:]]


def test_answers_csv_reviewer(client, login_as, data):
    login_as("reviewer")

    resp = client.get("/api/v1/exports/answers.csv")

    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = read_csv(resp)
    assert list(rows[0]) == list(ANSWER_COLUMNS)
    audits = data["audits"]
    assert len(rows) == sum(len(a.answers) for a in audits.values())
    assert {r["site_code"] for r in rows} == {"E01", "E02"}
    first = [r for r in rows if r["site_code"] == "E01"]
    assert first[0]["site_name"] == "Trường Tiểu học Đồng Phúc" and first[0]["district"] == "Yên Dũng"
    assert first[0]["auditor"] == "Nguyễn Thị Hà" and first[0]["audit_id"] == str(audits["E01"].uuid)
    assert first[0]["phase"] == "baseline" and first[0]["audit_date"] == "2023-05-10"
    assert any(r["note"] == NOTE_VI for r in first)
    assert sorted(r["note"] for r in first if r["note"].startswith("'")) == sorted("'" + d for d in DANGEROUS)
    assert sum(r["score"] == "N/A" for r in first) == 1
    classroom = [r for r in first if r["zone"] == "classroom"]
    assert classroom and all(r["zone_instance"] == "Lớp 1A" for r in classroom)
    assert [r["photos"] for r in first if r["note"] == NOTE_VI] == ["2"]
    assert {r["photos"] for r in rows if r["note"] != NOTE_VI} == {"0"}


def test_answers_xlsx_reviewer(client, login_as, data):
    login_as("admin")

    resp = client.get("/api/v1/exports/answers.xlsx")

    assert resp.status_code == 200
    header, rows = read_xlsx(resp)
    assert header == list(ANSWER_COLUMNS)
    notes = [r["note"] for r in rows if r["note"].value]
    assert NOTE_VI in [c.value for c in notes]
    for cell in notes:
        assert cell.data_type == "s", cell.value  # never a formula
    assert DANGEROUS[0] in [c.value for c in notes]  # kept as the text it is
    scores = [r["score"].value for r in rows if r["site_code"].value == "E01"]
    assert scores.count("N/A") == 1 and {1, 3} <= set(scores)


def test_scores_csv_and_xlsx_match_scoring(client, login_as, data):
    login_as("reviewer")
    expected = {code: scoring.audit_scores(scored_answers(a)) for code, a in data["audits"].items()}

    rows = read_csv(client.get("/api/v1/exports/scores.csv"))
    header, xrows = read_xlsx(client.get("/api/v1/exports/scores.xlsx"))

    assert len(rows) == len(xrows) == 2
    assert "zone_classroom" in header and "zone_toilets" in header and "zone_reception" in header
    for row, xrow in zip(rows, xrows):
        sc = expected[row["site_code"]]
        assert float(row["overall"]) == pytest.approx(sc.overall)
        assert xrow["overall"].value == pytest.approx(sc.overall)
        for s in scoring.S_KEYS:
            assert float(row[s]) == pytest.approx(sc.by_s[s])
        assert float(row["zone_classroom"]) == pytest.approx(sc.by_zone["classroom"])
        assert row["zone_reception"] == "" and xrow["zone_reception"].value is None  # a clinic zone
    assert float(rows[0]["seiri"]) == pytest.approx(25.0)


@pytest.mark.parametrize("url", ["/api/v1/exports/answers.csv", "/api/v1/exports/scores.xlsx"])
def test_principal_exports_own_site_only(client, login_as, data, url):
    login_as("principal", site=data["sites"][1])

    resp = client.get(url)

    assert resp.status_code == 200
    if url.endswith(".csv"):
        codes = {r["site_code"] for r in read_csv(resp)}
    else:
        codes = {r["site_code"].value for r in read_xlsx(resp)[1]}
    assert codes == {"E02"}
    disposition = resp.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    assert "Trường Tiểu học Xuân Hương" in unquote(disposition.split("filename*=UTF-8''")[1])
    assert 'filename="fivs-' in disposition and "Truong Tieu hoc Xuan Huong" in disposition
    assert disposition.encode("latin-1")  # the header itself stays ASCII-safe


def test_consultant_exports_assigned_sites(client, db, data):
    from tests.conftest import login

    login(client, data["consultant"].username)

    rows = read_csv(client.get("/api/v1/exports/answers.csv"))

    assert {r["site_code"] for r in rows} == {"E01"}


@pytest.mark.parametrize("url", ["/api/v1/exports/answers.csv", "/api/v1/exports/scores.xlsx"])
def test_staff_may_not_export(client, login_as, data, url):
    login_as("staff", site=data["sites"][0])

    resp = client.get(url)

    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("url", ["/api/v1/exports/answers.pdf", "/api/v1/exports/people.csv"])
def test_unknown_export_is_404(client, login_as, data, url):
    login_as("reviewer")

    assert client.get(url).status_code == 404


def test_exports_and_comparisons_match_the_openapi_document(client, data):
    """Every response validated against fivs/api/openapi.py (status, content type, schema)."""
    api = ApiClient(client).login(make_user("reviewer"))
    assert api.get("/exports/answers.csv").status_code == 200
    assert api.get("/exports/scores.xlsx").status_code == 200
    assert api.get("/sites/E01/comparison").status_code == 200
    assert api.get("/programme/comparison?kind=school").status_code == 200
    assert api.get("/programme/comparison?kind=bad").status_code == 422
    assert api.get("/sites/NOPE/comparison").status_code == 404
    api.login(make_user("principal", site=data["sites"][0]))
    assert api.get("/programme/comparison").status_code == 403
    assert api.get("/sites/E02/comparison").status_code == 404


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+84 912", "'+84 912"), ("-x", "'-x"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("Sàng lọc", "Sàng lọc"), (-3, -3), (None, ""), ("", ""),
])
def test_csv_cell_guard(value, expected):
    assert csv_cell(value) == expected


def test_content_disposition_has_ascii_fallback_and_utf8_name():
    header = content_disposition("fivs-answers-Trường Đồng Phúc.csv")

    assert header.startswith('attachment; filename="fivs-answers-Truong Dong Phuc.csv"; ')
    assert unquote(header.split("filename*=UTF-8''")[1]) == "fivs-answers-Trường Đồng Phúc.csv"
    assert ascii_filename('a"b\\c/d.csv') == "a_b_c_d.csv"
