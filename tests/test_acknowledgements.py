"""The audit record (one-page PDF, read back with pypdf) and the site head's acknowledgement: who may
acknowledge, once per submission, a new one after a reopen, shown on the page, in the record and in the log."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from fivs.audits.services import audit_scores, reopen_audit, submit_audit
from fivs.events.models import Event
from fivs.scoring import format_pct
from tests.api_support import ApiClient
from tests.conftest import login
from tests.factories import answer_all, make_audit, make_site, make_user

SITE = "Trường Tiểu học Nghĩa Phương"
COMMENT = "Nhà trường không đồng ý với điểm khu vệ sinh: đã sửa trước ngày đánh giá."


@pytest.fixture
def world(db):
    site = make_site(code="LN01", name=SITE, former_district="Lục Nam")
    other = make_site(code="LN02", name="Trường Tiểu học Lan Mẫu")
    consultant = make_user("consultant", assigned=[site], full_name="Trần Văn Bình")
    principal = make_user("principal", site=site, full_name="Lê Thị Hoa")
    audit = make_audit(site, consultant, phase="baseline", status="draft")
    answer_all(audit, lambda item: 1 if item.s == "seiso" else 3)
    weakest = sorted(audit.answers, key=lambda a: a.id)[0]
    weakest.score, weakest.note = 0, "Bồn rửa tay bị hỏng, không có xà phòng"
    submit_audit(audit, consultant)
    draft = make_audit(site, consultant, phase="final", status="draft")
    db.session.commit()
    return {"site": site, "other": other, "consultant": consultant, "principal": principal, "audit": audit,
            "draft": draft}


def text_of(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_record_pdf_has_scores_findings_and_signature_blocks(client, db, world):
    api = ApiClient(client).login(world["consultant"])

    resp = api.get(f"/audits/{world['audit'].uuid}/record.pdf")

    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader, text = text_of(resp.get_data())
    assert len(reader.pages) == 1
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "BIÊN BẢN ĐÁNH GIÁ 5S" in text and SITE in text and "Đầu kỳ" in text
    scores = audit_scores(world["audit"])
    assert f"Tổng thể {format_pct(scores.overall)}" in text
    for s, name in (("seiso", "Sạch sẽ"), ("seiri", "Sàng lọc")):
        assert f"{name} {format_pct(scores.by_s[s])}" in text
    assert "Những phát hiện chính" in text and "Bồn rửa tay bị hỏng" in text and "0/4" in text
    assert "NGƯỜI ĐÁNH GIÁ" in text and "ĐẠI DIỆN CƠ SỞ" in text and text.count("(Ký, ghi rõ họ tên)") == 2
    assert "Trần Văn Bình" in text and "Chức vụ: Chuyên gia tư vấn" in text
    assert "Cơ sở chưa xác nhận." in text and "Lê Thị Hoa" not in text


def test_record_only_for_submitted_audits_of_visible_sites(client, db, world):
    api = ApiClient(client).login(world["consultant"])
    assert api.get(f"/audits/{world['draft'].uuid}/record.pdf").status_code == 409
    assert api.get(f"/audits/{world['audit'].uuid}/record.pdf?lang=xx").status_code == 422
    api.login(make_user("principal", site=world["other"]))
    assert api.get(f"/audits/{world['audit'].uuid}/record.pdf").status_code == 404
    english = ApiClient(client).login(world["principal"]).get(f"/audits/{world['audit'].uuid}/record.pdf?lang=en")
    _reader, text = text_of(english.get_data())
    assert "5S AUDIT RECORD" in text and "SOCIALIST REPUBLIC OF VIETNAM" in text and "THE AUDITOR" in text


def test_principal_acknowledges_with_a_comment_shown_in_record_and_log(client, db, world):
    api = ApiClient(client).login(world["principal"])
    audit = world["audit"]

    resp = api.post(f"/audits/{audit.uuid}/acknowledgement", json={"comment": COMMENT})

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["by"] == world["principal"].username and body["name"] == "Lê Thị Hoa"
    assert body["comment"] == COMMENT and body["audit"] == str(audit.uuid)
    assert api.get(f"/audits/{audit.uuid}").get_json()["acknowledgement"]["comment"] == COMMENT
    again = api.post(f"/audits/{audit.uuid}/acknowledgement", json={})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_acknowledged"
    event = db.session.scalar(select(Event).where(Event.action == "audit.acknowledge"))
    assert event.audit_id == audit.id and event.detail == COMMENT and event.user_id == world["principal"].id
    _reader, text = text_of(api.get(f"/audits/{audit.uuid}/record.pdf").get_data())
    assert "Lê Thị Hoa đã xác nhận lúc" in text and "không đồng ý với điểm khu vệ sinh" in text
    assert "Lê Thị Hoa" in text.split("ĐẠI DIỆN CƠ SỞ")[1] and "Chức vụ: Hiệu trưởng hoặc trưởng cơ sở y tế" in text


@pytest.mark.parametrize("who", ["consultant", "reviewer", "admin", "staff", "other_principal"])
def test_only_the_sites_head_may_acknowledge(client, db, world, who):
    user = {"consultant": lambda: world["consultant"],
            "other_principal": lambda: make_user("principal", site=world["other"]),
            "staff": lambda: make_user("staff", site=world["site"])}.get(who, lambda: make_user(who))()
    db.session.commit()
    api = ApiClient(client).login(user)

    resp = api.post(f"/audits/{world['audit'].uuid}/acknowledgement", json={})

    assert resp.status_code == (404 if who == "other_principal" else 403)
    assert api.get(f"/audits/{world['audit'].uuid}/record.pdf").status_code == (404 if who == "other_principal"
                                                                                else 200)


def test_draft_and_bad_comment_are_refused(client, db, world):
    api = ApiClient(client).login(world["principal"])
    draft = api.post(f"/audits/{world['draft'].uuid}/acknowledgement", json={})
    assert draft.status_code == 409 and draft.get_json()["error"]["code"] == "not_submitted"
    assert api.post(f"/audits/{world['audit'].uuid}/acknowledgement", json={"comment": 5}).status_code == 422
    too_long = api.post(f"/audits/{world['audit'].uuid}/acknowledgement", json={"comment": "x" * 5001})
    assert too_long.status_code == 422
    assert api.get(f"/audits/{world['audit'].uuid}").get_json()["acknowledgement"] is None


def test_a_reopened_audit_needs_a_new_acknowledgement(client, db, world):
    api = ApiClient(client).login(world["principal"])
    audit = world["audit"]
    assert api.post(f"/audits/{audit.uuid}/acknowledgement", json={"comment": "lần 1"}).status_code == 201
    reviewer = make_user("reviewer")
    reopen_audit(audit, reviewer, "Chấm lại khu vệ sinh")
    db.session.commit()
    assert api.post(f"/audits/{audit.uuid}/acknowledgement", json={}).status_code == 409  # not submitted now
    submit_audit(audit, world["consultant"])
    db.session.commit()

    assert api.get(f"/audits/{audit.uuid}").get_json()["acknowledgement"] is None
    _reader, text = text_of(api.get(f"/audits/{audit.uuid}/record.pdf").get_data())
    assert "Cơ sở chưa xác nhận." in text
    resp = api.post(f"/audits/{audit.uuid}/acknowledgement", json={"comment": "lần 2"})
    assert resp.status_code == 201
    assert api.get(f"/audits/{audit.uuid}").get_json()["acknowledgement"]["comment"] == "lần 2"


def test_summary_page_form_acknowledges_without_javascript(client, db, world):
    audit = world["audit"]
    login(client, world["principal"].username)
    page = client.get(f"/audits/{audit.uuid}/summary").get_data(as_text=True)
    assert "Xác nhận của cơ sở" in page and "Cơ sở chưa xác nhận." in page
    assert f"/audits/{audit.uuid}/acknowledge" in page and f"/api/v1/audits/{audit.uuid}/record.pdf" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    resp = client.post(f"/audits/{audit.uuid}/acknowledge", data={"comment": COMMENT, "csrf_token": token})

    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Lê Thị Hoa đã xác nhận lúc" in page and COMMENT in page
    assert f"/audits/{audit.uuid}/acknowledge\"" not in page  # the form is gone once acknowledged
    history = client.get(f"/audits/{audit.uuid}/history").get_data(as_text=True)
    assert "Cơ sở đã xác nhận kết quả đánh giá" in history


def test_consultant_sees_no_acknowledge_form_and_is_refused(client, db, world):
    audit = world["audit"]
    login(client, world["consultant"].username)
    page = client.get(f"/audits/{audit.uuid}/summary").get_data(as_text=True)
    assert "Cơ sở chưa xác nhận." in page and f"/audits/{audit.uuid}/acknowledge\"" not in page
    token = client.csrf()

    assert client.post(f"/audits/{audit.uuid}/acknowledge", data={"csrf_token": token}).status_code == 403
