"""The programme report's site pages and its appendix, in the PDF (pypdf) and the DOCX (python-docx): one page
per site with both rounds (scores, the site's acknowledgement, the most improved and weakest items with their
notes and before/after photo pairs), one table for the sites missing a round, and the appendix on methods and
data quality (scale, N/A, tests, the items the comparability guard left out, audits no figure counts,
self-assessment against the consultant); the DOCX carries the PDF's charts as PNG."""
from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from docx import Document
from PIL import Image
from pypdf import PdfReader

from fivs.audits.services import acknowledge_audit, void_audit
from fivs.comparisons.queries import AuditRow, SiteRow, excluded_audits
from fivs.comparisons.services import Programme, Round, SiteComparison
from fivs.photos.services import attach_photo
from fivs.reports.pdf import PAGE_HEIGHT, points, signed
from fivs.reports.programme_charts import MIN_LABELLED_ROW, dumbbell
from fivs.scoring import S_KEYS, AuditScores, Change, format_pct
from fivs.timeutil import utcnow
from fivs.sites.models import Site
from tests.factories import answer_all, make_audit, make_site, make_user

COMMENT = "Nhà trường ghi nhận kết quả; khu bếp đang được sửa chữa."
RISER_NOTE = "Đã dán nhãn đầy đủ cho tủ hồ sơ"
WEAK_NOTE = "Bồn rửa tay bị hỏng, không có xà phòng"
SOURCES = ("Landscape_1.jpg", "Landscape_3.jpg", "Portrait_6.jpg", "Landscape_0.jpg")


def _submit(audit):
    audit.status = "submitted"
    audit.submitted_at = utcnow()


@pytest.fixture
def closing(db, photos_dir):
    """QV01: both rounds, 2 items photographed in both, its final acknowledged with a comment; one item rises
    0 -> 4 (with a note), one falls to 0 (with a note), one is N/A in the final (left out of the change);
    a self-assessment beside its baseline. QV02: both rounds, no photo, a draft periodic audit. QV03: a
    baseline only."""
    admin = make_user("admin", full_name="Nguyễn Thị Hằng")
    first = make_site(code="QV01", name="Trường Tiểu học Quang Vinh", former_district="Sơn Động")
    second = make_site(code="QV02", name="Trường Tiểu học Yên Định", former_district="Sơn Động")
    third = make_site(code="QV03", name="Trường Tiểu học An Lạc", former_district="Sơn Động")
    principal = make_user("principal", site=first, full_name="Trần Văn Bình")
    made = {}
    for site in (first, second):
        for phase, when in (("baseline", date(2026, 4, 20)), ("final", date(2026, 11, 10))):
            audit = make_audit(site, admin, phase=phase, audit_date=when)
            answers = sorted(answer_all(audit, 2 if phase == "baseline" else 3), key=lambda a: a.id)
            made[site.code, phase] = audit, answers
    (_b, base), (final, fin) = made["QV01", "baseline"], made["QV01", "final"]
    base[5].score, fin[5].score, fin[5].note = 0, 4, RISER_NOTE  # the most improved item: +100 points
    fin[6].score, fin[6].note = 0, WEAK_NOTE  # the weakest item of the final
    fin[7].score, fin[7].na = None, True  # left out of the change
    for k, answer in enumerate(base[:2]):
        for audit, source in ((made["QV01", "baseline"][0], SOURCES[k]), (final, SOURCES[k + 2])):
            attach_photo(audit, admin, (photos_dir / "orientation" / source).read_bytes(), photo_uuid=uuid.uuid4(),
                         item_code=answer.item.code, room=answer.room)
    for audit, _answers in made.values():
        _submit(audit)
    own = make_audit(first, principal, phase="baseline", kind="self", audit_date=date(2026, 4, 18))
    answer_all(own, 3)
    _submit(own)
    make_audit(second, admin, phase="periodic", audit_date=date(2026, 8, 1))  # a draft: left out
    third_base = make_audit(third, admin, phase="baseline")
    answer_all(third_base, 2)
    _submit(third_base)
    db.session.commit()
    acknowledge_audit(final, principal, COMMENT)
    db.session.commit()
    return {"rise": fin[5].item, "weak": fin[6].item, "na": fin[7].item, "photographed": [a.item for a in base[:2]]}


def _pages(data: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    return reader, [" ".join(page.extract_text().split()) for page in reader.pages]


def _site_pages(reader: PdfReader, pages: list[str], code: str) -> list[int]:
    """Indexes of the pages of a site's section: from its title page to the next site's or the appendix."""
    starts = [i for i, text in enumerate(pages) if "Huyện:" in text and "· mã " in text]
    start = next(i for i in starts if f"mã {code}" in pages[i])
    end = min([i for i in starts if i > start] + [i for i, t in enumerate(pages) if "Phụ lục: phương pháp" in t])
    return list(range(start, end))


def test_programme_pdf_has_a_page_per_complete_site_with_items_notes_photos_and_acknowledgement(
        client, login_as, closing):
    login_as("reviewer")
    reader, pages = _pages(client.get("/api/v1/programme/report.pdf").data)

    first = _site_pages(reader, pages, "QV01")
    text = " ".join(pages[i] for i in first)
    assert "Các mục tiến bộ nhiều nhất" in text
    rise = closing["rise"]
    assert f"{rise.code} — {rise.text_vi}" in text and "+100,0" in text and RISER_NOTE in text
    assert "Các mục yếu nhất (Cuối kỳ)" in text
    weak = closing["weak"]
    assert f"{weak.code} — {weak.text_vi}" in text and WEAK_NOTE in text
    assert "Trần Văn Bình đã xác nhận lúc" in text and COMMENT in text  # the site's acknowledgement
    assert "Trước và sau" in text
    for item in closing["photographed"]:
        assert item.code in text
    images = sum(len(reader.pages[i].images) for i in first)
    assert images == 2 * 2  # the two pairs, before and after (the radar is vector)
    second = _site_pages(reader, pages, "QV02")
    assert "Cơ sở chưa xác nhận." in " ".join(pages[i] for i in second)
    assert sum(len(reader.pages[i].images) for i in second) == 0
    # the site missing a round: in the one table, with no page of its own
    assert not any("mã QV03" in page for page in pages)
    assert any("Cơ sở còn thiếu đợt đánh giá" in page and "QV03" in page for page in pages)


def test_programme_pdf_appendix_lists_methods_guarded_items_left_out_audits_and_self_assessment(
        client, login_as, closing):
    login_as("reviewer")
    agreement = client.get("/api/v1/programme/agreement").get_json()
    _reader, pages = _pages(client.get("/api/v1/programme/report.pdf").data)

    start = next(i for i, page in enumerate(pages) if "Phụ lục: phương pháp và chất lượng dữ liệu" in page)
    assert start == len(pages) - 1 or start >= len(pages) - 3  # at the end
    text = " ".join(pages[start:])
    assert "Thang điểm và N/A" in text and "Mỗi mục được chấm từ 0 đến 4" in text
    assert "Kiểm định đã dùng" in text and "kiểm định dấu-hạng Wilcoxon" in text
    assert "Các mục không được tính vào mức thay đổi" in text
    assert f"QV01 — Trường Tiểu học Quang Vinh {closing['na'].code}" in text
    assert "Các cuộc đánh giá không được tính" in text
    assert "QV02 — Trường Tiểu học Yên Định Giữa kỳ" in text and "Đang thực hiện, chưa nộp" in text
    assert "Tự đánh giá và chuyên gia tư vấn" in text
    pooled = agreement["rounds"]["baseline"]["pooled"]
    assert len(agreement["rounds"]["baseline"]["pairs"]) == 1
    assert f"Đầu kỳ 1 {pooled['n_items']}" in text and points(pooled["mean_difference"]) in text


def test_excluded_audits_names_the_audits_no_figure_counts(db, closing):
    rows = excluded_audits()
    assert [(r.site_code, r.phase, r.kind, r.reason) for r in rows] == [("QV02", "periodic", "consultant", "draft")]
    assert rows[0].auditor == "Nguyễn Thị Hằng" and rows[0].detail == ""


def test_a_voided_audit_is_named_in_the_appendix_with_its_reason(client, login_as, db, closing):
    reviewer = make_user("reviewer")
    third = db.session.scalars(db.select(Site).filter_by(code="QV03")).one()
    voided = make_audit(third, reviewer, phase="final", audit_date=date(2026, 11, 5))
    void_audit(voided, reviewer, "Chấm nhầm cơ sở")
    db.session.commit()

    rows = excluded_audits()
    assert ("QV03", "final", "voided", "Chấm nhầm cơ sở") in [(r.site_code, r.phase, r.reason, r.detail) for r in rows]
    login_as("reviewer")
    text = " ".join(" ".join(p.extract_text().split())
                    for p in PdfReader(io.BytesIO(client.get("/api/v1/programme/report.pdf").data)).pages)
    assert "Đã bị người thẩm định huỷ: Chấm nhầm cơ sở" in text


def _headings(doc) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]


def _tables(doc) -> list[list[list[str]]]:
    return [[[cell.text for cell in row.cells] for row in table.rows] for table in doc.tables]


def test_programme_docx_has_the_charts_site_sections_and_appendix(client, login_as, closing):
    login_as("reviewer")
    resp = client.get("/api/v1/programme/report.docx")
    assert resp.status_code == 200
    doc = Document(io.BytesIO(resp.data))

    headings = _headings(doc)
    assert ("Heading 1", "QV01 — Trường Tiểu học Quang Vinh") in headings
    assert ("Heading 1", "QV02 — Trường Tiểu học Yên Định") in headings
    assert not any("QV03" in text for _style, text in headings)  # missing a round: only in the table
    assert ("Heading 2", "Các mục tiến bộ nhiều nhất") in headings
    assert ("Heading 2", "Các mục yếu nhất (Cuối kỳ)") in headings
    assert ("Heading 1", "Phụ lục: phương pháp và chất lượng dữ liệu") in headings
    for title in ("Thang điểm và N/A", "Kiểm định đã dùng", "Các mục không được tính vào mức thay đổi",
                  "Các cuộc đánh giá không được tính", "Tự đánh giá và chuyên gia tư vấn"):
        assert ("Heading 2", title) in headings
    tables = _tables(doc)
    rise = closing["rise"]
    improved = next(t for t in tables if t[0][:4] == ["Tiêu chí", "Đầu kỳ", "Cuối kỳ", "Thay đổi (điểm phần trăm)"])
    assert improved[1] == [f"{rise.code} — {rise.text_vi}", format_pct(0), format_pct(100), signed(100, "vi"),
                           f"Lớp 1A: {RISER_NOTE}" if improved[1][4].startswith("Lớp") else RISER_NOTE]
    rounds = next(t for t in tables if t[0][-1] == "Xác nhận của cơ sở" and "Trần Văn Bình" in t[2][3])
    assert COMMENT in rounds[2][3] and rounds[1][3] == "Cơ sở chưa xác nhận."
    assert any(row[:2] == ["QV01 — Trường Tiểu học Quang Vinh", closing["na"].code] for t in tables for row in t)
    assert any(row[0] == "QV02 — Trường Tiểu học Yên Định" and row[-1] == "Đang thực hiện, chưa nộp"
               for t in tables for row in t)
    # the dumbbell, per-S bars and per-S change, a radar with its legend for each of the 2 sites (in the body),
    # and QV01's two photo pairs (in tables); equal images are stored once
    assert len(doc.inline_shapes) == 3 + 2 * 2 + 2 * 2
    images = [r.target_part for r in doc.part.rels.values() if "image" in r.reltype]
    pngs = [Image.open(io.BytesIO(p.blob)) for p in images if p.content_type == "image/png"]
    jpegs = [p for p in images if p.content_type == "image/jpeg"]
    assert len(jpegs) == 2 * 2  # print derivatives
    assert all(max(Image.open(io.BytesIO(p.blob)).size) <= 800 for p in jpegs)
    dumbbell = max(pngs, key=lambda im: im.width / im.height)
    colours = {colour for _n, colour in dumbbell.convert("RGB").getcolors(1 << 20)}
    assert {(0x00, 0x72, 0xb2), (0xe6, 0x9f, 0x00)} <= colours  # final and baseline dots, drawn as in the PDF


def test_site_report_and_docx_show_the_acknowledgement(client, login_as, closing):
    login_as("reviewer")
    _reader, pages = _pages(client.get("/api/v1/sites/QV01/report.pdf").data)
    assert "Xác nhận của cơ sở" in pages[0] and "Trần Văn Bình đã xác nhận lúc" in pages[0] and COMMENT in pages[0]

    doc = Document(io.BytesIO(client.get("/api/v1/sites/QV01/report.docx?lang=en").data))
    rounds = next(t for t in _tables(doc) if t[0][-1] == "Acknowledgement by the site")
    assert rounds[1][3] == "Not acknowledged by the site yet."
    assert rounds[2][3].startswith("Acknowledged by Trần Văn Bình on ") and COMMENT in rounds[2][3]


def _round(overall: float) -> Round:
    audit = AuditRow(id=1, uuid="u", site_id=1, phase="baseline", kind="consultant", status="submitted",
                     audit_date=date(2026, 4, 1), submitted_at=None, auditor="x", checklist_version=1)
    return Round(audit, AuditScores(by_s={s: overall for s in S_KEYS}, by_zone={}, overall=overall,
                                    incomplete_s=(), scored=1, na=0))


@pytest.mark.parametrize("n_sites", [12, 120])
def test_the_dumbbell_fits_a_page_whatever_the_number_of_sites(app, n_sites):
    sites = [SiteComparison(site=SiteRow(k, f"B{k:03d}", "Trường", "school", None, None, None, None),
                            baseline=_round(40 + k % 30),
                            final=_round(60 + k % 30),
                            change=Change(by_s={s: 20.0 for s in S_KEYS}, overall=20.0, baseline_matched={},
                                          final_matched={}, excluded_items=()))
             for k in range(n_sites)]
    with app.app_context():
        chart = dumbbell(Programme(sites=sites))
    assert chart.height <= PAGE_HEIGHT * 0.75
    codes = [shape.text for shape in chart.contents if getattr(shape, "text", "").startswith("B")]
    assert len(codes) == (n_sites if chart.height / n_sites >= MIN_LABELLED_ROW else 0)
    assert len(codes) == (12 if n_sites == 12 else 0)
