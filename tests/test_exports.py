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
from fivs.reports.exports import ANSWER_COLUMNS, ascii_filename, content_disposition, csv_cell, rounded_pct
from tests.api_support import ApiClient
from tests.factories import answer_all, make_audit, make_site, make_user

DANGEROUS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-3+4", "@SUM(A1)"]
NOTE_VI = "Bàn ghế hỏng ở góc lớp; cần thay trước tháng Chín — ưu tiên"


@pytest.fixture
def data(db):
    """Two schools with a submitted baseline each (one with notes), a consultant on the first."""
    first = make_site(code="E01", name="Trường Tiểu học Đồng Phúc", former_district="Yên Dũng")
    second = make_site(code="E02", name="Trường Tiểu học Xuân Hương", former_district="Lạng Giang")
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
    """The sheet the workbook opens on, its rows keyed by each column's machine code (sheet "Column codes")."""
    workbook = load_workbook(io.BytesIO(resp.get_data()))
    sheet = workbook.active
    codes = {(r[0], r[2]): r[3] for r in workbook.worksheets[-1].iter_rows(min_row=2, values_only=True)}
    rows = list(sheet.iter_rows())
    header = [codes[(sheet.title, c.value)] for c in rows[0]]
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
    assert {"site_code", "zone", "zone_instance", "item", "item_text", "score", "na", "note", "photos"} <= set(header)
    notes = [r["note"] for r in rows if r["note"].value]
    assert NOTE_VI in [c.value for c in notes]
    for cell in notes:
        assert cell.data_type == "s", cell.value  # never a formula
    assert DANGEROUS[0] in [c.value for c in notes]  # kept as the text it is
    first = [r for r in rows if r["site_code"].value == "E01"]
    scores = [r["score"].value for r in first]
    assert {1, 3} <= set(scores) and "N/A" not in scores and "Không áp dụng" not in scores  # numbers only
    na = [r for r in first if r["na"].value]
    assert len(na) == 1 and na[0]["score"].value is None and na[0]["na"].value == "Không áp dụng"


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
        assert xrow["overall"].value == rounded_pct(sc.overall)  # one decimal, as the app shows it
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


@pytest.fixture
def workbook_data(db, data):
    """The two submitted baselines, plus a draft final at E01 scored so that percentages have long decimals."""
    draft = make_audit(data["sites"][0], data["consultant"], phase="final", status="draft")
    answers = answer_all(draft, 2)
    answers[0].score = 3  # one S now has (2n + 1) / 4n: a long decimal
    db.session.commit()
    data["draft"] = draft
    return data


def _workbook(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return load_workbook(io.BytesIO(resp.get_data()))


def test_xlsx_workbook_is_for_people(client, login_as, workbook_data):
    """Vietnamese sheets and headers, machine codes on their own sheet, one-decimal numbers with a % format,
    frozen header row, autofilter, widths, and the drafts left out."""
    login_as("reviewer")

    workbook = _workbook(client.get("/api/v1/exports/scores.xlsx"))

    assert workbook.sheetnames == ["Tổng hợp", "Chi tiết", "Hành động", "Phương pháp", "Mã cột"]
    overview = workbook["Tổng hợp"]
    header = [c.value for c in overview[1]]
    assert header[:12] == ["Mã cơ sở", "Cơ sở", "Huyện", "Loại", "Loại đánh giá", "Đợt", "Ngày",
                           "Người đánh giá", "Trạng thái", "Tổng thể", "Sàng lọc", "Sắp xếp"]
    assert "Xếp loại" in header
    codes = {(r[0], r[2]): r[3] for r in workbook["Mã cột"].iter_rows(min_row=2, values_only=True)}
    assert codes[("Tổng hợp", "Tổng thể")] == "overall" and codes[("Chi tiết", "Nội dung tiêu chí")] == "item_text"
    rows = list(overview.iter_rows(min_row=2))
    assert len(rows) == 2  # the draft final is not there
    assert {r[5].value for r in rows} == {"Đầu kỳ"} and {r[8].value for r in rows} == {"Đã nộp"}
    expected = scoring.audit_scores(scored_answers(workbook_data["audits"]["E01"]))
    e01 = next(r for r in rows if r[0].value == "E01")
    assert e01[9].value == rounded_pct(expected.overall) and e01[9].number_format == '0.0"%"'
    assert e01[10].value == 25.0 and e01[10].number_format == '0.0"%"'  # a number, not text
    assert e01[6].is_date and e01[6].number_format == "DD/MM/YYYY"
    for sheet in ("Tổng hợp", "Chi tiết", "Hành động", "Mã cột"):
        ws = workbook[sheet]
        assert ws.freeze_panes == "A2", sheet
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), sheet
    assert 8 <= workbook["Chi tiết"].column_dimensions["K"].width <= 62  # item text: wide, not unbounded
    details = workbook["Chi tiết"]
    texts = [r[10] for r in details.iter_rows(min_row=2, values_only=True)]
    assert all(texts) and len(set(texts)) > 5  # the item's own words, not only its code
    assert "Phương pháp" in workbook.sheetnames and workbook["Phương pháp"]["A2"].value.startswith("Mỗi")


def test_xlsx_drafts_on_request_with_rounded_percentages(client, login_as, workbook_data):
    login_as("reviewer")

    workbook = _workbook(client.get("/api/v1/exports/scores.xlsx?include=drafts"))

    rows = list(workbook["Tổng hợp"].iter_rows(min_row=2))
    assert len(rows) == 3
    draft = next(r for r in rows if r[8].value == "Bản nháp")
    expected = scoring.audit_scores(scored_answers(workbook_data["draft"]))
    assert any(v is not None and v != round(v, 1) for v in [expected.overall, *expected.by_s.values()])
    figures = [expected.overall, *(expected.by_s[s] for s in scoring.S_KEYS)]
    assert [c.value for c in draft[9:15]] == [rounded_pct(v) for v in figures]
    assert all(c.value == round(c.value, 1) and c.number_format == '0.0"%"' for c in draft[9:15])
    assert client.get("/api/v1/exports/scores.xlsx?include=everything").status_code == 422


def test_xlsx_in_english_opens_on_the_sheet_asked_for(client, login_as, workbook_data):
    login_as("reviewer")

    workbook = _workbook(client.get("/api/v1/exports/answers.xlsx?lang=en"))

    assert workbook.sheetnames == ["Overview", "Details", "Actions", "Methods", "Column codes"]
    assert workbook.active.title == "Details"
    header = [c.value for c in workbook["Details"][1]]
    assert header[:3] == ["Site code", "Site", "Audit kind"] and "Item text" in header and "N/A" in header
    assert workbook["Overview"]["G2"].number_format == "YYYY-MM-DD"
    assert _workbook(client.get("/api/v1/exports/actions.xlsx")).active.title == "Hành động"


def test_csv_stays_for_machines_with_every_audit(client, login_as, workbook_data):
    login_as("reviewer")

    rows = read_csv(client.get("/api/v1/exports/scores.csv"))

    assert list(rows[0])[:3] == ["site_code", "site_name", "district"]
    assert {r["status"] for r in rows} == {"submitted", "draft"}
