"""Corrective actions: raise from an answer, done (site) -> verified / reopened (consultant, reviewer),
permissions and site scope, row_version conflicts, the event log, the overdue rule on the sites'
local date, and the pages and API that show them. Pages are in Vietnamese (the default language).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from html import unescape

import pytest
from sqlalchemy import event, func, select

from fivs.actions import queries, services
from fivs.actions.models import CorrectiveAction
from fivs.events.models import Event
from fivs.extensions import db as _db
from fivs.services_errors import ConflictError, PermissionDenied, ValidationError
from fivs.timeutil import local_today
from tests.api_support import api  # noqa: F401  (fixture)
from tests.conftest import login
from tests.factories import answer_all, make_audit, make_site, make_user

DUE = date(2023, 6, 1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def page(resp) -> str:
    return unescape(resp.get_data(as_text=True))


@pytest.fixture
def world(db):
    """A school with its consultant, principal and staff, a scored baseline, and another school."""
    site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
    other = make_site(code="BG-TH02", name="Trường Tiểu học Lục Ngạn")
    w = type("World", (), {})()
    w.site, w.other = site, other
    w.consultant = make_user("consultant", site=site)
    w.principal = make_user("principal", site=site)
    w.staff = make_user("staff", site=site)
    w.reviewer = make_user("reviewer")
    w.admin = make_user("admin")
    w.other_principal = make_user("principal", site=other)
    w.baseline = make_audit(site, w.consultant, phase="baseline", rooms=("Lớp 3A",))
    answer_all(w.baseline, 1)
    w.item = next(i for i in w.baseline.template.items if i.zone.repeats)
    db.session.commit()
    return w


def raise_one(w, user=None, **kw) -> CorrectiveAction:
    values = {"title": "Dọn sách cũ trên bệ cửa sổ", "responsible": "Cô Nguyễn Thị Hoà", "due_date": DUE,
              "priority": "high", "audit": w.baseline, "item_code": w.item.code, "room": "Lớp 3A"}
    action, created = services.raise_action(user or w.consultant, kw.pop("site", w.site), **{**values, **kw})
    assert created
    _db.session.commit()
    return action


def events_of(action) -> list[Event]:
    return queries.action_events(action)


# ---------------------------------------------------------------- workflow and event log
def test_workflow_from_finding_to_verified_is_logged(world):
    action = raise_one(world)
    assert (action.status, action.row_version, action.item_id, action.room) == (
        "open", 1, world.item.id, "Lớp 3A")
    services.mark_done(action, world.principal, "Đã dọn sạch, sách xếp vào tủ.")
    services.verify(action, world.consultant)
    services.reopen(action, world.reviewer, "Lại có sách trên bệ cửa sổ.")
    services.mark_done(action, world.staff, "Đã dọn lại.")
    services.verify(action, world.reviewer)
    _db.session.commit()

    assert action.status == "verified" and action.row_version == 6
    assert action.done_note == "Đã dọn lại." and action.done_by_id == world.staff.id
    assert action.verified_by_id == world.reviewer.id
    log = [(e.action, e.username, e.old_value, e.new_value, e.detail) for e in events_of(action)]
    assert log[0][:3] == ("action.create", world.consultant.username, None)
    assert log[0][3]["title"] == "Dọn sách cũ trên bệ cửa sổ" and log[0][3]["due_date"] == "2023-06-01"
    assert log[1:] == [
        ("action.status", world.principal.username, {"status": "open"}, {"status": "done"},
         "Đã dọn sạch, sách xếp vào tủ."),
        ("action.status", world.consultant.username, {"status": "done"}, {"status": "verified"}, ""),
        ("action.status", world.reviewer.username, {"status": "verified"}, {"status": "reopened"},
         "Lại có sách trên bệ cửa sổ."),
        ("action.status", world.staff.username, {"status": "reopened"}, {"status": "done"}, "Đã dọn lại."),
        ("action.status", world.reviewer.username, {"status": "done"}, {"status": "verified"}, ""),
    ]
    assert all(e.site_id == world.site.id for e in events_of(action))


def test_edit_logs_old_and_new_and_stale_row_version_is_409(world):
    action = raise_one(world)
    services.edit_action(action, world.consultant, {"due_date": date(2023, 6, 15), "priority": "low"},
                         row_version=1)
    _db.session.commit()
    assert (action.due_date, action.priority, action.row_version) == (date(2023, 6, 15), "low", 2)
    edit = events_of(action)[-1]
    assert (edit.action, edit.old_value, edit.new_value) == (
        "action.edit", {"due_date": "2023-06-01", "priority": "high"},
        {"due_date": "2023-06-15", "priority": "low"})

    with pytest.raises(ConflictError) as exc:
        services.edit_action(action, world.consultant, {"title": "Khác"}, row_version=1)
    assert exc.value.status == 409 and exc.value.code == "stale_row_version"
    assert exc.value.details == {"row_version": 2}
    _db.session.rollback()
    assert _db.session.get(CorrectiveAction, action.id).title == "Dọn sách cũ trên bệ cửa sổ"
    assert len(events_of(action)) == 2


@pytest.mark.parametrize("role, allowed", [
    ("consultant", True), ("reviewer", True), ("admin", True), ("principal", True), ("staff", False),
    ("other_principal", False), ("unassigned_consultant", False)])
def test_who_may_raise(world, role, allowed):
    user = make_user("consultant", site=world.other) if role == "unassigned_consultant" else getattr(world, role)
    if allowed:
        assert raise_one(world, user=user, audit=None, item_code=None).created_by_id == user.id
    else:
        with pytest.raises(PermissionDenied):
            raise_one(world, user=user)
        assert _db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0


def test_principal_cannot_verify_or_reopen_even_their_own_action(world):
    action = raise_one(world, user=world.principal, audit=None, item_code=None)
    services.mark_done(action, world.principal, "Đã làm xong.")
    _db.session.commit()
    for change in (lambda: services.verify(action, world.principal),
                   lambda: services.reopen(action, world.principal, "Chưa đạt"),
                   lambda: services.verify(action, world.staff)):
        with pytest.raises(PermissionDenied):
            change()
    assert action.status == "done" and action.row_version == 2


def test_reviewer_cannot_mark_done_and_another_sites_principal_neither(world):
    action = raise_one(world)
    for user in (world.reviewer, world.other_principal):
        with pytest.raises(PermissionDenied):
            services.mark_done(action, user, "Đã làm.")
    assert action.status == "open"


@pytest.mark.parametrize("note", ["", "   ", None, "\x00\x01"])
def test_done_needs_a_note(world, note):
    action = raise_one(world)
    with pytest.raises(ValidationError) as exc:
        services.mark_done(action, world.principal, note)
    assert exc.value.details[0]["field"] == "note" and "đã làm gì" in exc.value.message
    _db.session.rollback()
    assert (action.status, action.row_version, len(events_of(action))) == ("open", 1, 1)


@pytest.mark.parametrize("change", ["verify", "reopen"])
def test_an_open_action_cannot_be_verified_or_reopened(world, change):
    action = raise_one(world)
    with pytest.raises(ConflictError) as exc:
        services.verify(action, world.consultant) if change == "verify" else services.reopen(
            action, world.consultant, "Lý do")
    assert exc.value.code == "invalid_transition"
    assert action.status == "open" and action.row_version == 1


@pytest.mark.parametrize("kw, field", [
    ({"title": "  "}, "title"), ({"due_date": None}, "due_date"), ({"priority": "urgent"}, "priority"),
    ({"responsible": "x" * 201}, "responsible"), ({"item_code": "NOPE"}, "item"),
    ({"room": "Lớp 9Z"}, "zone_instance"), ({"audit": None}, "item")])
def test_bad_input_is_422_and_nothing_is_saved(world, kw, field):
    with pytest.raises(ValidationError) as exc:
        raise_one(world, **kw)
    assert exc.value.status == 422 and field in {d["field"] for d in exc.value.details}
    _db.session.rollback()
    assert _db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0


def test_raising_is_idempotent_on_the_clients_uuid(world):
    action_uuid = uuid.uuid4()
    first = raise_one(world, action_uuid=action_uuid)
    again, created = services.raise_action(world.consultant, world.site, title=first.title, responsible="",
                                           due_date=DUE, priority="high", action_uuid=action_uuid)
    assert again.id == first.id and not created
    with pytest.raises(ConflictError):
        services.raise_action(world.consultant, world.site, title="Khác", responsible="", due_date=DUE,
                              priority="high", action_uuid=action_uuid)


def test_text_is_stored_nfc(world):
    decomposed = "Hoa\u0300 - do\u0323n ve\u0302\u0323 sinh"
    action = raise_one(world, title=decomposed, responsible=decomposed)
    assert action.title == "Hoà - dọn vệ sinh" == action.responsible


# ---------------------------------------------------------------- overdue on the sites' local date
@pytest.mark.parametrize("due, now, overdue, utc_date_says", [
    # 17:30 UTC on 31 May is 00:30 on 1 June in Vietnam.
    (date(2023, 6, 1), utc(2023, 5, 31, 17, 30), False, False),
    (date(2023, 6, 1), utc(2023, 6, 1, 17, 30), True, False),   # 00:30 on 2 June locally
    (date(2023, 5, 31), utc(2023, 5, 31, 17, 30), True, False),  # UTC still says 31 May: not yet
    (date(2023, 6, 1), utc(2023, 6, 1, 16, 59), False, False),   # 23:59 on 1 June locally
])
def test_overdue_uses_the_local_date_across_midnight_utc(world, due, now, overdue, utc_date_says):
    action = raise_one(world, due_date=due)
    assert (due < now.date()) is utc_date_says  # what a UTC date would say
    assert services.is_overdue(action, now) is overdue
    assert queries.counts_by_site(now)[world.site.id].overdue == int(overdue)
    services.mark_done(action, world.principal, "Xong")
    assert services.is_overdue(action, now) is False  # done is never overdue
    assert queries.counts_by_site(now)[world.site.id].overdue == 0


def test_site_list_is_overdue_first_and_counts_come_in_one_query(world):
    now = utc(2023, 6, 10, 3, 0)
    later = raise_one(world, title="Sắp đến hạn", due_date=date(2023, 6, 20))
    late = raise_one(world, title="Quá hạn", due_date=date(2023, 6, 5))
    done = raise_one(world, title="Đã làm", due_date=date(2023, 6, 1))
    services.mark_done(done, world.principal, "Xong")
    verified = raise_one(world, title="Đã xác nhận", due_date=date(2023, 5, 1))
    services.mark_done(verified, world.principal, "Xong")
    services.verify(verified, world.consultant)
    raise_one(world, user=world.other_principal, site=world.other, audit=None, item_code=None)
    _db.session.commit()

    assert [a.title for a in queries.site_actions(world.site.id, now=now)] == [
        late.title, later.title, "Đã làm", "Đã xác nhận"]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        counts = queries.counts_by_site(now)
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    assert counts[world.site.id] == queries.Counts(open=2, overdue=1, done=1, verified=1)
    assert counts[world.other.id] == queries.Counts(open=1, overdue=1)


def test_actions_since_baseline_are_keyed_by_item(world):
    action = raise_one(world)
    final = make_audit(world.site, world.consultant, phase="final", rooms=("Lớp 3B",))
    _db.session.commit()
    assert queries.actions_since_baseline(final) == {world.item.code: [action]}


# ---------------------------------------------------------------- pages
def test_consultant_raises_from_the_zone_page_and_principal_marks_done(world, client):
    login(client, world.consultant.username)
    zone = world.item.zone
    html = page(client.get(f"/audits/{world.baseline.uuid}/zones/{zone.code}?room=Lớp 3A"))
    link = (f"/sites/BG-TH01/actions/new?audit={world.baseline.uuid}&amp;item={world.item.code}"
            f"&amp;zone_instance=L%E1%BB%9Bp+3A")
    assert link.replace("&amp;", "&") in html.replace("&amp;", "&")
    url = link.replace("&amp;", "&")
    form = client.get(url)
    assert form.status_code == 200 and world.item.code in page(form)
    resp = client.form_post(url, {"title": "Dọn bệ cửa sổ", "responsible": "Cô Hoà", "due_date": "2023-06-01",
                                  "priority": "high", "client_uuid": str(uuid.uuid4())})
    assert resp.status_code == 302
    action = _db.session.scalar(select(CorrectiveAction))
    assert (action.item_id, action.room, action.audit_id) == (world.item.id, "Lớp 3A",
                                                                       world.baseline.id)
    assert resp.headers["Location"].endswith(f"/actions/{action.uuid}")

    login(client, world.principal.username)
    home = page(client.get("/"))
    assert "Hành động khắc phục" in home and "Dọn bệ cửa sổ" in home
    detail = page(client.get(f"/actions/{action.uuid}"))
    assert "Đánh dấu đã làm" in detail and ">Xác nhận</button>" not in detail
    refused = client.form_post(f"/actions/{action.uuid}/done", {"note": " "})
    assert refused.status_code == 422 and "Hãy ghi rõ đã làm gì." in page(refused)
    assert client.form_post(f"/actions/{action.uuid}/done", {"note": "Đã dọn"}).status_code == 302
    assert client.form_post(f"/actions/{action.uuid}/verify").status_code == 403
    _db.session.expire_all()
    assert action.status == "done"

    login(client, world.consultant.username)
    assert ">Xác nhận</button>" in page(client.get(f"/actions/{action.uuid}"))
    assert client.form_post(f"/actions/{action.uuid}/verify").status_code == 302
    _db.session.expire_all()
    assert action.status == "verified"
    history = page(client.get(f"/actions/{action.uuid}"))
    assert "status: done" in history and "status: verified" in history


def test_site_list_shows_overdue_first_with_local_dates(world, client, login_as):
    raise_one(world, title="Việc sau", due_date=local_today() + timedelta(days=300))
    raise_one(world, title="Việc trễ", due_date=date(2023, 6, 1))
    login_as("reviewer")
    html = page(client.get("/sites/BG-TH01/actions"))
    assert html.index("Việc trễ") < html.index("Việc sau")
    assert "Quá hạn" in html and "01/06/2023" in html  # dd/mm/yyyy in Vietnamese (filter d)


def test_staff_cannot_raise_and_another_sites_action_is_404(world, client):
    action = raise_one(world)
    login(client, world.staff.username)
    assert client.get("/sites/BG-TH01/actions/new").status_code == 403
    assert client.get("/sites/BG-TH01/actions").status_code == 200
    login(client, world.other_principal.username)
    for url in (f"/actions/{action.uuid}", "/sites/BG-TH01/actions", "/sites/BG-TH01/actions/new",
                f"/actions/{uuid.uuid4()}", "/actions/not-a-uuid"):
        assert client.get(url).status_code == 404, url
    assert client.form_post(f"/actions/{action.uuid}/done", {"note": "x"}).status_code == 404
    _db.session.expire_all()
    assert action.status == "open"


def test_programme_page_shows_counts_per_site(world, client, login_as):
    action = raise_one(world, due_date=date(2023, 6, 1))
    raise_one(world, due_date=local_today() + timedelta(days=300))
    services.mark_done(action, world.principal, "Xong")
    _db.session.commit()
    login_as("reviewer")
    html = page(client.get("/programme"))
    section = html[html.index('id="actions-h"'):]
    row = section[section.index("Trường Tiểu học Thị trấn An Châu"):].split("</tr>")[0]
    assert [c.split(">")[-1] for c in row.split("</td>")[:-1]] == ["1", "0", "1", "0"]


def test_final_audit_shows_actions_raised_since_baseline(world, client):
    raise_one(world, title="Dọn bệ cửa sổ lớp 3A")
    final = make_audit(world.site, world.consultant, phase="final", rooms=("Lớp 3A",))
    _db.session.commit()
    login(client, world.consultant.username)
    html = page(client.get(f"/audits/{final.uuid}/zones/{world.item.zone.code}?room=Lớp 3A"))
    block = html[html.index(f'id="item-{world.item.code}"'):].split("</fieldset>")[0]
    assert "Dọn bệ cửa sổ lớp 3A" in block
    assert "Dọn bệ cửa sổ lớp 3A" not in page(client.get(
        f"/audits/{world.baseline.uuid}/zones/{world.item.zone.code}?room=Lớp 3A"))


# ---------------------------------------------------------------- API
def test_api_raise_list_patch_and_errors(world, api):
    api.login(world.consultant)
    body = {"id": str(uuid.uuid4()), "title": "Dọn bệ cửa sổ", "responsible": "Cô Hoà",
            "due_date": "2023-06-01", "priority": "high", "audit": str(world.baseline.uuid),
            "item": world.item.code, "zone_instance": "Lớp 3A"}
    created = api.post("/sites/BG-TH01/actions", json=body)
    assert created.status_code == 201 and created.get_json()["zone_instance"] == "Lớp 3A"
    assert api.post("/sites/BG-TH01/actions", json=body).status_code == 200
    listed = api.get("/sites/BG-TH01/actions").get_json()["actions"]
    assert [a["id"] for a in listed] == [body["id"]] and listed[0]["overdue"] is (local_today() > DUE)
    path = f"/actions/{body['id']}"
    assert api.get(path).get_json()["title"] == "Dọn bệ cửa sổ"

    edited = api.open("PATCH", path, json={"row_version": 1, "priority": "low"})
    assert edited.status_code == 200 and edited.get_json()["row_version"] == 2
    stale = api.open("PATCH", path, json={"row_version": 1, "title": "Khác"})
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "stale_row_version" and error["details"]["action"]["title"] == "Dọn bệ cửa sổ"

    api.login(world.principal)
    assert api.open("PATCH", path, json={"status": "done"}).status_code == 422
    assert api.open("PATCH", path, json={"status": "done", "note": "Đã dọn"}).get_json()["status"] == "done"
    assert api.open("PATCH", path, json={"status": "verified"}).status_code == 403
    api.login(world.reviewer)
    assert api.open("PATCH", path, json={"status": "verified"}).get_json()["status"] == "verified"
    api.login(world.other_principal)
    assert api.get(path).status_code == 404
    assert api.get("/sites/BG-TH01/actions").status_code == 404
    assert api.open("PATCH", path, json={"status": "done", "note": "x"}).status_code == 404
    _db.session.expire_all()
    assert _db.session.scalar(select(CorrectiveAction)).status == "verified"


@pytest.mark.parametrize("body, field", [
    ({}, "title"), ({"title": "X", "due_date": "1/6/2023"}, "due_date"),
    ({"title": "X", "due_date": "2023-06-01", "priority": "urgent"}, "priority"),
    ({"title": 3, "due_date": "2023-06-01"}, "title"),
    ({"title": "X", "due_date": "2023-06-01", "id": "nope"}, "id")])
def test_api_bad_input_is_422_and_nothing_is_created(world, api, body, field):
    api.login(world.consultant)
    resp = api.post("/sites/BG-TH01/actions", json=body)
    assert resp.status_code == 422
    assert field in {d["field"] for d in resp.get_json()["error"]["details"]}
    assert _db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0


def test_api_staff_cannot_raise(world, api):
    api.login(world.staff)
    resp = api.post("/sites/BG-TH01/actions", json={"title": "X", "due_date": "2023-06-01"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert _db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0


# ---------------------------------------------------------------- exports
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_actions_export_is_scoped_to_the_principals_site(world, client, fmt):
    import csv
    import io

    from openpyxl import load_workbook

    action = raise_one(world, title="=Dọn bệ cửa sổ")
    raise_one(world, user=world.other_principal, site=world.other, audit=None, item_code=None, title="Khác")
    login(client, world.principal.username)
    resp = client.get(f"/api/v1/exports/actions.{fmt}")
    assert resp.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    else:
        workbook = load_workbook(io.BytesIO(resp.data))  # opens on its actions sheet; codes on the last sheet
        codes = {(r[0], r[2]): r[3] for r in workbook.worksheets[-1].iter_rows(min_row=2, values_only=True)}
        rows = [[("" if v is None else v) for v in r] for r in workbook.active.iter_rows(values_only=True)]
        rows[0] = [codes[(workbook.active.title, h)] for h in rows[0]]
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    row = dict(zip(header, body[0]))
    assert row["site_code"] == "BG-TH01" and row["action_id"] == str(action.uuid)
    assert row["item"] == world.item.code and row["zone_instance"] == "Lớp 3A"
    assert row["title"] == ("'=Dọn bệ cửa sổ" if fmt == "csv" else "=Dọn bệ cửa sổ")  # never a formula
    assert str(row["due_date"]).startswith("2023-06-01")
    assert row["status"] == ("open" if fmt == "csv" else "đang mở")  # a word for people in the workbook


def test_edit_page_saves_and_a_stale_version_is_409_keeping_the_input(world, client):
    action = raise_one(world)
    login(client, world.consultant.username)
    form = page(client.get(f"/actions/{action.uuid}/edit"))
    assert 'name="row_version" value="1"' in form and "Dọn sách cũ trên bệ cửa sổ" in form
    data = {"title": "Dọn bệ cửa sổ lớp 3A", "responsible": "Cô Hoà", "due_date": "2023-06-15",
            "priority": "low", "row_version": "1"}
    assert client.form_post(f"/actions/{action.uuid}/edit", data).status_code == 302
    stale = client.form_post(f"/actions/{action.uuid}/edit", {**data, "title": "Bản cũ"})
    assert stale.status_code == 409
    html = page(stale)
    assert "Người khác vừa sửa hành động này" in html and "Bản cũ" in html
    assert 'name="row_version" value="2"' in html
    _db.session.expire_all()
    assert (action.title, action.due_date, action.row_version) == ("Dọn bệ cửa sổ lớp 3A", date(2023, 6, 15), 2)
    login(client, world.principal.username)
    assert client.get(f"/actions/{action.uuid}/edit").status_code == 200  # raised at own site: may edit
    login(client, world.staff.username)
    assert client.get(f"/actions/{action.uuid}/edit").status_code == 403


@pytest.mark.parametrize("data, message", [
    ({"title": " ", "due_date": "2023-06-01"}, "Trường này là bắt buộc."),
    ({"title": "Dọn", "due_date": ""}, "Hãy chọn hạn hoàn thành."),
    ({"title": "x" * 2001, "due_date": "2023-06-01"}, "Tối đa 2000 ký tự.")])
def test_raise_page_bad_input_is_422_and_nothing_is_saved(world, client, data, message):
    login(client, world.consultant.username)
    resp = client.form_post("/sites/BG-TH01/actions/new", {"responsible": "", "priority": "medium",
                                                          "client_uuid": str(uuid.uuid4()), **data})
    assert resp.status_code == 422 and message in page(resp)
    assert _db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0


# ---------------------------------------------------------------- "after" photos on done
def jpeg(photos_dir, name="Landscape_6.jpg") -> bytes:
    return (photos_dir / "orientation" / name).read_bytes()


def truncated(photos_dir) -> bytes:
    data = jpeg(photos_dir, "Landscape_1.jpg")
    return data[: len(data) // 2]


def photo_rows():
    from fivs.photos.models import Photo

    return _db.session.scalars(select(Photo).order_by(Photo.id)).all()


def files_under(root) -> list[str]:
    """Every file under the media root, staging files (.tmp) included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def post_done(client, action, note, files):
    import io

    data = {"note": note, "photos": [(io.BytesIO(data), name, "image/jpeg") for name, data in files]}
    return client.form_post(f"/actions/{action.uuid}/done", data, content_type="multipart/form-data")


def test_done_page_stores_after_photos_and_the_action_page_shows_before_and_after(world, client, media_root,
                                                                                  photos_dir):
    from fivs.photos.services import attach_photo

    action = raise_one(world)
    before, _created = attach_photo(world.baseline, world.consultant, jpeg(photos_dir, "Portrait_2.jpg"),
                                    photo_uuid=uuid.uuid4(), item_code=world.item.code, room="Lớp 3A")
    _db.session.commit()
    login(client, world.principal.username)
    form = page(client.get(f"/actions/{action.uuid}"))
    assert 'enctype="multipart/form-data"' in form and 'name="photos"' in form and "multiple" in form
    assert "Ảnh sau khi khắc phục (không bắt buộc)" in form

    resp = post_done(client, action, "Đã dọn sạch, sách xếp vào tủ.",
                     [("sau-1.jpg", jpeg(photos_dir)), ("sau-2.jpg", jpeg(photos_dir, "Portrait_3.jpg"))])
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/actions/{action.uuid}")

    _db.session.expire_all()
    assert action.status == "done" and action.done_note == "Đã dọn sạch, sách xếp vào tủ."
    after = [p for p in photo_rows() if p.action_id == action.id]
    assert len(after) == 2
    for photo in after:
        assert (photo.audit_id, photo.item_id, photo.site_id, photo.uploaded_by_id) == (
            None, None, world.site.id, world.principal.id)
        assert photo.display_key.startswith(f"BG-TH01/action-{action.uuid}/")
    assert files_under(media_root) == sorted(
        k for p in (before, *after) for k in (p.display_key, p.thumb_key))  # no staging file left
    assert (after[0].width, after[0].height) > (after[0].thumb_width, after[0].thumb_height)
    assert after[0].width > after[0].height and after[1].height > after[1].width  # upright, as shot

    html = page(client.get(f"/actions/{action.uuid}"))
    assert "Trước: ảnh lúc phát hiện" in html and "Sau: ảnh kết quả khắc phục" in html
    for photo in (before, *after):
        assert (f'<a href="/photos/{photo.uuid}/display"><img\n       src="/photos/{photo.uuid}/thumb"'
                in html), photo
    assert html.index(f"/photos/{before.uuid}/thumb") < html.index(f"/photos/{after[0].uuid}/thumb")
    served = client.get(f"/photos/{after[0].uuid}/display")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == (media_root / after[0].display_key).read_bytes()
    log = [(e.action, e.new_value) for e in events_of(action)]
    assert log[-2:] == [("photo.add", {"photo": str(p.uuid), "sha256": p.sha256}) for p in after]


def test_after_photos_of_one_site_are_404_for_another(world, client, media_root, photos_dir):
    action = raise_one(world)
    login(client, world.staff.username)
    assert post_done(client, action, "Đã dọn", [("sau.jpg", jpeg(photos_dir))]).status_code == 302
    (photo,) = photo_rows()
    for user in (world.principal, world.consultant, world.reviewer):
        login(client, user.username)
        assert client.get(f"/photos/{photo.uuid}/thumb").status_code == 200, user.role
    login(client, world.other_principal.username)
    for url in (f"/photos/{photo.uuid}/display", f"/photos/{photo.uuid}/thumb", f"/actions/{action.uuid}"):
        assert client.get(url).status_code == 404, url
    assert client.form_post(f"/photos/{photo.uuid}/delete").status_code == 404
    assert len(photo_rows()) == 1
    # and the other way round: site B's after photo is a 404 for site A's principal
    other_action = raise_one(world, user=world.other_principal, site=world.other, audit=None, item_code=None)
    assert post_done(client, other_action, "Đã làm", [("b.jpg", jpeg(photos_dir, "Portrait_3.jpg"))]).status_code == 302
    other_photo = photo_rows()[-1]
    assert other_photo.site_id == world.other.id and client.get(f"/photos/{other_photo.uuid}/thumb").status_code == 200
    login(client, world.principal.username)
    for url in (f"/photos/{other_photo.uuid}/display", f"/photos/{other_photo.uuid}/thumb",
                f"/actions/{other_action.uuid}"):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("case, status, message", [
    ("empty", 415, "Tệp tải lên bị trống."),
    ("not-an-image", 415, "Tệp tải lên không phải là ảnh."),
    ("truncated", 422, "Ảnh bị hỏng hoặc không đầy đủ nên không đọc được."),
    ("good-then-truncated", 422, "Ảnh bị hỏng hoặc không đầy đủ nên không đọc được."),
    ("good-photo-no-note", 422, "Hãy ghi rõ đã làm gì."),
])
def test_done_page_refuses_a_bad_photo_and_keeps_nothing(world, client, media_root, photos_dir, case, status,
                                                         message):
    action = raise_one(world)
    files = {"empty": [("a.jpg", b"")], "not-an-image": [("a.jpg", b"%PDF-1.7\n" + b"x" * 500)],
             "truncated": [("a.jpg", truncated(photos_dir))],
             "good-then-truncated": [("a.jpg", jpeg(photos_dir)), ("b.jpg", truncated(photos_dir))],
             "good-photo-no-note": [("a.jpg", jpeg(photos_dir))]}[case]
    login(client, world.principal.username)
    resp = post_done(client, action, "" if case == "good-photo-no-note" else "Đã dọn", files)
    assert resp.status_code == status and resp.mimetype == "text/html"
    html = page(resp)
    assert message in html and 'aria-invalid="true"' in html
    if case != "good-photo-no-note":
        assert "Đã dọn</textarea>" in html  # the note is kept; only the photos must be chosen again
    _db.session.expire_all()
    assert (action.status, action.row_version, action.done_note) == ("open", 1, "")
    assert photo_rows() == [] and files_under(media_root) == []  # no row, no file, no staging file
    assert [e.action for e in events_of(action)] == ["action.create"]


def test_done_page_without_photos_still_works(world, client, media_root):
    action = raise_one(world)
    login(client, world.principal.username)
    assert post_done(client, action, "Đã dọn", []).status_code == 302
    _db.session.expire_all()
    assert action.status == "done" and photo_rows() == [] and files_under(media_root) == []


def test_another_sites_action_refuses_photos_with_404_and_stores_nothing(world, client, media_root, photos_dir):
    action = raise_one(world)
    login(client, world.other_principal.username)
    assert post_done(client, action, "Đã dọn", [("a.jpg", jpeg(photos_dir))]).status_code == 404
    _db.session.expire_all()
    assert action.status == "open" and photo_rows() == [] and files_under(media_root) == []


# ---------------------------------------------------------------- "after" photos through the API
def api_upload(api, action, data: bytes, photo_id: str | None = None):
    import io

    form = {"id": photo_id or str(uuid.uuid4()), "file": (io.BytesIO(data), "sau.jpg", "image/jpeg")}
    return api.post(f"/actions/{action.uuid}/photos", data=form, content_type="multipart/form-data")


def test_api_after_photo_then_done(world, api, media_root, photos_dir):
    action = raise_one(world)
    api.login(world.principal)
    photo_id = str(uuid.uuid4())
    first = api_upload(api, action, jpeg(photos_dir), photo_id)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["id"] == photo_id and body["action"] == str(action.uuid) and body["audit"] is None
    assert first.headers["Location"].endswith(f"/api/v1/photos/{photo_id}")
    again = api_upload(api, action, jpeg(photos_dir), photo_id)
    assert again.status_code == 200 and again.get_json() == body
    same_picture = api_upload(api, action, jpeg(photos_dir))  # another id, the same picture: stored once
    assert same_picture.status_code == 200 and same_picture.get_json()["id"] == photo_id
    assert len(photo_rows()) == 1

    done = api.open("PATCH", f"/actions/{action.uuid}", json={"status": "done", "note": "Đã dọn"})
    assert done.status_code == 200
    assert done.get_json()["status"] == "done" and [p["id"] for p in done.get_json()["photos"]] == [photo_id]
    listed = api.get("/sites/BG-TH01/actions").get_json()["actions"]
    assert [p["id"] for p in listed[0]["photos"]] == [photo_id]
    assert api.get(f"/photos/{photo_id}/thumb").status_code == 200
    assert api_upload(api, action, jpeg(photos_dir, "Portrait_3.jpg")).status_code == 201  # done: still allowed

    api.login(world.reviewer)
    assert api.open("PATCH", f"/actions/{action.uuid}", json={"status": "verified"}).status_code == 200
    assert api_upload(api, action, jpeg(photos_dir, "Portrait_1.jpg")).status_code == 403  # may not mark done
    api.login(world.principal)
    locked = api_upload(api, action, jpeg(photos_dir, "Portrait_1.jpg"))
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "locked"
    assert locked.get_json()["error"]["message"] == "Hành động này đã được xác nhận: không thể thay đổi ảnh của nó nữa."
    assert len(photo_rows()) == 2 and len(files_under(media_root)) == 4


@pytest.mark.parametrize("case, status, message", [
    ("empty", 415, "Tệp tải lên bị trống."),
    ("not-an-image", 415, "Tệp tải lên không phải là ảnh."),
    ("truncated", 422, "Ảnh bị hỏng hoặc không đầy đủ nên không đọc được."),
])
def test_api_bad_after_photo_is_refused_and_stores_nothing(world, api, media_root, photos_dir, case, status,
                                                           message):
    action = raise_one(world)
    data = {"empty": b"", "not-an-image": b"%PDF-1.7\n" + b"x" * 500, "truncated": truncated(photos_dir)}[case]
    api.login(world.staff)
    resp = api_upload(api, action, data)
    assert resp.status_code == status and resp.get_json()["error"]["message"] == message
    _db.session.expire_all()
    assert (action.status, action.row_version) == ("open", 1)
    assert photo_rows() == [] and files_under(media_root) == []
    assert [e.action for e in events_of(action)] == ["action.create"]


def test_api_another_sites_action_and_photo_are_404(world, api, media_root, photos_dir):
    action = raise_one(world)
    api.login(world.principal)
    photo_id = str(uuid.uuid4())
    assert api_upload(api, action, jpeg(photos_dir), photo_id).status_code == 201
    api.login(world.other_principal)
    assert api_upload(api, action, jpeg(photos_dir, "Portrait_3.jpg")).status_code == 404
    for path in (f"/photos/{photo_id}", f"/photos/{photo_id}/display", f"/photos/{photo_id}/thumb"):
        assert api.get(path).status_code == 404, path
    other_action = raise_one(world, user=world.other_principal, site=world.other, audit=None, item_code=None)
    taken = api_upload(api, other_action, jpeg(photos_dir), photo_id)  # the id of site A's photo
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "id_conflict"
    assert len(photo_rows()) == 1 and len(files_under(media_root)) == 2


def test_site_removes_a_wrong_after_photo_until_the_action_is_verified(world, client, media_root, photos_dir):
    action = raise_one(world)
    login(client, world.principal.username)
    assert post_done(client, action, "Đã dọn", [("a.jpg", jpeg(photos_dir)),
                                                 ("b.jpg", jpeg(photos_dir, "Portrait_3.jpg"))]).status_code == 302
    wrong, kept = photo_rows()
    wrong_id, wrong_sha = str(wrong.uuid), wrong.sha256
    html = page(client.get(f"/actions/{action.uuid}"))
    assert f'formaction="/photos/{wrong.uuid}/delete"' in html and 'id="photo-remove"' in html
    login(client, world.reviewer.username)
    assert f'formaction="/photos/{wrong.uuid}/delete"' not in page(client.get(f"/actions/{action.uuid}"))
    assert client.form_post(f"/photos/{wrong.uuid}/delete").status_code == 403

    login(client, world.principal.username)
    resp = client.form_post(f"/photos/{wrong.uuid}/delete")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/actions/{action.uuid}#photos")
    assert [p.id for p in photo_rows()] == [kept.id]
    assert files_under(media_root) == sorted([kept.display_key, kept.thumb_key])
    assert (events_of(action)[-1].action, events_of(action)[-1].old_value) == (
        "photo.delete", {"photo": wrong_id, "sha256": wrong_sha})

    services.verify(_db.session.get(CorrectiveAction, action.id), world.consultant)
    _db.session.commit()
    assert f'formaction="/photos/{kept.uuid}/delete"' not in page(client.get(f"/actions/{action.uuid}"))
    refused = client.form_post(f"/photos/{kept.uuid}/delete")
    assert refused.status_code == 409 and "không thể thay đổi ảnh" in page(refused)
    assert [p.id for p in photo_rows()] == [kept.id] and len(files_under(media_root)) == 2
