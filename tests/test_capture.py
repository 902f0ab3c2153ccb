"""Audit capture in the browser without JavaScript: start, rooms, zone forms, submit, lock, reopen, history.

Every request goes through the `client` with CSRF on, as plain form posts. Pages are in Vietnamese
(the default language), so messages are asserted in Vietnamese.
"""
from __future__ import annotations

import re
import uuid
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fivs import scoring
from fivs.audits import services
from fivs.audits.models import Answer, Audit
from fivs.events.models import Event
from tests.factories import answer_all, make_audit, make_site, make_user

STATIC = Path(__file__).resolve().parents[1] / "fivs" / "static"
ROOMS = ("Lớp 3A", "Lớp 4B")


# ---------------------------------------------------------------- helpers
def page(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def fieldset(html: str, code: str) -> str:
    start = html.index(f'id="item-{code}"')
    return html[start:html.index("</fieldset>", start)]


def checked_value(html: str, code: str) -> str | None:
    match = re.search(rf'name="score-{re.escape(code)}" value="(\w+)" checked', html)
    return match.group(1) if match else None


def zone_url(audit, zone_code: str, room: str = "") -> str:
    return f"/audits/{audit.uuid}/zones/{zone_code}" + (f"?room={room}" if room else "")


def score_zone(client, audit, zone, room: str = "", score=lambda item: 3, note=lambda item: ""):
    """Open a zone page, then post a score (and note) for every item with the page's row version."""
    html = page(client.get(zone_url(audit, zone.code, room)))
    data = {"row_version": hidden(html, "row_version")}
    for item in zone.items:
        data[f"score-{item.code}"] = str(score(item))
        data[f"note-{item.code}"] = note(item)
    return client.form_post(zone_url(audit, zone.code, room), data)


def start_via_form(client, site, phase: str = "baseline"):
    html = page(client.get(f"/audits/new?site={site.code}"))
    client_uuid = hidden(html, "client_uuid")
    data = {"site": site.code, "phase": phase, "audit_date": "2023-04-20", "client_uuid": client_uuid}
    return client.form_post("/audits/new", data), data


def reload(db, audit) -> Audit:
    db.session.expire_all()
    return db.session.get(Audit, audit.id)


def answer_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Answer))


def by_position(item) -> int:
    return item.position % 5


@pytest.fixture
def school(db):
    site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
    db.session.commit()
    return site


# ---------------------------------------------------------------- the whole walk
def test_consultant_walks_through_a_whole_school_audit(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    site_html = page(client.get(f"/sites/{school.code}"))
    assert f"/audits/new?site={school.code}" in site_html

    resp, form = start_via_form(client, school)
    assert resp.status_code == 302
    audit = db.session.scalar(select(Audit))
    assert resp.headers["Location"].endswith(f"/audits/{audit.uuid}")
    assert (audit.kind, audit.phase, audit.auditor_id) == ("consultant", "baseline", consultant.id)
    assert audit.template.key == "school-5s"
    again = client.form_post("/audits/new", form)  # a double submit: the same audit, not a second one
    assert again.headers["Location"].endswith(f"/audits/{audit.uuid}")
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 1

    classroom = next(z for z in audit.template.zones if z.repeats)
    for label in ROOMS:
        resp = client.form_post(f"/audits/{audit.uuid}/rooms", {"zone": classroom.code, "label": label})
        assert resp.status_code == 302
    zones_html = page(client.get(f"/audits/{audit.uuid}"))
    assert all(label in zones_html for label in ROOMS) and "0/10" in zones_html

    for zone in audit.template.zones:
        for room in (ROOMS if zone.repeats else ("",)):
            resp = score_zone(client, audit, zone, room, score=by_position,
                              note=lambda item: "Bàn gãy" if item.position % 5 == 0 else "")
            assert resp.status_code == 302, page(resp)
    audit = reload(db, audit)
    assert len(audit.answers) == 10 * (len(audit.template.zones) + 1)
    assert not services.missing_items(audit)
    zones_html = page(client.get(f"/audits/{audit.uuid}"))
    assert zones_html.count("10/10") == len(audit.template.zones) + 1

    resp = client.form_post(f"/audits/{audit.uuid}/submit")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/audits/{audit.uuid}/summary")
    assert reload(db, audit).status == "submitted"

    # Locked: the zone page is read-only and a post is refused with a clear message.
    item = classroom.items[0]
    locked_page = page(client.get(zone_url(audit, classroom.code, "Lớp 3A")))
    assert "disabled" in fieldset(locked_page, item.code) and ">Lưu</button>" not in locked_page
    resp = client.form_post(zone_url(audit, classroom.code, "Lớp 3A"),
                            {"row_version": str(reload(db, audit).row_version), f"score-{item.code}": "4"})
    assert resp.status_code == 409 and "đã nộp và bị khoá" in page(resp)
    assert client.form_post(f"/audits/{audit.uuid}/rooms", {"zone": classroom.code, "label": "Lớp 5C"}).status_code == 409

    # Reopen as a reviewer: a reason is required.
    login_as("reviewer")
    resp = client.form_post(f"/audits/{audit.uuid}/reopen", {"reason": "   "})
    assert resp.status_code == 422 and "Hãy ghi lý do mở lại." in page(resp)
    assert reload(db, audit).status == "submitted"
    resp = client.form_post(f"/audits/{audit.uuid}/reopen", {"reason": "Điểm phòng 3A chấm nhầm"})
    assert resp.status_code == 302
    assert reload(db, audit).status == "reopened"

    # The consultant corrects one answer; the history shows it with old and new values.
    login_as("consultant", site=school)
    old = db.session.scalar(select(Answer).where(Answer.item_id == item.id, Answer.room == "Lớp 3A"))
    old_score = old.score
    new_score = (old_score + 2) % 5
    html = page(client.get(zone_url(audit, classroom.code, "Lớp 3A")))
    data = {"row_version": hidden(html, "row_version"), f"score-{item.code}": str(new_score),
            f"note-{item.code}": "Đã kiểm tra lại"}
    assert client.form_post(zone_url(audit, classroom.code, "Lớp 3A"), data).status_code == 302
    history = page(client.get(f"/audits/{audit.uuid}/history"))
    assert "Điểm phòng 3A chấm nhầm" in history
    row = next(r for r in history.split("<tr>") if f"{item.code} [Lớp 3A]" in r)
    assert f"<td>{old_score}</td>" in row and f"<td>{new_score} · Đã kiểm tra lại</td>" in row
    changes = db.session.scalars(select(Event).where(Event.action == "answer.change")).all()
    assert [c.target for c in changes] == [f"{item.code} [Lớp 3A]"], [(c.old_value, c.new_value) for c in changes][:3]  # only the changed answer is logged
    change = changes[0]
    assert change.old_value["score"] == old_score and change.new_value["score"] == new_score

    summary = page(client.get(f"/audits/{audit.uuid}/summary"))
    scores = services.audit_scores(reload(db, audit))
    assert scoring.format_pct(scores.overall, "vi") in summary and "Bàn gãy" in summary
    assert "Đã kiểm tra lại" in summary and school.name in summary


# ---------------------------------------------------------------- scores shown = scores computed
def test_percentages_on_the_pages_equal_the_scoring_module(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant, rooms=ROOMS)
    answer_all(audit, lambda item: item.position % 5 if item.position % 7 else None)
    db.session.commit()
    scores = services.audit_scores(reload(db, audit))
    assert scores.overall is not None and len(set(scores.by_s.values())) > 1
    zone = audit.template.zones[1]
    for url in (f"/audits/{audit.uuid}", zone_url(audit, zone.code)):  # the live panel
        html = page(client.get(url))
        for s in scoring.S_KEYS:
            assert f'data-score="{s}">{scoring.format_pct(scores.by_s[s], "vi")}<' in html
        assert f'data-score="overall">{scoring.format_pct(scores.overall, "vi")}<' in html
    summary = page(client.get(f"/audits/{audit.uuid}/summary"))
    for s in scoring.S_KEYS:
        assert f'<td class="num">{scoring.format_pct(scores.by_s[s], "vi")}</td>' in summary
    for code, value in scores.by_zone.items():
        assert f'<td class="num">{scoring.format_pct(value, "vi")}</td>' in summary, code
    client.get("/lang/en")
    assert scoring.format_pct(scores.overall, "en") in page(client.get(f"/audits/{audit.uuid}"))


# ---------------------------------------------------------------- incomplete submit
def test_incomplete_submit_lists_the_missing_items_with_links(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant, rooms=())
    db.session.commit()
    plain = [z for z in audit.template.zones if not z.repeats]
    for zone in plain[1:]:
        assert score_zone(client, audit, zone).status_code == 302
    resp = client.form_post(f"/audits/{audit.uuid}/submit")
    html = page(resp)
    assert resp.status_code == 422
    # 10 items of the first zone; the classroom with no room is named as such, not counted as an item
    assert "Còn 10 tiêu chí chưa chấm và 1 khu vực lặp lại chưa thêm phòng nào" in html
    assert "Chưa thêm phòng nào — thêm phòng</a>" in html
    for item in plain[0].items:
        assert f'/audits/{audit.uuid}/zones/{plain[0].code}#item-{item.code}"' in html
    classroom = next(z for z in audit.template.zones if z.repeats)
    assert f"{classroom.name('vi')}: hãy thêm ít nhất một phòng" in html
    for item in plain[1].items:
        assert f"#item-{item.code}" not in html
    assert reload(db, audit).status == "draft"


def conflict_page(resp, item, message: str) -> str:
    """A 409 zone page with `message`: my input 1 · "Của tôi" kept on `item`, theirs (3 · "Của họ") beside it."""
    html = page(resp)
    assert resp.status_code == 409 and message in html
    box = fieldset(html, item.code)
    assert checked_value(html, item.code) == "1" and "Của tôi</textarea>" in box  # my input, kept
    assert "Trên máy chủ hiện là: <strong>3</strong> · Của họ" in box  # theirs, beside it
    return html


# ---------------------------------------------------------------- conflicts
def test_stale_row_version_is_a_conflict_that_keeps_both_inputs(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant)
    db.session.commit()
    zone = next(z for z in audit.template.zones if not z.repeats)
    item, other = zone.items[0], zone.items[1]
    stale_html = page(client.get(zone_url(audit, zone.code)))
    stale = hidden(stale_html, "row_version")
    # Someone else saves first (another tablet).
    services.save_answers(reload(db, audit), consultant, [{"item": item.code, "score": 3, "note": "Của họ"}],
                          row_version=int(stale))
    db.session.commit()

    mine = {"row_version": stale, f"score-{item.code}": "1", f"note-{item.code}": "Của tôi",
            f"score-{other.code}": "2", f"note-{other.code}": ""}
    html = conflict_page(client.form_post(zone_url(audit, zone.code), mine), item,
                         "Người khác vừa sửa cuộc đánh giá này")
    assert checked_value(html, other.code) == "2"
    saved = db.session.scalar(select(Answer).where(Answer.item_id == item.id))
    assert (saved.score, saved.note) == (3, "Của họ") and answer_count(db) == 1

    # Saving again from the conflict page keeps mine, knowingly.
    mine["row_version"] = hidden(html, "row_version")
    assert client.form_post(zone_url(audit, zone.code), mine).status_code == 302
    db.session.expire_all()
    saved = db.session.scalar(select(Answer).where(Answer.item_id == item.id))
    assert (saved.score, saved.note) == (1, "Của tôi")


def _draft_on_a_single_zone(db, login_as, school):
    """A logged-in consultant, a draft audit of theirs and its first zone audited once."""
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant)
    db.session.commit()
    return consultant, audit, next(z for z in audit.template.zones if not z.repeats)


def _form_as_shown(html: str, zone) -> dict:
    """What the browser posts for the page unchanged: row version, every item's bases and inputs."""
    form = {"row_version": hidden(html, "row_version")}
    for item in zone.items:
        for name in (f"base-{item.code}", f"base-note-{item.code}"):
            form[name] = hidden(html, name)
        form[f"note-{item.code}"] = form[f"base-note-{item.code}"]
        if form[f"base-{item.code}"]:
            form[f"score-{item.code}"] = form[f"base-{item.code}"]
    return form


def test_a_stale_page_saves_its_changes_over_a_colleagues_other_answers(client, db, login_as, school):
    """Two people on one audit: the page was shown before a colleague saved two items; one of them
    is left untouched here (not undone), the user changes a third item (saved, no conflict)."""
    consultant, audit, zone = _draft_on_a_single_zone(db, login_as, school)
    theirs, untouched_here, mine = zone.items[0], zone.items[1], zone.items[2]
    services.save_answers(reload(db, audit), consultant, [{"item": untouched_here.code, "score": 1}], row_version=None)
    db.session.commit()
    stale_html = page(client.get(zone_url(audit, zone.code)))
    services.save_answers(reload(db, audit), consultant, [{"item": theirs.code, "score": 3, "note": "Của họ"},
                                                          {"item": untouched_here.code, "score": 4}], row_version=None)
    db.session.commit()

    form = {**_form_as_shown(stale_html, zone), f"score-{mine.code}": "2", f"note-{mine.code}": "Của tôi"}
    assert form[f"score-{untouched_here.code}"] == "1"  # the page still shows the earlier 1
    assert client.form_post(zone_url(audit, zone.code), form).status_code == 302
    db.session.expire_all()
    saved = {a.item_id: (a.score, a.note) for a in db.session.scalars(select(Answer))}
    assert saved == {theirs.id: (3, "Của họ"), untouched_here.id: (4, ""), mine.id: (2, "Của tôi")}


def test_a_stale_page_changing_the_answer_a_colleague_changed_shows_only_that_one(client, db, login_as, school):
    consultant, audit, zone = _draft_on_a_single_zone(db, login_as, school)
    contested, other = zone.items[0], zone.items[1]
    stale_html = page(client.get(zone_url(audit, zone.code)))
    services.save_answers(reload(db, audit), consultant, [{"item": contested.code, "score": 3, "note": "Của họ"}],
                          row_version=None)
    db.session.commit()

    mine = {**_form_as_shown(stale_html, zone), f"score-{contested.code}": "1", f"note-{contested.code}": "Của tôi",
            f"score-{other.code}": "2"}
    html = conflict_page(client.form_post(zone_url(audit, zone.code), mine), contested,
                         "Người khác vừa sửa chính câu trả lời này; chưa lưu gì cả.")
    assert checked_value(html, other.code) == "2" and "Trên máy chủ hiện là" not in fieldset(html, other.code)
    db.session.expire_all()
    assert [(a.item_id, a.score) for a in db.session.scalars(select(Answer))] == [(contested.id, 3)]

    # Saving again from the conflict page (its bases are theirs now) keeps mine, knowingly.
    again = {**mine, "row_version": hidden(html, "row_version"), f"base-{contested.code}": hidden(
        html, f"base-{contested.code}"), f"base-note-{contested.code}": hidden(html, f"base-note-{contested.code}")}
    assert again[f"base-{contested.code}"] == "3"
    assert client.form_post(zone_url(audit, zone.code), again).status_code == 302
    db.session.expire_all()
    saved = {a.item_id: (a.score, a.note) for a in db.session.scalars(select(Answer))}
    assert saved == {contested.id: (1, "Của tôi"), other.id: (2, "")}


def test_save_on_a_page_left_as_shown_changes_nothing_and_says_saved(client, db, login_as, school):
    consultant, audit, zone = _draft_on_a_single_zone(db, login_as, school)
    services.save_answers(reload(db, audit), consultant, [{"item": zone.items[0].code, "score": 2}], row_version=None)
    db.session.commit()
    shown = page(client.get(zone_url(audit, zone.code)))
    resp = client.form_post(zone_url(audit, zone.code), _form_as_shown(shown, zone))
    assert resp.status_code == 302
    assert "Đã lưu." in page(client.get(resp.headers["Location"]))
    assert reload(db, audit).row_version == 2  # nothing written again


# ---------------------------------------------------------------- bad form input
BAD_INPUT = [
    ("score_7", lambda item: {f"score-{item.code}": "7"}, 422, "Điểm là số nguyên từ 0 đến 4."),
    ("score_abc", lambda item: {f"score-{item.code}": "abc"}, 422, "Điểm là số nguyên từ 0 đến 4."),
    ("na_not_allowed", lambda item: {f"score-{item.code}": "na"}, 422,
     "Tiêu chí này không được đánh dấu “Không áp dụng”."),
    ("note_too_long", lambda item: {f"score-{item.code}": "2", f"note-{item.code}": "x" * 5001}, 422,
     "Ghi chú quá dài (tối đa 5000 ký tự)."),
    ("unknown_room", "Lớp 9Z", 404, "Không có phòng này trong cuộc đánh giá."),
    ("no_row_version", lambda item: {"row_version": "", f"score-{item.code}": "2"}, 422,
     "tải lại trang"),
]


@pytest.mark.parametrize("case,bad,status,message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_form_input_is_refused_and_nothing_is_saved(client, db, login_as, school, case, bad, status, message):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant, rooms=("Lớp 1A",))
    db.session.commit()
    zone = next(z for z in audit.template.zones if z.repeats)
    item = next(i for i in zone.items if not i.na_allowed)
    good = zone.items[-1] if zone.items[-1] is not item else zone.items[-2]
    room = bad if isinstance(bad, str) else "Lớp 1A"
    data = {"row_version": "1", f"score-{good.code}": "4"}
    if not isinstance(bad, str):
        data.update(bad(item))
    resp = client.form_post(zone_url(audit, zone.code, room), data)
    html = page(resp)
    assert resp.status_code == status
    assert message in html
    if status == 422 and case != "no_row_version":
        assert message in fieldset(html, item.code)  # shown on the item itself
        assert checked_value(html, good.code) == "4"  # the valid input is kept in the form
    assert answer_count(db) == 0 and reload(db, audit).row_version == 1


def test_room_names_are_checked_and_rooms_with_answers_stay(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant, rooms=("Lớp 1A",))
    db.session.commit()
    classroom = next(z for z in audit.template.zones if z.repeats)
    resp = client.form_post(f"/audits/{audit.uuid}/rooms", {"zone": classroom.code, "label": "  "})
    assert resp.status_code == 422 and "Hãy đặt tên phòng" in page(resp)
    resp = client.form_post(f"/audits/{audit.uuid}/rooms", {"zone": "no-such-zone", "label": "Lớp 2B"})
    assert resp.status_code == 404
    client.form_post(f"/audits/{audit.uuid}/rooms", {"zone": classroom.code, "label": "Lớp 2B"})
    assert score_zone(client, audit, classroom, "Lớp 1A").status_code == 302
    resp = client.form_post(f"/audits/{audit.uuid}/rooms/remove", {"zone": classroom.code, "label": "Lớp 1A"})
    assert resp.status_code == 422 and "Phòng này đã có câu trả lời" in page(resp)
    resp = client.form_post(f"/audits/{audit.uuid}/rooms/remove", {"zone": classroom.code, "label": "Lớp 2B"})
    assert resp.status_code == 302
    labels = {zi.name for zi in reload(db, audit).rooms if zi.zone_id == classroom.id}
    assert labels == {"Lớp 1A"}


# ---------------------------------------------------------------- who may start what
def test_principal_files_a_self_assessment_for_their_own_site_only(client, db, login_as, school):
    other = make_site(code="BG-TH02")
    db.session.commit()
    login_as("principal", site=school)
    assert f"/audits/new?site={school.code}" in page(client.get(f"/sites/{school.code}"))
    resp, _form = start_via_form(client, school)
    assert resp.status_code == 302
    audit = db.session.scalar(select(Audit))
    assert (audit.kind, audit.site_id) == ("self", school.id)
    assert client.get(f"/audits/new?site={other.code}").status_code == 404
    resp = client.form_post("/audits/new", {"site": other.code, "phase": "baseline", "audit_date": "2023-04-20",
                                            "client_uuid": str(uuid.uuid4())})
    assert resp.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 1


@pytest.mark.parametrize("role", ["staff", "principal"])
def test_site_staff_self_assessment_is_scored_by_them(client, db, login_as, school, role):
    login_as(role, site=school)
    resp, _form = start_via_form(client, school, phase="final")
    audit = db.session.scalar(select(Audit))
    assert resp.status_code == 302 and audit.kind == "self" and audit.phase == "final"
    zone = next(z for z in audit.template.zones if not z.repeats)
    assert score_zone(client, audit, zone).status_code == 302


def test_consultant_audits_assigned_sites_only(client, db, login_as, school):
    other = make_site(code="BG-TH03")
    db.session.commit()
    login_as("consultant", site=school)
    assert client.get(f"/audits/new?site={school.code}").status_code == 200
    assert client.get(f"/audits/new?site={other.code}").status_code == 404
    resp = client.form_post("/audits/new", {"site": other.code, "phase": "baseline", "audit_date": "2023-04-20",
                                            "client_uuid": str(uuid.uuid4())})
    assert resp.status_code == 404
    foreign = make_audit(other, make_user("consultant", site=other))
    db.session.commit()
    for url in (f"/audits/{foreign.uuid}", f"/audits/{foreign.uuid}/summary", f"/audits/{foreign.uuid}/history",
                zone_url(foreign, foreign.template.zones[1].code)):
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 1


def test_reviewer_cannot_start_audits_but_reads_them(client, db, login_as, school):
    consultant = make_user("consultant", site=school)
    audit = make_audit(school, consultant)
    db.session.commit()
    login_as("reviewer")
    assert "/audits/new" not in page(client.get(f"/sites/{school.code}"))
    assert client.get(f"/audits/new?site={school.code}").status_code == 403
    assert client.get(f"/audits/{audit.uuid}/summary").status_code == 200
    html = page(client.get(zone_url(audit, audit.template.zones[1].code)))
    assert "data-autosave" not in html and "disabled" in html


def test_only_reviewers_and_admins_reopen(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant, status="submitted")
    db.session.commit()
    assert "Mở lại" not in page(client.get(f"/audits/{audit.uuid}/summary"))
    assert client.form_post(f"/audits/{audit.uuid}/reopen", {"reason": "Tôi muốn sửa"}).status_code == 403
    assert reload(db, audit).status == "submitted"


def test_bad_start_input_is_refused(client, db, login_as, school):
    login_as("consultant", site=school)
    resp = client.form_post("/audits/new", {"site": school.code, "phase": "midterm", "audit_date": "2023-04-20",
                                            "client_uuid": str(uuid.uuid4())})
    assert resp.status_code == 422
    resp = client.form_post("/audits/new", {"site": school.code, "phase": "baseline", "audit_date": "hôm qua",
                                            "client_uuid": str(uuid.uuid4())})
    assert resp.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 0


# ---------------------------------------------------------------- markup and weight
def test_zone_page_markup_is_accessible(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant)
    db.session.commit()
    zone = next(z for z in audit.template.zones if any(i.na_allowed for i in z.items))
    html = page(client.get(zone_url(audit, zone.code)))
    for item in zone.items:
        box = fieldset(html, item.code)
        assert f"<legend>{item.text('vi')}</legend>" in box and item.guidance("vi") in box
        assert box.count('type="radio"') == 5 + item.na_allowed
        assert f'<label for="note-{item.code}">Ghi chú</label>' in box
        assert audit.template.anchor(4, "vi") in box
    assert '<meta name="csrf-token" content="' in html
    assert re.search(r'<script src="/static/js/autosave.js" defer></script>', html)
    assert 'aria-live="polite"' in html and "<script>" not in html and "style=" not in html
    assert f'data-autosave="/api/v1/audits/{audit.uuid}/answers"' in html


def test_the_biggest_zone_page_weighs_under_150_kb(client, db, login_as, school):
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant)
    answer_all(audit, 2)
    for answer in reload(db, audit).answers:
        answer.note = "Ghi chú dài về tình trạng phòng học và đồ dùng. " * 10
    db.session.commit()
    zone = max(audit.template.zones, key=lambda z: sum(len(i.text_vi) + len(i.guidance_vi) for i in z.items))
    html = client.get(zone_url(audit, zone.code, "Lớp 1A" if zone.repeats else "")).get_data()
    assets = [STATIC / "css" / "app.css", STATIC / "css" / "audits.css", STATIC / "js" / "autosave.js"]
    total = len(html) + sum(p.stat().st_size for p in assets)
    assert total < 150 * 1024, total


def test_autosave_contract_with_the_answers_api(client, db, login_as, school):
    """What autosave.js sends (session cookie + X-CSRFToken from the page) saves the answer."""
    consultant = login_as("consultant", site=school)
    audit = make_audit(school, consultant)
    db.session.commit()
    zone = next(z for z in audit.template.zones if z.repeats)
    html = page(client.get(zone_url(audit, zone.code, "Lớp 1A")))
    url = re.search(r'data-autosave="([^"]+)"', html).group(1)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    body = {"row_version": int(hidden(html, "row_version")),
            "answers": [{"item": zone.items[0].code, "zone_instance": "Lớp 1A", "score": 3, "na": False, "note": ""}]}
    resp = client.put(url, json=body, headers={"X-CSRFToken": token})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["row_version"] == 2
    assert data["scores"]["by_s"][zone.items[0].s] == services.audit_scores(reload(db, audit)).by_s[zone.items[0].s]
    assert client.put(url, json=body, headers={"X-CSRFToken": token}).status_code == 409  # stale now
