"""The checklist admin pages: download, upload a revised workbook, see its problems (Vietnamese
first) or its differences and zone pages, publish it as the next version; and the comparison of
a baseline and a final audit that pinned different versions."""
from __future__ import annotations

import io
import re
from datetime import date
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from fivs.audits.models import Audit
from fivs.events.models import Event
from fivs.checklists.content import template_content, with_hash
from fivs.checklists.loader import ChecklistError, load_template
from fivs.checklists.models import ChecklistTemplate, ChecklistUpload
from fivs.checklists.services import publish_upload, stage_upload
from fivs.checklists.xlsx import MAX_BYTES, parse_workbook, write_workbook
from fivs.comparisons.services import load_site_comparison
from fivs.extensions import db
from tests.factories import answer_all, make_audit, make_site, make_user
from tests.state import database_state
from tests.test_checklist_xlsx import with_member
from tests.test_reports import pdf_text

REWORDED, REMOVED, MOVED, ADDED = "CLS-S1-01", "CLS-S5-02", "TCH-S1-01", "CLS-S5-03"
NEW_TEXT = "Trong lớp không còn bàn ghế hỏng hoặc lung lay."


def school_v1():
    return template_content(db_version(1))


def db_version(version: int, key: str = "school-5s") -> ChecklistTemplate:
    return db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == key, ChecklistTemplate.version == version))


def revision(edit=None) -> bytes:
    """Version 1 of the school checklist with an item reworded, one removed, one moved to another
    zone and S, and one added; `edit(content)` changes it further."""
    content = school_v1()
    classroom, teachers = content.zones[0], content.zones[1]
    classroom["items"][0]["text"]["vi"] = NEW_TEXT
    moved = next(i for i in teachers["items"] if i["code"] == MOVED)
    teachers["items"].remove(moved)
    classroom["items"].append({**moved, "s": "seiso"})
    classroom["items"] = [i for i in classroom["items"] if i["code"] != REMOVED]
    classroom["items"].append({"code": ADDED, "s": "shitsuke", "text": {"vi": "Học sinh tự giác giữ gìn lớp.",
                                                                         "en": "Pupils keep the room tidy."},
                               "guidance": {"vi": "", "en": ""}, "na_allowed": False})
    if edit:
        edit(content)
    return write_workbook(content)


def upload(client, data: bytes, name: str = "school-5s.xlsx", key: str = "school-5s"):
    return client.form_post(f"/checklists/{key}/upload", {"file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")


def page_text(resp) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))))


@pytest.fixture
def admin(login_as):
    return login_as("admin", full_name="Quản Trị Viên")


# ---------------------------------------------------------------- download
def test_every_reader_downloads_a_version_as_xlsx_and_yaml(client, db, login_as):
    login_as("staff")
    xlsx = client.get("/checklists/school-5s/1.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="school-5s.v1.xlsx"' in xlsx.headers["Content-Disposition"]
    assert parse_workbook(xlsx.data, "d.xlsx").content_hash == db_version(1).content_hash
    yaml = client.get("/checklists/school-5s/1.yaml")
    assert yaml.status_code == 200
    assert yaml.get_data(as_text=True).startswith("# fivs checklist template.")
    assert client.get("/checklists/school-5s/7.xlsx").status_code == 404


# ---------------------------------------------------------------- upload -> diff -> publish
def test_upload_shows_the_differences_and_publishing_adds_the_next_version(client, db, admin):
    site = make_site()
    consultant = make_user("consultant", site=site)
    in_progress = make_audit(site, consultant)
    db.session.commit()

    data = revision()  # once: a workbook carries the second it was written in
    resp = upload(client, data)
    assert resp.status_code == 302, page_text(resp)
    staged = db.session.scalar(select(ChecklistUpload))
    assert resp.headers["Location"].endswith(f"/checklists/school-5s/uploads/{staged.id}")
    assert staged.template_id is None and staged.uploaded_by_id == admin.id and staged.xlsx == data

    review = client.get(resp.headers["Location"])
    text = page_text(review)
    assert review.status_code == 200
    assert "Thay đổi so với phiên bản 1" in text
    for line in ("Tiêu chí thêm mới: 1", "Tiêu chí bị bỏ: 1", "Tiêu chí sửa câu chữ: 1",
                 "Tiêu chí chuyển sang khu vực hoặc chữ S khác: 1"):
        assert line in text
    assert NEW_TEXT in text and REMOVED in text and ADDED in text and MOVED in text
    assert 'role="region"' in review.get_data(as_text=True)

    preview = client.get(f"/checklists/school-5s/uploads/{staged.id}/zones/classroom")
    assert preview.status_code == 200 and NEW_TEXT in page_text(preview)
    assert "disabled" in preview.get_data(as_text=True)
    assert client.get(f"/checklists/school-5s/uploads/{staged.id}/zones/no-such-zone").status_code == 404

    published = client.form_post(f"/checklists/school-5s/uploads/{staged.id}/publish", {"base_version": "1"})
    assert published.status_code == 302 and published.headers["Location"].endswith("/checklists/school-5s/2")
    v2 = db_version(2)
    db.session.refresh(staged)
    assert staged.template_id == v2.id and staged.published_by_id == admin.id and staged.published_at
    assert {i.code for i in v2.items} == {i.code for i in db_version(1).items} - {REMOVED} | {ADDED}
    assert next(i for i in v2.items if i.code == REWORDED).text_vi == NEW_TEXT
    assert next(i for i in v2.items if i.code == MOVED).zone.code == "classroom"
    assert v2.source_file == "school-5s.xlsx"
    event = db.session.scalar(select(Event).where(Event.action == "checklist.publish"))
    assert event.target == "school-5s v2" and event.user_id == admin.id

    detail = page_text(client.get("/checklists/school-5s/2"))
    assert "ban hành từ trang quản trị bởi Quản Trị Viên" in detail
    # audits in progress keep their version; new audits take the newest
    assert db.session.get(Audit, in_progress.id).template_id == db_version(1).id
    assert make_audit(site, consultant, phase="final").template_id == v2.id
    # the published version is never changed in place, not even from a file
    changed = template_content(v2)
    changed.zones[0]["items"][0]["text"]["en"] = "Changed"
    with pytest.raises(ChecklistError, match="published from the admin pages"):
        load_template(with_hash(changed))


def test_the_problems_are_listed_by_sheet_and_row_in_the_readers_language(client, db, admin):
    def break_it(content):
        content.zones[0]["items"][1]["s"] = "seisou"
        content.zones[0]["items"][2]["text"]["vi"] = ""
    before = database_state(db)
    resp = upload(client, revision(break_it))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">(\d+)</td><td>([^<]+)</td></tr>", unescape(html))
    assert ("items", "3", "Chữ S “seisou” không hợp lệ: dùng seiri, seiton, seiso, seiketsu, shitsuke.") in rows
    assert ("items", "4", "Thiếu nội dung tiếng Việt ở cột text_vi.") in rows
    assert "Bảng tính có lỗi: chưa lưu gì cả." in unescape(html)
    assert database_state(db) == before

    client.get("/lang/en")
    english = page_text(upload(client, revision(break_it)))
    assert "Unknown S “seisou”: use seiri, seiton, seiso, seiketsu, shitsuke." in english
    assert "Empty Vietnamese text in text_vi." in english


def _sheet_edit(edit):
    def make():
        book = load_workbook(io.BytesIO(revision()))
        edit(book)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    return make


def _kind(content):
    content.site_kind = "clinic"


def _key(content):
    content.key = "clinic-5s"


# case -> (the file's bytes, its name, status, the (Vietnamese) message on the page)
BAD_UPLOADS = {
    "not_xlsx": (lambda: b"%PDF-1.4 not a workbook", "bang-kiem.xlsx", 422,
                 "Tệp không phải là bảng tính XLSX: hãy lưu lại từ Excel hoặc LibreOffice dưới dạng .xlsx."),
    "wrong_sheets": (_sheet_edit(lambda book: setattr(book["items"], "title", "questions")), "s.xlsx", 422,
                     "Bảng tính thiếu sheet “items”."),
    "too_big": (lambda: revision() + b"\0" * MAX_BYTES, "s.xlsx", 413, "Tệp quá lớn: tệp bảng kiểm tối đa 2048 KB."),
    "formula": (_sheet_edit(lambda book: book["items"].cell(row=2, column=4, value="=B2")), "s.xlsx", 422,
                "Ô D2 chứa công thức: hãy nhập trực tiếp giá trị."),
    "macros": (lambda: with_member(revision(), "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0macro"), "s.xlsm", 422,
               "Tệp có chứa macro: hãy lưu thành tệp .xlsx thông thường, không có macro."),
    "empty_vietnamese_text": (lambda: revision(lambda c: c.zones[1]["name"].update(vi="")), "s.xlsx", 422,
                              "Thiếu nội dung tiếng Việt ở cột name_vi."),
    "another_checklist": (lambda: revision(_key), "s.xlsx", 422,
                          "Bảng tính này dành cho bảng kiểm “clinic-5s”, không phải “school-5s”."),
    "another_kind_of_site": (lambda: revision(_kind), "s.xlsx", 422, "Loại cơ sở phải giữ là “school”"),
    "no_change": (lambda: write_workbook(school_v1()), "s.xlsx", 422,
                  "Bảng tính này giống hệt phiên bản 1: không có gì để ban hành."),
    "no_file": (None, "", 422, "Hãy chọn một tệp XLSX để tải lên."),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_a_bad_upload_gets_its_message_and_changes_nothing(client, db, admin, case):
    make, name, status, message = BAD_UPLOADS[case]
    before = database_state(db)
    if make is None:
        resp = client.form_post("/checklists/school-5s/upload", {}, content_type="multipart/form-data")
    else:
        resp = upload(client, make(), name)
    assert resp.status_code == status, page_text(resp)
    assert resp.mimetype == "text/html"
    assert message in page_text(resp)
    assert database_state(db) == before


def test_publishing_needs_the_version_the_diff_was_read_against(client, db, admin):
    first = stage_upload("school-5s", "a.xlsx", revision(), admin)
    second = stage_upload("school-5s", "b.xlsx", revision(lambda c: c.title.update(en="5S checklist: school")), admin)
    db.session.commit()
    url = f"/checklists/school-5s/uploads/{first.id}/publish"
    missing = client.form_post(url, {})
    assert missing.status_code == 422
    assert "Biểu mẫu thiếu số phiên bản đã dùng để so sánh: hãy tải lại trang." in page_text(missing)
    assert client.form_post(url, {"base_version": "1"}).status_code == 302
    again = client.form_post(url, {"base_version": "1"})
    assert again.status_code == 409 and "đã được ban hành, là phiên bản 2" in page_text(again)
    stale = client.form_post(f"/checklists/school-5s/uploads/{second.id}/publish", {"base_version": "1"})
    assert stale.status_code == 409
    assert "Trong lúc đó phiên bản 2 đã được ban hành: hãy xem lại các thay đổi trước khi ban hành." in page_text(stale)
    assert db.session.scalar(select(func.count()).select_from(ChecklistTemplate)
                             .where(ChecklistTemplate.key == "school-5s")) == 2
    # the second upload, read again against version 2: only its title differs now... and the
    # revision it shares with version 2
    review = page_text(client.get(f"/checklists/school-5s/uploads/{second.id}"))
    assert "Thay đổi so với phiên bản 2" in review and "Tên bảng kiểm đã thay đổi" in review
    assert client.post(f"/checklists/school-5s/uploads/{second.id}/publish",
                       data={"base_version": "2"}).status_code == 400  # no CSRF token


def test_unknown_checklists_and_uploads_are_404_and_other_roles_403(client, db, login_as):
    admin = make_user("admin")
    staged = stage_upload("school-5s", "a.xlsx", revision(), admin)
    db.session.commit()
    login_as("admin")
    assert client.get("/checklists/no-such/upload").status_code == 404
    assert upload(client, revision(), key="no-such").status_code == 404
    assert client.get(f"/checklists/clinic-5s/uploads/{staged.id}").status_code == 404
    assert client.get("/checklists/school-5s/uploads/999999").status_code == 404
    client.post("/auth/logout", data={"csrf_token": client.csrf()})
    login_as("reviewer")
    assert client.get("/checklists/school-5s/upload").status_code == 403
    assert client.get(f"/checklists/school-5s/uploads/{staged.id}").status_code == 403


# ---------------------------------------------------------------- comparability across versions
def test_a_comparison_across_two_versions_matches_by_code_and_says_they_differ(client, db, login_as):
    site = make_site()
    consultant = make_user("consultant", site=site)
    admin = make_user("admin")
    baseline = make_audit(site, consultant, phase="baseline", status="submitted", audit_date=date(2023, 4, 20))
    answer_all(baseline, 2)
    publish_upload(stage_upload("school-5s", "v2.xlsx", revision(), admin), 1, admin)
    final = make_audit(site, consultant, phase="final", status="submitted", audit_date=date(2023, 11, 20))
    answer_all(final, 4)
    db.session.commit()
    assert final.template.version == 2 and baseline.template.version == 1

    comparison = load_site_comparison(site)
    assert comparison.versions_differ
    assert REMOVED in comparison.change.excluded_items and ADDED in comparison.change.excluded_items
    assert REWORDED not in comparison.change.excluded_items and MOVED not in comparison.change.excluded_items
    assert comparison.change.overall == pytest.approx(50.0)  # every matched item went from 2 to 4

    login_as("reviewer")
    page = page_text(client.get(f"/sites/{site.code}/comparison"))
    assert ("Đợt khảo sát ban đầu dùng phiên bản 1 của bảng kiểm, đợt đánh giá cuối dùng phiên bản 2: "
            "các tiêu chí được ghép theo mã") in page
    assert REMOVED in page
    body = client.get(f"/api/v1/sites/{site.code}/comparison").get_json()
    assert body["versions_differ"] is True and body["checklist_versions"] == {"baseline": 1, "final": 2}
    assert REMOVED in body["excluded_items"]
    _reader, report = pdf_text(client.get(f"/api/v1/sites/{site.code}/report.pdf?lang=en").data)
    assert ("The baseline used version 1 of the checklist and the final version 2: items are matched by their "
            "code") in report


def test_room_examples_of_a_published_version_name_the_rooms_on_the_capture_page(client, db, login_as):
    admin = make_user("admin")
    publish_upload(stage_upload("school-5s", "v2.xlsx", revision(
        lambda c: c.zones[0].update(room_examples="Lớp 1A, Lớp 5C")), admin), 1, admin)
    site = make_site()
    consultant = login_as("consultant", site=site)
    audit = make_audit(site, consultant)
    db.session.commit()
    assert "Tên phòng, ví dụ: Lớp 1A, Lớp 5C" in page_text(client.get(f"/audits/{audit.uuid}"))
    assert "Tên phòng, ví dụ: Lớp 1A, Lớp 5C" in page_text(client.get("/checklists/school-5s/2"))
