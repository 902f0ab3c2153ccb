"""Page one of the programme report, "Tóm tắt kết quả": its sentences carry the figures of the
programme comparison API (read back with pypdf); sites missing a round get one table, no page of "—"."""
from __future__ import annotations

import io
from datetime import date

import pytest
from babel.numbers import format_decimal
from pypdf import PdfReader

from fivs.reports.pdf import signed
from fivs.scoring import format_pct
from tests.factories import answer_all, make_audit, make_site, make_user

S_VI = {"seiri": "Sàng lọc", "seiton": "Sắp xếp", "seiso": "Sạch sẽ", "seiketsu": "Săn sóc", "shitsuke": "Sẵn sàng"}


def _programme(db, complete: int, *, incomplete: bool = True):
    """`complete` schools whose final is better by a different amount each, and one with a baseline only."""
    consultant = make_user("consultant")
    for n in range(complete):
        site = make_site(code=f"PS{n:02d}", name=f"Trường Tiểu học Phú Sơn {n}")
        base = make_audit(site, consultant, phase="baseline", status="submitted", audit_date=date(2023, 3, 1))
        answer_all(base, lambda item: 1 if item.s == "seiso" else 2)
        final = make_audit(site, consultant, phase="final", status="submitted", audit_date=date(2024, 3, 1))
        answers = answer_all(final, lambda item: 3 if item.s != "shitsuke" else 2)
        for answer in answers[: n + 1]:  # every site's change differs a little
            answer.score = 4
    if incomplete:
        site = make_site(code="PS99", name="Trường Tiểu học Đồng Tâm")
        answer_all(make_audit(site, consultant, phase="baseline", status="submitted"), 2)
    db.session.commit()


def _text(resp) -> tuple[PdfReader, list[str]]:
    assert resp.status_code == 200
    reader = PdfReader(io.BytesIO(resp.data))
    return reader, [" ".join(page.extract_text().split()) for page in reader.pages]


def test_summary_sentences_equal_the_comparison_figures(client, login_as, db):
    _programme(db, 7)
    login_as("reviewer")
    body = client.get("/api/v1/programme/comparison").get_json()
    overall = body["overall"]

    reader, pages = _text(client.get("/api/v1/programme/report.pdf"))

    first = pages[0]
    assert "Tóm tắt kết quả" in first
    assert "7/8 cơ sở đã hoàn thành cả hai đợt đánh giá (đầu kỳ và cuối kỳ)." in first
    assert "Chưa hoàn thành: Trường Tiểu học Đồng Tâm (còn thiếu: Cuối kỳ)." in first
    assert (f"Trong {overall['n']} cơ sở có đủ hai đợt, {overall['improved']} cơ sở tăng điểm tổng thể, "
            f"{overall['unchanged']} cơ sở giữ nguyên và {overall['declined']} cơ sở giảm.") in first
    per_s = ", ".join(f"{S_VI[s]} {signed(body['by_s'][s]['mean_change'], 'vi')}" for s in S_VI)  # S order
    assert (f"Điểm tổng thể trung bình chuyển từ {format_pct(overall['baseline_mean'])} sang "
            f"{format_pct(overall['final_mean'])}: thay đổi trung bình {signed(overall['mean_change'], 'vi')} "
            f"điểm phần trăm (theo từng S: {per_s}).") in first
    finals = sorted((m["final_mean"], s) for s, m in body["by_s"].items())
    assert (f"nội dung mạnh nhất là {S_VI[finals[-1][1]]} ({format_pct(finals[-1][0])}) và yếu nhất là "
            f"{S_VI[finals[0][1]]} ({format_pct(finals[0][0])})") in first
    p = overall["wilcoxon_p"]
    assert p < 0.05 and overall["improved"] == 7
    p_text = "p < 0,001" if p < 0.001 else "p = " + format_decimal(p, format="0.000", locale="vi")
    assert f"Tăng có ý nghĩa thống kê: {p_text}, kiểm định dấu-hạng Wilcoxon, 7 cơ sở." in first
    # the charts on page one: the dumbbell names every site with both rounds by its code, sorted by change
    assert "Điểm tổng thể của từng cơ sở" in first and "Thay đổi trung bình theo từng S" in first
    order = [first.index(f"PS{n:02d}") for n in range(7)]
    assert order == sorted(order, reverse=True)  # site n changed more than site n - 1: listed first
    # the site missing a round: one table, and no page of its own full of placeholders
    assert any("Cơ sở còn thiếu đợt đánh giá" in page and "PS99" in page for page in pages)
    assert not any("Chưa có phiếu đánh giá nào được nộp" in page for page in pages)
    site_pages = [page for page in pages if "Huyện:" in page]
    assert len(site_pages) >= 7 and not any("Trường Tiểu học Đồng Tâm" in page for page in site_pages)


def test_with_too_few_sites_the_summary_says_there_is_no_test(client, login_as, db):
    _programme(db, 2, incomplete=False)
    login_as("admin")

    _reader, pages = _text(client.get("/api/v1/programme/report.pdf?lang=en"))

    first = pages[0]
    assert "Results in brief" in first and "2 of 2 sites completed both rounds" in first
    assert ("With 2 sites whose overall score changed, too few for a statistical test (at least 6 are needed), "
            "no p value is given.") in first
    assert "p =" not in first and "Not yet complete" not in first


def test_no_site_with_both_rounds_says_so(client, login_as, db):
    _programme(db, 0)
    login_as("reviewer")

    _reader, pages = _text(client.get("/api/v1/programme/report.pdf"))

    assert "0/1 cơ sở đã hoàn thành" in pages[0] and "Chưa có cơ sở nào có đủ hai đợt" in pages[0]


def _even_programme(db, n: int):
    """`n` schools whose every item goes from 2 to 3: every S changes by the same +25 points."""
    consultant = make_user("consultant")
    for k in range(n):
        site = make_site(code=f"EV{k:02d}", name=f"Trường Tiểu học Tân Sơn {k}")
        for phase, when, score in (("baseline", date(2023, 3, 1), 2), ("final", date(2024, 3, 1), 3)):
            answer_all(make_audit(site, consultant, phase=phase, status="submitted", audit_date=when), score)
    db.session.commit()


def test_when_every_s_moved_alike_no_s_is_named_strongest_or_weakest(client, login_as, db):
    _even_programme(db, 3)
    login_as("reviewer")
    by_s = client.get("/api/v1/programme/comparison").get_json()["by_s"]
    assert {m["mean_change"] for m in by_s.values()} == {25.0}

    _reader, pages = _text(client.get("/api/v1/programme/report.pdf"))
    first = pages[0]
    assert ("Năm nội dung S thay đổi như nhau: mức thay đổi trung bình nằm trong khoảng từ +25,0 đến +25,0 "
            "điểm.") in first
    assert "Ở đợt cuối kỳ, năm nội dung S ở mức gần như nhau (từ 75,0 % đến 75,0 %)." in first
    assert "thay đổi nhiều nhất" not in first and "mạnh nhất" not in first and "yếu nhất" not in first

    _reader, pages = _text(client.get("/api/v1/programme/report.pdf?lang=en"))
    assert "The five S moved alike: their mean changes lie between +25.0 and +25.0 points." in pages[0]
    assert "At the final audit the five S stand at about the same level (75.0% to 75.0%)." in pages[0]
    assert "changed most" not in pages[0] and "strongest" not in pages[0] and "weakest" not in pages[0]


def test_when_the_s_changes_differ_the_summary_names_the_most_and_least_changed(client, login_as, db):
    _programme(db, 7)
    login_as("reviewer")
    by_s = client.get("/api/v1/programme/comparison").get_json()["by_s"]
    changes = sorted((m["mean_change"], s) for s, m in by_s.items())
    assert changes[-1][0] - changes[0][0] >= 1

    _reader, pages = _text(client.get("/api/v1/programme/report.pdf"))
    assert (f"{S_VI[changes[-1][1]]} thay đổi nhiều nhất ({signed(changes[-1][0], 'vi')} điểm) và "
            f"{S_VI[changes[0][1]]} ít nhất ({signed(changes[0][0], 'vi')} điểm).") in pages[0]
    assert "thay đổi như nhau" not in pages[0]
