"""The event log: what the services record, and the admin page that shows it."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from fivs.events.models import Event
from fivs.events.services import log_event
from fivs.audits.services import reopen_audit, save_answers, submit_audit
from fivs.events.queries import PER_PAGE
from tests.conftest import PASSWORD, login
from tests.factories import answer_all, make_audit, make_site, make_user

ROW = re.compile(r"<tr>\s*<td><time", re.S)


def _event(action, at, **kw):
    event = log_event(action, **kw)
    event.at = at
    return event


def _rows(html: str) -> int:
    return len(ROW.findall(html))


def _events(db, action):
    db.session.expire_all()
    return db.session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


# ---------------------------------------------------------------- access
@pytest.mark.parametrize("role", ["reviewer", "consultant", "principal", "staff"])
def test_event_log_is_for_admins_only(client, login_as, role):
    login_as(role)
    assert client.get("/admin/events/").status_code == 403


def test_event_log_needs_a_login(client):
    resp = client.get("/admin/events/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


# ---------------------------------------------------------------- the page
def test_events_newest_first_with_local_time_and_old_to_new_values(client, db, login_as):
    admin = login_as("admin")
    site = make_site(code="BG-TH99")
    _event("site.update", datetime(2023, 5, 10, 1, 0, tzinfo=timezone.utc), user=admin, site_id=site.id,
           target=site.code, old={"name": "Trường cũ", "district": "Lục Nam"},
           new={"name": "Trường Tiểu học <b>mới</b>", "district": "Lục Nam"})
    _event("audit.reopen", datetime(2023, 5, 11, 2, 30, tzinfo=timezone.utc), user=admin, site_id=site.id,
           target="a-uuid", old={"status": "submitted"}, new={"status": "reopened"}, detail="Điểm sai ở 3A")
    db.session.commit()
    html = client.get("/admin/events/").get_data(as_text=True)
    reopen, update = html.index("Điểm sai ở 3A"), html.index("Trường cũ")
    assert reopen < update  # newest first
    assert "11/05/2023 09:30" in html and "10/05/2023 08:00" in html  # Vietnam time (UTC+7), dd/mm/yyyy
    assert 'datetime="2023-05-11T09:30:00+07:00"' in html
    assert "Đã nộp → Đã mở lại" in html and "submitted" not in html  # the statuses in words
    assert "Trường cũ → Trường Tiểu học &lt;b&gt;mới&lt;/b&gt;" in html  # shown escaped
    assert "district" not in html.split("Trường cũ")[1].split("</td>")[0]  # unchanged fields are left out
    assert admin.username in html and "BG-TH99" in html


def test_the_page_names_each_field_and_code_in_words_and_dates_as_dd_mm_yyyy(client, db, login_as):
    """Roles, rounds, kinds, priorities and yes/no in Vietnamese, a logged date as dd/mm/yyyy, a checksum
    shortened: the admin reads what happened, not a JSON payload."""
    admin = login_as("admin")
    at = datetime(2023, 5, 10, 1, 0, tzinfo=timezone.utc)
    _event("user.update", at, user=admin, target="co.mai", old={"role": "staff", "active": True},
           new={"role": "principal", "active": False})
    _event("audit.create", at, user=admin, target="x", new={"phase": "baseline", "kind": "consultant",
                                                             "date": "2023-04-20"})
    _event("action.create", at, user=admin, target="y", new={"due_date": "2023-12-01", "priority": "high",
                                                              "status": "open"})
    _event("photo.add", at, user=admin, target="z", new={"item": "C1-01", "sha256": "ab" * 32})
    db.session.commit()
    html = client.get("/admin/events/").get_data(as_text=True)
    table = html[html.index("<tbody>"):html.index("</tbody>")]
    assert "<strong>Vai trò</strong>: Cán bộ, nhân viên cơ sở → Hiệu trưởng hoặc trưởng cơ sở y tế" in table
    assert "<strong>Đang hoạt động</strong>: có → không" in table
    assert "— → Đầu kỳ" in table and "— → Tư vấn đánh giá" in table and "— → 20/04/2023" in table
    assert "<strong>Hạn hoàn thành</strong>: — → 01/12/2023" in table and "— → cao" in table
    assert "— → " + "ab" * 6 + "…" in table and "ab" * 7 not in table
    for raw in ("staff", "principal", "baseline", "consultant", "2023-12-01", "high", "True", "{"):
        assert raw not in table, raw


def test_filters_action_user_site_and_local_date_range(client, db, login_as):
    admin = login_as("admin")
    a, b = make_site(code="BG-A"), make_site(code="BG-B")
    # 23:30 UTC on 10 May is 06:30 on 11 May in Vietnam.
    _event("site.update", datetime(2023, 5, 10, 23, 30, tzinfo=timezone.utc), user=admin, site_id=a.id,
           target="BG-A", detail="late-utc")
    _event("site.update", datetime(2023, 5, 10, 12, 0, tzinfo=timezone.utc), user=admin, site_id=b.id,
           target="BG-B", detail="noon-utc")
    _event("auth.login_failed", datetime(2023, 5, 12, 3, 0, tzinfo=timezone.utc), target="hieu.tq",
           detail="failed-one")
    db.session.commit()

    def shown(**args):
        html = client.get("/admin/events/", query_string=args).get_data(as_text=True)
        return {d for d in ("late-utc", "noon-utc", "failed-one") if d in html}

    assert shown() == {"late-utc", "noon-utc", "failed-one"}
    assert shown(action="site.update") == {"late-utc", "noon-utc"}
    assert shown(user="HIEU.TQ") == {"failed-one"}  # the target of a failed login, any case
    assert shown(site="BG-A") == {"late-utc"}
    assert shown(date_from="2023-05-11", date_to="2023-05-11") == {"late-utc"}
    assert shown(date_to="2023-05-10") == {"noon-utc"}
    assert shown(date_from="2023-05-11", action="auth.login_failed") == {"failed-one"}


def test_pages_of_fifty_keep_the_filters(client, db, login_as):
    admin = login_as("admin")
    for i in range(PER_PAGE + 5):
        _event("site.update", datetime(2023, 1, 1, tzinfo=timezone.utc), user=admin, target=f"T{i}")
    db.session.commit()
    first = client.get("/admin/events/?action=site.update").get_data(as_text=True)
    assert _rows(first) == PER_PAGE
    assert "action=site.update" in first and "page=2" in first
    second = client.get("/admin/events/?action=site.update&page=2").get_data(as_text=True)
    assert _rows(second) == 5
    assert _rows(client.get("/admin/events/?page=99").get_data(as_text=True)) == 0


@pytest.mark.parametrize("args,message", [
    ({"date_from": "2023-05-11", "date_to": "2023-05-10"}, ("Ngày kết thúc", "end date")),
    ({"date_from": "11/05/2023"}, ("Ngày không hợp lệ.",)),  # WTForms' own messages, in Vietnamese
    ({"action": "no.such"}, ("Lựa chọn không hợp lệ.",)),
    ({"site": "NOPE"}, ("Không có cơ sở nào có mã này.",)),  # a code field (not a list of every site)
])
def test_bad_filters_are_a_clear_422(client, login_as, args, message):
    login_as("admin")
    resp = client.get("/admin/events/", query_string=args)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'class="error"' in html and any(m in html for m in message)


# ---------------------------------------------------------------- what the services record
def test_logins_are_logged_success_and_failure(client, db):
    user = make_user("reviewer")
    db.session.commit()
    login(client, user.username, "wrong-password")
    login(client, user.username)
    failed, ok = _events(db, "auth.login_failed"), _events(db, "auth.login")
    assert [e.target for e in failed] == [user.username]
    assert [(e.username, e.user_id) for e in ok] == [(user.username, user.id)]


def test_role_change_and_deactivation_are_logged_with_old_and_new(client, db, login_as):
    site = make_site()
    victim = make_user("staff", site=site)
    db.session.commit()
    admin = login_as("admin")
    resp = client.form_post(f"/admin/users/{victim.id}", {
        "username": victim.username, "full_name": victim.full_name, "role": "principal",
        "site": site.code, "password": ""})
    assert resp.status_code == 302
    (event,) = _events(db, "user.update")
    assert event.username == admin.username and event.target == victim.username
    assert (event.old_value["role"], event.new_value["role"]) == ("staff", "principal")
    assert (event.old_value["active"], event.new_value["active"]) == (True, False)


def test_a_change_of_the_full_name_alone_is_logged_with_old_and_new(client, db, login_as):
    site = make_site()
    victim = make_user("staff", site=site, full_name="Nguyễn Văn An")
    db.session.commit()
    admin = login_as("admin")
    form = {"username": victim.username, "full_name": "Nguyễn Thị Bình", "role": "staff",
            "site": site.code, "active": "y", "password": ""}
    assert client.form_post(f"/admin/users/{victim.id}", form).status_code == 302
    (event,) = _events(db, "user.update")
    assert event.username == admin.username and event.target == victim.username
    assert (event.old_value["full_name"], event.new_value["full_name"]) == ("Nguyễn Văn An", "Nguyễn Thị Bình")
    assert {k: v for k, v in event.old_value.items() if k != "full_name"} == {
        k: v for k, v in event.new_value.items() if k != "full_name"}
    html = client.get("/admin/events/?action=user.update").get_data(as_text=True)
    assert "Nguyễn Văn An → Nguyễn Thị Bình" in html
    # Saving the same form again changes nothing and logs nothing.
    assert client.form_post(f"/admin/users/{victim.id}", form).status_code == 302
    assert len(_events(db, "user.update")) == 1


def test_site_creation_and_edits_are_logged(client, db, login_as):
    admin = login_as("admin")
    resp = client.form_post("/admin/sites/new", {"code": "bg-new", "name": "Trường Tiểu học Mới",
                                                 "kind": "school", "active": "y"})
    assert resp.status_code == 302
    (created,) = _events(db, "site.create")
    assert created.target == "BG-NEW" and created.site_id is not None
    resp = client.form_post(f"/admin/sites/{created.site_id}", {
        "code": "BG-NEW", "name": "Trường Tiểu học Đổi tên", "kind": "school", "active": "y"})
    assert resp.status_code == 302
    update = _events(db, "site.update")[-1]
    assert update.site_id == created.site_id and update.username == admin.username
    assert (update.old_value["name"], update.new_value["name"]) == ("Trường Tiểu học Mới",
                                                                   "Trường Tiểu học Đổi tên")


def test_submit_reopen_and_every_later_change_are_logged(db):
    site = make_site()
    consultant = make_user("consultant", assigned=[site])
    reviewer = make_user("reviewer")
    audit = make_audit(site, consultant)
    answer_all(audit, 3)
    submit_audit(audit, consultant)
    reopen_audit(audit, reviewer, "Phòng 1A chấm sai")
    item = next(i for i in audit.template.items if not i.zone.repeats)
    save_answers(audit, consultant, [{"item": item.code, "score": 1, "note": "Đã sửa"}],
                 row_version=audit.row_version)
    db.session.commit()
    (submit,) = _events(db, "audit.submit")
    (reopen,) = _events(db, "audit.reopen")
    (change,) = _events(db, "answer.change")
    assert submit.audit_id == audit.id and submit.new_value == {"status": "submitted"}
    assert reopen.username == reviewer.username and reopen.detail == "Phòng 1A chấm sai"
    assert change.target == item.code and change.site_id == site.id
    assert change.old_value == {"score": 3, "na": False, "note": ""}
    assert change.new_value == {"score": 1, "na": False, "note": "Đã sửa"}


def test_a_drafts_changes_are_logged_with_old_and_new_but_not_its_first_answers(client, db):
    """Before any submit, every change of a saved answer is logged (the history's "from what to what");
    a first answer and a save of the same value are not changes."""
    site = make_site()
    consultant = make_user("consultant", assigned=[site])
    audit = make_audit(site, consultant)
    item = next(i for i in audit.template.items if not i.zone.repeats)
    for entry in ({"score": 2}, {"score": 2}, {"score": 4, "note": "Đã lau sạch"}, {"score": 1}):
        save_answers(audit, consultant, [{"item": item.code, **entry}], row_version=None)
    db.session.commit()
    changes = _events(db, "answer.change")
    assert [(c.old_value, c.new_value) for c in changes] == [
        ({"score": 2, "na": False, "note": ""}, {"score": 4, "na": False, "note": "Đã lau sạch"}),
        ({"score": 4, "na": False, "note": "Đã lau sạch"}, {"score": 1, "na": False, "note": "Đã lau sạch"})]
    assert {(c.target, c.audit_id, c.username) for c in changes} == {(item.code, audit.id, consultant.username)}
    assert audit.status == "draft"

    login(client, consultant.username, PASSWORD)
    html = client.get(f"/audits/{audit.uuid}/history").get_data(as_text=True)
    rows = [r for r in html.split("<tr>") if item.code in r]
    assert len(rows) == 2, rows
    assert "<td>2</td>" in rows[0] and "<td>4 · Đã lau sạch</td>" in rows[0]


def test_the_page_shows_what_the_services_logged(client, db, login_as):
    login_as("admin")
    html = client.get("/admin/events/?action=auth.login").get_data(as_text=True)
    assert _rows(html) == 1  # the admin's own login
    assert PASSWORD not in html


def test_created_sites_have_an_id_in_their_event(db):
    """The site.update event written while creating a site carries the new site's id."""
    from fivs.sites.services import create_site

    site = create_site({"code": "bg-x", "name": "Trường X", "kind": "school"}, None)
    db.session.commit()
    assert {e.site_id for e in db.session.scalars(select(Event))} == {site.id}
