"""The programme calendar: admins set each round's window; a round is late when its window has
closed without a submitted consultant audit; the calendar and the board are in the API."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from fivs.calendar.models import RoundWindow
from fivs.calendar.services import seed_pilot_calendar
from fivs.events.models import Event
from tests.api_support import api  # noqa: F401  (fixture)
from tests.factories import answer_all, make_audit, make_site, make_user


@pytest.fixture
def world(db):
    seed_pilot_calendar()
    consultant = make_user("consultant")
    done, half = make_site(code="DONE"), make_site(code="HALF")
    consultant.assigned_sites.extend([done, half])
    for site, phases in ((done, ("baseline", "final")), (half, ("baseline",))):
        for phase, score, day in zip(phases, (2, 3), (date(2023, 4, 20), date(2023, 11, 15))):
            answer_all(make_audit(site, consultant, phase=phase, status="submitted", audit_date=day), score)
    make_audit(half, consultant, phase="final", audit_date=date(2023, 12, 5))  # a draft, after the window
    db.session.commit()
    return {"consultant": consultant, "reviewer": make_user("reviewer"), "done": done, "half": half}


def test_the_calendar_is_in_the_api_for_everyone_logged_in(api, world):
    body = api.login(world["consultant"]).get("/programme/calendar").get_json()
    assert [(w["year"], w["phase"], w["opens"], w["closes"], w["closed"]) for w in body["windows"]] == [
        (2023, "baseline", "2023-04-01", "2023-05-31", True), (2023, "final", "2023-11-01", "2023-11-30", True)]
    assert api.get("/programme/calendar", token=None).status_code == 401


def test_the_board_marks_a_round_late_when_its_window_closed_without_a_submitted_audit(api, world):
    body = api.login(world["reviewer"]).get("/programme/board").get_json()
    rows = {r["site"]["code"]: r for r in body["rows"]}
    assert [(r["phase"], r["state"], r["late"]) for r in rows["DONE"]["rounds"]] == [
        ("baseline", "submitted", False), ("final", "submitted", False)]
    assert [(r["phase"], r["state"], r["late"], r["audit_date"]) for r in rows["HALF"]["rounds"]] == [
        ("baseline", "submitted", False, "2023-04-20"), ("final", "in_progress", True, "2023-12-05")]
    assert rows["HALF"]["late"] and not rows["DONE"]["late"] and body["late_rounds"] == 1
    programme = api.get("/programme/comparison").get_json()
    assert body["completed_both_rounds"] == len(programme["sites_included"]) == 1
    assert body["mean_change"] == pytest.approx(programme["overall"]["mean_change"]) == pytest.approx(25.0)
    assert api.login(world["consultant"]).get("/programme/board").status_code == 403


def test_the_board_api_pages_and_narrows_its_rows_but_not_its_headline(api, db, world):
    make_site(kind="clinic", code="CLINIC", province="Lạng Sơn", commune="Xã Lộc Bình")  # both its rounds late
    db.session.commit()
    api.login(world["reviewer"])
    body = api.get("/programme/board", query_string={"per_page": "2"}).get_json()
    assert (body["total"], body["per_page"], body["page"], body["prev"]) == (3, 2, 1, None) and len(body["rows"]) == 2
    codes = [r["site"]["code"] for r in body["rows"]]
    body = api.get(body["next"].removeprefix("/api/v1")).get_json()
    codes += [r["site"]["code"] for r in body["rows"]]
    assert sorted(codes) == ["CLINIC", "DONE", "HALF"] and body["next"] is None
    headline = ("sites", "completed_both_rounds", "mean_change", "late_rounds")
    for query, shown in (({"kind": "clinic"}, ["CLINIC"]), ({"province": "Lạng Sơn"}, ["CLINIC"]),
                         ({"commune": "Xã Lộc Bình", "kind": "school"}, []), ({"state": "late"}, ["HALF", "CLINIC"]),
                         ({"state": "complete", "q": "don"}, ["DONE"])):
        narrowed = api.get("/programme/board", query_string=query).get_json()
        assert [r["site"]["code"] for r in narrowed["rows"]] == shown and narrowed["total"] == len(shown), query
        assert [narrowed[k] for k in headline] == [3, 1, pytest.approx(25.0), 3]  # the programme's, always
    assert api.get("/programme/board", query_string={"page": "9"}).get_json()["rows"] == []
    for bad in ({"state": "everything"}, {"kind": "hospital"}, {"per_page": "101"}):
        resp = api.get("/programme/board", query_string=bad)
        assert resp.status_code == 422 and resp.get_json()["error"]["details"][0]["field"] == next(iter(bad)), bad


def test_a_round_whose_window_is_still_open_is_not_late(api, db, world):
    db.session.add(RoundWindow(year=2099, phase="baseline", opens=date(2099, 4, 1), closes=date(2099, 5, 31)))
    db.session.commit()
    body = api.login(world["reviewer"]).get("/programme/board").get_json()
    half = next(r for r in body["rows"] if r["site"]["code"] == "HALF")
    assert [(r["year"], r["phase"], r["state"], r["late"]) for r in half["rounds"]] == [
        (2023, "baseline", "submitted", False), (2023, "final", "in_progress", True),
        (2099, "baseline", "not_started", False)]


def _form(**kw) -> dict:
    return {"phase": "periodic", "year": "2023", "opens": "2023-08-01", "closes": "2023-08-31", **kw}


def test_admins_set_a_window_and_bad_input_is_refused_with_a_message(client, db, login_as, world):
    login_as("admin")
    assert client.get("/admin/calendar/").status_code == 200
    resp = client.form_post("/admin/calendar/new", _form(closes="2023-07-31"))
    assert resp.status_code == 422 and "Đợt không thể đóng trước khi mở." in resp.get_data(as_text=True)
    assert client.form_post("/admin/calendar/new", _form(year="1999")).status_code == 422
    assert client.form_post("/admin/calendar/new", _form(opens="31/08/2023")).status_code == 422
    assert client.form_post("/admin/calendar/new", _form(phase="winter")).status_code == 422
    assert client.form_post("/admin/calendar/new", _form(phase="baseline")).status_code == 409  # 2023 has one
    assert db.session.scalar(select(func.count()).select_from(RoundWindow)) == 2
    assert client.form_post("/admin/calendar/new", _form()).status_code == 302
    window = db.session.scalar(select(RoundWindow).where(RoundWindow.phase == "periodic"))
    assert (window.opens, window.closes) == (date(2023, 8, 1), date(2023, 8, 31))
    assert client.form_post(f"/admin/calendar/{window.id}", _form(closes="2023-09-15")).status_code == 302
    db.session.refresh(window)
    assert window.closes == date(2023, 9, 15)
    events = db.session.scalars(select(Event).where(Event.action == "calendar.window").order_by(Event.id)).all()
    assert [e.new_value["closes"] for e in events] == ["2023-08-31", "2023-09-15"]
    assert events[1].old_value["closes"] == "2023-08-31"
    page = client.get("/admin/calendar/").get_data(as_text=True)
    assert "01/08/2023" in page and "15/09/2023" in page and "Giữa kỳ" in page


def test_only_admins_open_the_calendar_pages(client, login_as, world):
    login_as("reviewer")
    assert client.get("/admin/calendar/").status_code == 403
    assert client.form_post("/admin/calendar/new", _form()).status_code == 403


def test_seed_adds_the_pilot_calendar_once(app, db):
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["seed"]).exit_code == 0
    rows = db.session.execute(select(RoundWindow.year, RoundWindow.phase, RoundWindow.opens, RoundWindow.closes)
                              .order_by(RoundWindow.opens)).all()
    assert rows == [(2023, "baseline", date(2023, 4, 1), date(2023, 5, 31)),
                    (2023, "final", date(2023, 11, 1), date(2023, 11, 30))]
