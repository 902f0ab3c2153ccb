"""PDF reports: read back with pypdf; Vietnamese text, the API's figures, embedded subset fonts,
page numbering, languages and access rules."""
from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from PIL import Image as PILImage
from pypdf import PdfReader

from fivs import labels, scoring
from fivs.audits.models import Answer
from fivs.photos import pipeline
from fivs.photos.pipeline import PRINT_EDGE
from fivs.photos.services import attach_photo, photo_file, print_file, print_key
from fivs.timeutil import local_today
from tests.factories import answer_all, make_audit, make_site, make_user

S_VI = ("Sàng lọc", "Sắp xếp", "Sạch sẽ", "Săn sóc", "Sẵn sàng")
SITE_NAME = "Trường Tiểu học Vĩnh Khương"
DISTRICT = "Sơn Động"


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def fonts_of(reader: PdfReader) -> list:
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    return list(fonts.values())


def font_file(font):
    """The embedded font program of a simple or a Type0 (composite) font, or None."""
    if font["/Subtype"] == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor.get_object().get("/FontFile2") if descriptor else None


@pytest.fixture
def site_with_rounds(db):
    site = make_site(code="S700", name=SITE_NAME, former_district=DISTRICT)
    consultant = make_user("consultant", site=site, full_name="Nguyễn Thị Hằng")
    for phase, score in (("baseline", 2), ("final", lambda item: 4 if item.s == "seiri" else 3)):
        audit = make_audit(site, consultant, phase=phase, status="submitted",
                           audit_date=date(2023, 3, 2) if phase == "baseline" else date(2024, 4, 1))
        answer_all(audit, score)
    weak = db.session.query(Answer).filter_by(audit_id=audit.id).first()
    weak.score, weak.note = 0, "Tủ hồ sơ chưa dán nhãn & <còn> bụi"
    db.session.commit()
    return site


def test_site_report_has_vietnamese_labels_name_district_and_the_apis_figures(client, login_as,
                                                                              site_with_rounds):
    login_as("reviewer")
    body = client.get("/api/v1/sites/S700/comparison").get_json()

    resp = client.get("/api/v1/sites/S700/report.pdf")

    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("inline;")
    reader, text = pdf_text(resp.data)
    for label in S_VI:
        assert label in text
    assert SITE_NAME in text and DISTRICT in text
    for figure in (body["baseline"]["overall"], body["final"]["overall"],
                   *body["final"]["by_s"].values()):
        assert scoring.format_pct(figure, "vi") in text
    assert "Tủ hồ sơ chưa dán nhãn & <còn> bụi" in text  # the weakest item's note, escaped
    assert "Nguyễn Thị Hằng" in text  # the auditor
    pages = len(reader.pages)
    assert pages >= 2
    for n in range(1, pages + 1):
        assert f"Trang {n} / {pages}" in text
    assert "Phương pháp tính điểm" in text
    assert "Mỗi mục được chấm từ 0 đến 4." in text  # the method note


def test_every_font_is_an_embedded_be_vietnam_pro_subset(client, login_as, site_with_rounds):
    login_as("reviewer")
    reader, _text = pdf_text(client.get("/api/v1/sites/S700/report.pdf").data)

    fonts = fonts_of(reader)
    assert fonts
    for font in fonts:
        assert font_file(font) is not None, font["/BaseFont"]
        assert re.fullmatch(r"/[A-Z]{6}\+BeVietnamPro-(Regular|Bold)", font["/BaseFont"]), font["/BaseFont"]


def test_english_report_has_english_labels_and_figures(client, login_as, site_with_rounds):
    login_as("reviewer")
    body = client.get("/api/v1/sites/S700/comparison").get_json()

    resp = client.get("/api/v1/sites/S700/report.pdf?lang=en")

    reader, text = pdf_text(resp.data)
    with force_locale("en"):
        english = labels.s_names()
    for s in scoring.S_KEYS:
        assert english[s] in text
    assert "Sàng lọc" not in text
    assert scoring.format_pct(body["final"]["overall"], "en") in text
    assert f"Page 1 of {len(reader.pages)}" in text
    assert SITE_NAME in text


def test_report_of_a_site_without_audits(client, login_as, db):
    site = make_site(code="S701", name="Trạm Y tế xã Tuấn Đạo", kind="clinic")
    db.session.commit()
    login_as("reviewer")
    resp = client.get(f"/api/v1/sites/{site.code}/report.pdf")
    assert resp.status_code == 200
    _reader, text = pdf_text(resp.data)
    assert "Trạm Y tế xã Tuấn Đạo" in text and "Chưa có phiếu đánh giá nào được nộp" in text


@pytest.mark.parametrize("lang", ["fr", "", "EN"])
def test_unknown_language_is_a_clear_422(client, login_as, site_with_rounds, lang):
    login_as("reviewer")
    resp = client.get(f"/api/v1/sites/S700/report.pdf?lang={lang}")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "bad_lang"
    assert "vi, en" in resp.get_json()["error"]["message"]


def test_principal_gets_own_site_report_and_404_for_another(client, login_as, db, site_with_rounds):
    other = make_site(code="S702")
    db.session.commit()
    login_as("principal", site=site_with_rounds)
    assert client.get("/api/v1/sites/S700/report.pdf").status_code == 200
    resp = client.get(f"/api/v1/sites/{other.code}/report.pdf")
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert client.get("/api/v1/sites/NOPE/report.pdf").status_code == 404


@pytest.mark.parametrize("role", ["principal", "staff", "consultant"])
def test_programme_report_is_forbidden_to_others(client, login_as, site_with_rounds, role):
    login_as(role, site=site_with_rounds)
    resp = client.get("/api/v1/programme/report.pdf")
    assert resp.status_code == 403
    assert resp.get_json()["error"]["message"]


def test_reports_need_authentication(client, site_with_rounds):
    assert client.get("/api/v1/programme/report.pdf").status_code == 401
    assert client.get("/api/v1/sites/S700/report.pdf").status_code == 401


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_programme_report_for_reviewers_and_admins(client, login_as, db, site_with_rounds, role):
    make_site(code="S703", name="Trạm Y tế xã An Lạc", kind="clinic", former_district="Lục Nam")
    db.session.commit()
    login_as(role)
    stats = client.get("/api/v1/programme/comparison").get_json()

    resp = client.get("/api/v1/programme/report.pdf")

    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader, text = pdf_text(resp.data)
    for label in S_VI:
        assert label in text
    for name in (SITE_NAME, DISTRICT, "Trạm Y tế xã An Lạc", "Lục Nam"):
        assert name in text
    assert scoring.format_pct(stats["overall"]["final_mean"], "vi") in text
    assert "Chưa có" in text  # the clinic's missing rounds in the coverage matrix
    assert f"Trang {len(reader.pages)} / {len(reader.pages)}" in text


@pytest.mark.media_backends(postgresql=True)
def test_before_after_photos_are_drawn_side_by_side_from_the_print_files(client, login_as, db, photos_dir,
                                                                             media, monkeypatch):
    site = make_site(code="S704", name=SITE_NAME, former_district=DISTRICT)
    consultant = make_user("consultant", site=site)
    photos = []
    for phase, picture in (("baseline", "Landscape_1.jpg"), ("final", "Portrait_3.jpg")):
        audit = make_audit(site, consultant, phase=phase,
                           audit_date=date(2023, 3, 2) if phase == "baseline" else date(2024, 4, 1))
        answer_all(audit, 3)
        photo, _created = attach_photo(audit, consultant, (photos_dir / "orientation" / picture).read_bytes(),
                                       photo_uuid=uuid.uuid4(), item_code="CLS-S1-01", room="Lớp 1A")
        audit.status = "submitted"
        photos.append(photo)
    db.session.commit()
    login_as("reviewer")

    resp = client.get("/api/v1/sites/S704/report.pdf")

    reader, text = pdf_text(resp.data)
    assert "Trước (đầu kỳ)" in text and "Sau (cuối kỳ)" in text and "CLS-S1-01" in text
    images = [page.images for page in reader.pages if page.images]
    assert len(images) == 1 and len(images[0]) == 2  # the pair, on one page
    xobjects = [x.get_object() for page in reader.pages
                for x in page["/Resources"].get("/XObject", {}).values()
                if x.get_object()["/Subtype"] == "/Image"]
    assert [list(x["/Filter"]) for x in xobjects] == [["/DCTDecode"]] * 2  # JPEG as is, no ASCII85
    # the print derivatives (made from the display images, long edge 800 px) as they are, at their size
    prints = [print_file(p) for p in photos]
    sizes = [PILImage.open(io.BytesIO(jpeg)).size for jpeg in prints]
    assert sorted((x.get_data(), x["/Width"], x["/Height"]) for x in xobjects) == sorted(
        (jpeg, w, h) for jpeg, (w, h) in zip(prints, sizes))
    for (w, h), p in zip(sizes, photos):
        assert max(w, h) == min(PRINT_EDGE, max(p.width, p.height))
        assert abs(w / h - p.width / p.height) < 0.01  # the display image's shape
    # stored beside the display image, as a JPEG object, through the app's backend
    for jpeg, p in zip(prints, photos):
        assert media.read(print_key(p.display_key)) == jpeg
        assert media.content_type(print_key(p.display_key)) == "image/jpeg"

    def made_again(_data, **_kw):
        raise AssertionError("the print derivative was made again")

    monkeypatch.setattr(pipeline, "make_print", made_again)
    again = client.get("/api/v1/sites/S704/report.pdf")  # made once, then read from the store
    assert again.status_code == 200 and sum(len(page.images) for page in pdf_text(again.data)[0].pages) == 2


def test_site_report_lists_open_corrective_actions(client, login_as, db, site_with_rounds):
    from fivs.actions.services import raise_action

    reviewer = login_as("reviewer")
    for title in ("Dán nhãn tủ hồ sơ lớp 1A", "Sửa vòi nước nhà vệ sinh"):
        raise_action(reviewer, site_with_rounds, title=title, responsible="Cô Lan",
                     due_date=date(2024, 5, 1), priority="high")
    db.session.commit()

    _reader, text = pdf_text(client.get("/api/v1/sites/S700/report.pdf").data)

    assert "Hành động khắc phục đang mở" in text
    assert "Dán nhãn tủ hồ sơ lớp 1A" in text and "Sửa vòi nước nhà vệ sinh" in text
    assert "quá hạn" in text  # due in 2024


def test_pages_link_the_reports(client, login_as, site_with_rounds):
    login_as("reviewer")
    assert 'href="/api/v1/sites/S700/report.pdf?lang=vi"' in client.get("/sites/S700/comparison").text
    assert 'href="/api/v1/sites/S700/report.pdf?lang=vi"' in client.get("/sites/S700").text
    assert 'href="/api/v1/programme/report.pdf?lang=vi"' in client.get("/programme").text


@pytest.mark.media_backends
def test_site_report_lists_verified_actions_with_their_date_and_after_photo(client, login_as, db, media,
                                                                             site_with_rounds, photos_dir):
    from datetime import datetime, timezone

    from fivs.actions.services import mark_done, raise_action, verify
    from fivs.photos.queries import photos_of_actions

    reviewer = login_as("reviewer")
    principal = make_user("principal", site=site_with_rounds)
    still_open, _created = raise_action(reviewer, site_with_rounds, title="Sửa vòi nước nhà vệ sinh",
                                        responsible="", due_date=local_today() + timedelta(days=300), priority="high")
    verified = raise_action(reviewer, site_with_rounds, title="Dán nhãn tủ hồ sơ lớp 1A", responsible="Cô Lan",
                            due_date=date(2024, 5, 1), priority="medium")[0]
    mark_done(verified, principal, "Đã dán nhãn đủ 12 ngăn tủ.",
              photos=[(photos_dir / "orientation" / "Landscape_6.jpg").read_bytes()])
    # 20:30 UTC on 3 May is 03:30 on 4 May in Vietnam: the report gives the local date
    verify(verified, reviewer, now=datetime(2024, 5, 3, 20, 30, tzinfo=timezone.utc))
    db.session.commit()
    (photo,) = photos_of_actions([verified.id])[verified.id]

    reader, text = pdf_text(client.get("/api/v1/sites/S700/report.pdf").data)

    opened = text.index("Hành động khắc phục đang mở")
    done = text.index("Hành động khắc phục đã xác nhận")
    assert opened < text.index(still_open.title) < done
    section = text[done:]
    for expected in ("Dán nhãn tủ hồ sơ lớp 1A", "Đã dán nhãn đủ 12 ngăn tủ.", "Ngày xác nhận", "Ảnh sau",
                     "04/05/2024"):
        assert expected in section, expected
    assert "Dán nhãn tủ hồ sơ lớp 1A" not in text[opened:done]
    thumbs = [x.get_object() for page in reader.pages
              for x in page["/Resources"].get("/XObject", {}).values()
              if x.get_object()["/Subtype"] == "/Image"]
    assert [(x["/Width"], x["/Height"]) for x in thumbs] == [(photo.thumb_width, photo.thumb_height)]
    assert thumbs[0].get_data() == photo_file(photo, "thumb").data == media.read(photo.thumb_key)  # as stored


def test_programme_report_counts_actions_per_site(client, login_as, db, site_with_rounds):
    from fivs.actions.services import mark_done, raise_action, verify

    make_site(code="S705", name="Trạm Y tế xã Phong Minh", kind="clinic")
    reviewer = login_as("reviewer")
    principal = make_user("principal", site=site_with_rounds)

    def action(title, due):
        return raise_action(reviewer, site_with_rounds, title=title, responsible="", due_date=due,
                            priority="high")[0]

    action("Quá hạn", date(2024, 5, 1))
    action("Còn hạn", local_today() + timedelta(days=300))
    for title in ("Đã làm", "Đã xác nhận"):
        a = action(title, date(2024, 5, 1))
        mark_done(a, principal, "Xong")
        if title == "Đã xác nhận":
            verify(a, reviewer)
    db.session.commit()

    _reader, text = pdf_text(client.get("/api/v1/programme/report.pdf").data)

    section = text[text.index("Hành động khắc phục theo cơ sở"):]
    assert "Cơ sở Đang mở Quá hạn Đã làm Đã xác nhận" in section
    assert f"S700 — {SITE_NAME} 2 1 1 1" in section  # open 2 (1 of them overdue), done 1, verified 1
    assert "S705 — Trạm Y tế xã Phong Minh 0 0 0 0" in section
    assert "Đang mở gồm cả các hành động được mở lại" in section
