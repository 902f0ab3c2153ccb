"""The Word reports, read back with python-docx: Word heading styles, real tables with the comparison API's
figures, the PDF's charts as PNG, Vietnamese intact; access as for the PDFs."""
from __future__ import annotations

import io

from docx import Document

from fivs.reports.pdf import signed
from fivs.scoring import format_pct
from tests.test_programme_summary import _programme
from tests.test_reports import DISTRICT, SITE_NAME, site_with_rounds  # noqa: F401

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _doc(resp):
    assert resp.status_code == 200 and resp.mimetype == DOCX, resp.get_data()[:200]
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    return Document(io.BytesIO(resp.data))


def _headings(doc) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]


def _table_text(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_programme_docx_has_the_summary_tables_and_chart(client, login_as, db):
    _programme(db, 7)
    login_as("reviewer")
    body = client.get("/api/v1/programme/comparison").get_json()

    doc = _doc(client.get("/api/v1/programme/report.docx"))

    headings = _headings(doc)
    assert ("Title", "Báo cáo 5S toàn chương trình") in headings
    assert ("Heading 1", "Tóm tắt kết quả") in headings and ("Heading 1", "Cơ sở còn thiếu đợt đánh giá") in headings
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "7/8 cơ sở đã hoàn thành cả hai đợt đánh giá (đầu kỳ và cuối kỳ)." in text
    assert "kiểm định dấu-hạng Wilcoxon, 7 cơ sở." in text
    stats = _table_text(doc.tables[0])
    overall = body["overall"]
    assert stats[0][:2] == ["Điểm", "n"]
    assert stats[1] == ["Tổng thể", str(overall["n"]), format_pct(overall["baseline_mean"]),
                        format_pct(overall["final_mean"]), signed(overall["mean_change"], "vi"),
                        f"{signed(overall['ci95'][0], 'vi')} … {signed(overall['ci95'][1], 'vi')}",
                        f"{overall['improved']} / {overall['unchanged']} / {overall['declined']}"]
    assert stats[3][0] == "Sắp xếp" and stats[3][4] == signed(body["by_s"]["seiton"]["mean_change"], "vi")
    sites = _table_text(doc.tables[1])
    assert any(row[0] == "PS99 — Trường Tiểu học Đồng Tâm" for row in sites)
    assert _table_text(doc.tables[2])[1] == ["PS99 — Trường Tiểu học Đồng Tâm", "Sơn Động", "Cuối kỳ"]
    # the PDF's three charts (dumbbell, per-S bars, per-S change), and each of the 7 complete sites' radar + legend
    assert len(doc.inline_shapes) == 3 + 7 * 2
    pictures = [r for r in doc.part.rels.values() if "image" in r.reltype]  # equal images are stored once
    assert pictures and all(p.target_part.content_type == "image/png" and p.target_part.blob.startswith(b"\x89PNG")
                            for p in pictures)


def test_site_docx_has_the_sites_figures(client, login_as, site_with_rounds):  # noqa: F811
    login_as("reviewer")
    body = client.get("/api/v1/sites/S700/comparison").get_json()

    doc = _doc(client.get("/api/v1/sites/S700/report.docx"))

    assert ("Title", f"Báo cáo 5S: {SITE_NAME}") in _headings(doc)
    assert ("Heading 1", "Điểm") in _headings(doc)
    assert any(DISTRICT in p.text for p in doc.paragraphs)
    scores = _table_text(doc.tables[0])
    assert scores[1][:4] == ["Tổng thể", format_pct(body["baseline"]["overall"]), format_pct(body["final"]["overall"]),
                             signed(body["change"]["overall"], "vi")]
    assert scores[2][:3] == ["Sàng lọc", format_pct(body["baseline"]["by_s"]["seiri"]),
                             format_pct(body["final"]["by_s"]["seiri"])]
    english = _doc(client.get("/api/v1/sites/S700/report.docx?lang=en"))
    assert ("Heading 1", "Scores") in _headings(english)


def test_docx_access_is_as_for_the_pdfs(client, login_as, site_with_rounds):  # noqa: F811
    login_as("principal", site=site_with_rounds)
    assert client.get("/api/v1/programme/report.docx").status_code == 403
    assert client.get("/api/v1/sites/S700/report.docx").status_code == 200
    assert client.get("/api/v1/sites/NOPE/report.docx").status_code == 404
    assert client.get("/api/v1/sites/S700/report.docx?lang=xx").status_code == 422
    assert "/api/v1/sites/S700/report.docx" in client.get("/sites/S700").get_data(as_text=True)
