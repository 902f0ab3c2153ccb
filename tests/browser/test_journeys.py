"""Each role's day, in Chromium at both sizes: the principal's home shows their site's summary,
before/after photos and open actions and nothing of another site; the reviewer's board marks a
late round; an audit's history lists an answer change with its old and new value; the top bar is
one line at 800 px for the admin (who has the most links). Screenshots of every step go to
artifacts/screenshots/."""
from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from fivs.audits.models import Answer, Audit
from fivs.extensions import db

pytestmark = pytest.mark.browser

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "photos" / "orientation"
OWN_ACTION, OTHER_ACTION = "Sắp xếp lại tủ thuốc y tế", "Sơn lại hàng rào cổng trường"


@pytest.fixture(scope="module")
def journeys(live_app):
    """Photos on both rounds of TH-SONDONG (the principal's site), an overdue action there and one at
    another site, and a reopened audit whose answer was changed after the reopening."""
    from fivs.actions.services import raise_action
    from fivs.audits.services import reopen_audit, save_answers, submit_audit
    from fivs.auth.services import find_user, get_site_by_code
    from fivs.calendar.services import seed_pilot_calendar
    from fivs.comparisons.services import load_site_comparison
    from fivs.photos.services import attach_photo
    from tests.factories import answer_all, make_audit

    with live_app.app_context():
        seed_pilot_calendar()
        consultant, reviewer = find_user("consultant"), find_user("reviewer")
        site, other = get_site_by_code("TH-SONDONG"), get_site_by_code("TH-HIEPHOA")
        rounds = {a.phase: a for a in db.session.scalars(select(Audit).where(
            Audit.site_id == site.id, Audit.kind == "consultant", Audit.status == "submitted"))}
        best = load_site_comparison(site).improved[0].item.code  # the photos go on the most improved item
        item = next(i for i in rounds["final"].template.items if i.code == best)
        room = {p: db.session.scalar(select(Answer.room).where(Answer.audit_id == a.id, Answer.item_id.in_(
            [i.id for i in a.template.items if i.code == best])).limit(1)) for p, a in rounds.items()}
        for phase, name in (("baseline", "Landscape_1.jpg"), ("final", "Landscape_3.jpg")):
            audit = rounds[phase]
            audit.status = "draft"  # a photo goes on an open audit; the round is submitted again below
            attach_photo(audit, consultant, (PHOTOS / name).read_bytes(), photo_uuid=uuid.uuid4(), item_code=item.code,
                         room=room[phase] or None)
            audit.status = "submitted"
        raise_action(consultant, site, title=OWN_ACTION, responsible="Cô Hà", due_date=date(2023, 12, 15),
                     priority="high")
        raise_action(consultant, other, title=OTHER_ACTION, responsible="Thầy Nam", due_date=date(2023, 12, 15),
                     priority="low")
        reopened = make_audit(get_site_by_code("TH-YENTHE"), consultant, phase="periodic", audit_date=date(2023, 8, 10))
        answer_all(reopened, 2)
        submit_audit(reopened, consultant)
        reopen_audit(reopened, reviewer, "Chấm lại khu bếp")
        changed = next(z for z in reopened.template.zones if not z.repeats).items[1]
        save_answers(reopened, consultant, [{"item": changed.code, "score": 4, "note": "Đã lau sạch"}],
                     row_version=None)
        draft = make_audit(get_site_by_code("TH-LUCNAM"), consultant, phase="periodic", audit_date=date(2023, 8, 12))
        for score in (1, 3):  # a draft's answer scored, then changed
            save_answers(draft, consultant, [{"item": changed.code, "score": score}], row_version=None)
        db.session.commit()
        return {"site": site.name, "other": other.name, "item": item.text_vi, "audit": str(reopened.uuid),
                "changed": changed.code, "draft": str(draft.uuid), "site_code": site.code}


def test_principal_home_shows_their_summary_photos_and_actions_and_nothing_else(page, log_in, T, shot, journeys):
    log_in("principal")
    main = page.get_by_role("main")
    main.get_by_role("heading", name=journeys["site"], level=1).wait_for()
    assert main.get_by_role("heading", name=T("In short")).is_visible()
    assert re.search(r"\d+,\d %", main.locator(".big-score").inner_text())
    assert T("up %(points)s points since the baseline", points="25,0") in main.inner_text()
    summary = main.locator(".summary-points").inner_text()
    # every S of the pilot's demo rounds rose alike (50 % → 75 %): the summary says so rather than crown Sort
    assert T("Every S rose by %(points)s points.", points="25,0") in summary
    assert T("Improved most: %(s)s, up %(points)s points.", s=T("Sort"), points="25,0") not in summary
    for word in ("W+", "p =", "dz", "KTC"):
        assert word not in main.inner_text()
    shot(page, "home-top")
    pairs = main.locator("#home-pairs")
    pairs.scroll_into_view_if_needed()
    assert journeys["item"] in pairs.inner_text()
    images = pairs.get_by_role("img")
    assert images.count() == 2
    for n in range(2):
        images.nth(n).scroll_into_view_if_needed()
        assert images.nth(n).evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "home-photo-pairs")
    actions = main.get_by_role("region", name=T("Overdue first, then open actions by due date"))
    actions.scroll_into_view_if_needed()
    assert actions.get_by_role("link", name=OWN_ACTION).is_visible()
    assert T("Overdue") in actions.inner_text()
    shot(page, "home-actions")
    assert OTHER_ACTION not in page.content() and journeys["other"] not in page.content()
    audits = main.locator(".audit-cards")
    assert audits.locator("li.card").count() == 2  # the submitted baseline and final, each to its summary
    assert audits.get_by_role("link", name=T("to acknowledge")).count() == 2  # the principal's sign-off
    audits.scroll_into_view_if_needed()
    shot(page, "home-audits")
    audits.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/audits/[0-9a-f-]+/summary$"))
    shot(page, "audit-summary")


def test_reviewer_board_marks_a_late_round(page, log_in, T, shot, journeys):
    log_in("reviewer")
    main = page.get_by_role("main")
    main.get_by_role("heading", name=T("Programme board")).wait_for()
    headline = main.locator("#board-headline").inner_text()
    assert T("%(done)d/%(total)d sites have completed both rounds", done=6, total=12) in headline
    board = main.get_by_role("region", name=T("Each site's rounds against the programme calendar; a late round is marked."))
    late = board.get_by_role("row", name=re.compile("Lạng Giang"))
    assert late.locator(".badge-late").count() == 2 and T("Late") in late.inner_text()  # neither round done
    done = board.get_by_role("row", name=re.compile(re.escape(journeys["site"])))
    assert done.locator(".badge-late").count() == 0 and done.locator(".round-submitted").count() == 2
    assert "01/04/2023" in board.inner_text() and "30/11/2023" in board.inner_text()  # the windows, dd/mm/yyyy
    shot(page, "board")
    late.scroll_into_view_if_needed()
    shot(page, "board-late-row")


def test_reviewer_narrows_the_board_to_the_sites_with_a_late_round(page, log_in, T, shot, journeys):
    log_in("reviewer")
    main = page.get_by_role("main")
    main.get_by_label(T("Show")).select_option("late")
    main.get_by_role("button", name=T("Find")).click()
    page.wait_for_url(re.compile(r"state=late"))
    board = main.get_by_role("region", name=T("Each site's rounds against the programme calendar; a late round is marked."))
    rows = board.locator("tbody tr")
    assert rows.count() > 0 and rows.count() == board.locator("tbody tr.row-late").count()  # late ones only
    assert journeys["site"] not in board.inner_text()  # both its rounds are in
    assert T("%(done)d/%(total)d sites have completed both rounds", done=6, total=12) in main.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "board-late-only")


def test_reviewer_narrows_the_board_to_the_clinics_of_a_province(page, log_in, T, shot, journeys):
    log_in("reviewer")
    main = page.get_by_role("main")
    main.get_by_label(T("Kind")).select_option("clinic")
    main.get_by_label(T("Province (now)")).select_option("Bắc Ninh")
    main.get_by_role("button", name=T("Find")).click()
    page.wait_for_url(re.compile(r"kind=clinic&province=B%E1%BA%AFc\+Ninh"))
    board = main.get_by_role("region", name=T("Each site's rounds against the programme calendar; a late round is marked."))
    names = board.locator("tbody th[scope=row]").all_inner_texts()
    assert len(names) == 2 and all(n.startswith("Cơ sở khám chữa bệnh") for n in names), names
    assert T("%(done)d/%(total)d sites have completed both rounds", done=6, total=12) in main.inner_text()
    assert main.get_by_label(T("Kind")).input_value() == "clinic"  # the form keeps what was asked
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "board-clinics")


def test_history_lists_an_answer_change_with_old_and_new_value(page, log_in, T, shot, journeys):
    log_in("reviewer")
    page.goto(f"/audits/{journeys['audit']}/history")
    change = page.locator(".history-line").filter(has_text=T("Answer changed"))
    row = change.get_by_role("row", name=re.compile(re.escape(journeys["changed"])))
    cells = row.get_by_role("cell")
    assert [cells.nth(0).inner_text(), cells.nth(1).inner_text()] == ["2", "4 · Đã lau sạch"]
    reopen = page.locator(".history-line").filter(has_text=T("Audit reopened"))
    assert "Chấm lại khu bếp" in reopen.inner_text()
    text = page.get_by_role("main").inner_text()
    assert journeys["audit"] not in text and "sha256" not in text and "{" not in text  # no ids, no payloads
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    change.scroll_into_view_if_needed()
    shot(page, "history")


def test_a_drafts_history_lists_an_answer_change_before_any_submit(page, log_in, T, shot, journeys):
    log_in("consultant")
    page.goto(f"/audits/{journeys['draft']}/history")
    change = page.locator(".history-line").filter(has_text=T("Answer changed"))
    assert change.count() == 1  # the first score was no change
    cells = change.get_by_role("row", name=re.compile(re.escape(journeys["changed"]))).get_by_role("cell")
    assert [cells.nth(0).inner_text(), cells.nth(1).inner_text()] == ["1", "3"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    change.scroll_into_view_if_needed()
    shot(page, "draft-history")


def test_web_comparison_shows_the_photo_pairs_of_the_most_improved_and_weakest_items(page, log_in, T, shot, journeys):
    log_in("reviewer")
    page.goto(f"/sites/{journeys['site_code']}/comparison")
    section = page.get_by_role("region", name=T("Before and after: photos and notes"))
    section.scroll_into_view_if_needed()
    shot(page, "comparison-photo-pairs")
    pictured = section.locator("li.highlight").filter(has_text=journeys["item"]).first
    images = pictured.get_by_role("img")
    assert images.count() == 2
    for n in range(2):
        images.nth(n).scroll_into_view_if_needed()
        assert images.nth(n).evaluate("img => img.complete && img.naturalWidth > 0")
    assert section.locator("#weakest-items li.highlight").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    section.locator("#weakest-items").scroll_into_view_if_needed()
    shot(page, "comparison-weakest-with-photos")


def test_the_event_log_reads_in_words_and_fits_the_tablet(page, log_in, T, shot, journeys):
    log_in("admin")
    page.goto("/admin/events/?action=audit.reopen")
    table = page.locator("table.events")
    text = table.inner_text()
    assert "Chấm lại khu bếp" in text and T("Submitted") + " → " + T("Reopened") in text
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", text) and "submitted" not in text
    assert journeys["audit"] not in text  # the audit's id gives way to a link to its history
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the table scrolls in its box
    shot(page, "event-log")
    table.get_by_role("link", name=T("Audit history")).click()
    page.wait_for_url(re.compile(r"/audits/[0-9a-f-]+/history$"))
    assert "Chấm lại khu bếp" in page.get_by_role("main").inner_text()


def test_top_bar_is_one_line_at_800_px_for_the_admin(page, log_in, T, shot, viewport):
    log_in("admin")
    bar = page.locator("header.topbar")
    boxes = bar.evaluate("""bar => [...bar.querySelectorAll(':scope > *, nav > a, .topbar-right > *')]
        .filter(el => el.offsetParent !== null).map(el => el.getBoundingClientRect())
        .map(r => ({top: r.top, bottom: r.bottom, right: r.right}))""")
    tops = [b["top"] + (b["bottom"] - b["top"]) / 2 for b in boxes]
    assert max(tops) - min(tops) < 12, boxes  # every item on one line
    assert max(b["right"] for b in boxes) <= page.viewport_size["width"]
    assert bar.bounding_box()["height"] < 80
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "topbar")
    page.get_by_text(T("Menu"), exact=True).click()
    menu = bar.locator(".menu-panel")
    for name in ("Checklists", "Manage sites", "Users", "Programme calendar", "Event log", "Log out"):
        assert menu.get_by_role("link" if name != "Log out" else "button", name=T(name)).is_visible()
    shot(page, "topbar-menu")
    menu.get_by_role("link", name=T("Programme calendar")).click()
    page.get_by_role("heading", name=T("Programme calendar")).wait_for()
    assert "01/04/2023" in page.get_by_role("main").inner_text()
    shot(page, "calendar")
