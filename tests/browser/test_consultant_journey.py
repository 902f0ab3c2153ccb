"""The consultant's journey on the tablet (issue 21), at 800×1280 and 1280×800, in Vietnamese.

Home "Việc của tôi" → continue a draft in one tap; a photo chosen on a zone page shows its local
thumbnail at once, then the server's; a refused file says why at its item and leaves nothing in the
queue; a second baseline is refused with a link to the existing one; submitting asks first (and
lists what is missing, a repeating zone with no room named as such). Screenshots:
artifacts/screenshots/test_<name>-<viewport>-NN-<step>.png.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from fivs.audits.models import Audit
from fivs.audits.presenters import zone_groups
from fivs.audits.services import save_answers
from fivs.auth.services import find_user, get_site_by_code
from fivs.extensions import db
from tests.conftest import PHOTOS
from tests.factories import answer_all, make_audit

pytestmark = pytest.mark.browser

# Periodic checks may repeat, so each test starts its own periodic draft at a demo site.
SITE = {"portrait": "TH-YENTHE", "landscape": "TH-BACGIANG"}
PHOTO = PHOTOS / "orientation" / "Landscape_1.jpg"


@dataclass(frozen=True)
class Place:
    """A room of the audit as the zone pages walk them (checklist order)."""
    zone: str
    title: str  # the zone page's heading
    room: str
    items: list  # [(code, Vietnamese text)]


def periodic_draft(live_app, code: str, *, first_done=False, complete=False, rooms=("Lớp 2B",)):
    """A periodic consultant draft at `code`: (its uuid, its rooms in order, codes of zones without a room)."""
    with live_app.app_context():
        consultant = find_user("consultant")
        audit = make_audit(get_site_by_code(code), consultant, phase="periodic", audit_date=date(2023, 8, 20),
                           rooms=rooms)
        db.session.commit()
        groups = zone_groups(audit)
        places = [Place(r.zone.code, r.zone.name("vi") + (f" · {r.room}" if r.room else ""), r.room,
                        [(i.code, i.text("vi")) for i in r.zone.items]) for g in groups for r in g.rooms]
        empty = [g.zone.code for g in groups if g.zone.repeats and not g.rooms]
        if complete:
            answer_all(audit, 3)
        elif first_done:
            save_answers(audit, consultant, [{"item": c, "zone_instance": places[0].room or None, "score": 3}
                                             for c, _text in places[0].items], row_version=audit.row_version)
        db.session.commit()
        return str(audit.uuid), places, empty


def status_of(live_app, audit_uuid: str) -> str:
    with live_app.app_context():
        return db.session.scalar(select(Audit.status).where(Audit.uuid == uuid.UUID(audit_uuid)))


def test_the_consultant_continues_a_draft_from_home_in_one_tap(page, live_app, log_in, T, shot, viewport):
    audit_uuid, places, _empty = periodic_draft(live_app, SITE[viewport], first_done=True)
    log_in("consultant")
    page.goto("/")
    page.get_by_role("heading", name=T("My work"), level=1).wait_for()
    card = page.locator(f'[data-draft="{audit_uuid}"]')
    done, total = len(places[0].items), sum(len(p.items) for p in places)
    card.get_by_text(T("%(answered)d/%(total)d answered", answered=done, total=total)).wait_for()
    # drafts come before the sites, and each site shows its rounds' states
    assert page.locator("[data-draft]").first.bounding_box()["y"] < page.get_by_role(
        "heading", name=T("My sites")).bounding_box()["y"]
    assert page.locator(".round-submitted").count() >= 2
    shot(page, "home")
    card.get_by_role("link", name=re.compile(T("Continue"))).click()  # one tap: the first room left
    page.wait_for_url(re.compile(rf"/audits/{audit_uuid}/zones/{places[1].zone}"))
    page.get_by_role("heading", name=places[1].title, level=1).wait_for()
    progress = page.locator("[data-audit-progress]").inner_text()
    assert T("%(answered)d/%(total)d answered", answered=done, total=total) in progress
    assert T("%(n)d zones left", n=len(places) - 1) in progress
    shot(page, "continued-zone")
    # the big "next zone" button at the end of the zone goes on to the room after
    page.get_by_role("button", name=re.compile(T("Next zone"))).click()
    page.wait_for_url(re.compile(rf"/audits/{audit_uuid}/zones/{places[2].zone}"))
    page.get_by_role("heading", name=places[2].title, level=1).wait_for()
    shot(page, "next-zone")


def test_a_chosen_photo_shows_at_once_and_the_servers_copy_replaces_it(page, live_app, log_in, T, shot, viewport):
    audit_uuid, places, _empty = periodic_draft(live_app, SITE[viewport])
    place, items = places[-1], places[-1].items  # a plain zone
    log_in("consultant")
    page.goto(f"/audits/{audit_uuid}/zones/{place.zone}")
    page.evaluate("window.fivsSamePage = true")
    group = page.get_by_role("group", name=items[0][1])
    assert not group.get_by_role("button", name=T("Upload")).is_visible()  # choosing is enough
    camera = group.get_by_text(T("Take a photo"))
    gallery = group.get_by_text(T("Choose from the gallery"))
    assert camera.is_visible() and gallery.is_visible()
    assert group.locator('input[type=file][capture="environment"]').count() == 1
    with page.expect_response(re.compile(r"/api/v1/audits/.+/photos$")) as response:
        group.get_by_label(T("Take a photo")).set_input_files(str(PHOTO))
        local = group.locator("li.photo-pending img, li.photo-stored img").first
        local.wait_for()
        shot(page, "photo-local")
    assert response.value.status == 201
    stored = group.locator("li.photo-stored img")
    stored.wait_for()
    assert "/api/v1/photos/" in stored.get_attribute("src") and stored.evaluate("i => i.naturalWidth") > 0
    assert group.get_by_role("button", name=T("Remove this photo")).is_visible()
    assert page.evaluate("window.fivsSamePage") is True  # no reload
    shot(page, "photo-stored")
    # removing asks first: dismissing keeps the photo
    page.once("dialog", lambda dialog: dialog.dismiss())
    group.get_by_role("button", name=T("Remove this photo")).click()
    assert group.locator("li.photo-stored").count() == 1 and page.evaluate("window.fivsSamePage") is True


def test_a_refused_file_says_why_at_its_item_and_nothing_waits(page, live_app, log_in, T, shot, viewport,
                                                                watch, base_url):
    audit_uuid, places, _empty = periodic_draft(live_app, SITE[viewport])
    place, items = places[-1], places[-1].items
    log_in("consultant")
    page.goto(f"/audits/{audit_uuid}/zones/{place.zone}")
    for status in (400, 413, 415, 422):
        watch.refused.add((f"{base_url}/api/v1/audits/{audit_uuid}/photos", status))
    group = page.get_by_role("group", name=items[1][1])
    with page.expect_response(re.compile(r"/api/v1/audits/.+/photos$")) as response:
        group.get_by_label(T("Choose from the gallery")).set_input_files(
            files=[{"name": "ghi-chu.txt", "mimeType": "text/plain", "buffer": "Không phải ảnh".encode()}])
    assert 400 <= response.value.status < 500
    reason = response.value.json()["error"]["message"]
    error = group.locator("li.photo-refused .photo-error")
    error.wait_for()
    assert error.inner_text() == reason and reason
    assert T("Photo kept on this tablet; it is sent as soon as there is a connection.") not in group.inner_text()
    page.wait_for_function("window.fivsQueue.waiting() === 0")
    assert not page.get_by_role("button", name=T("Discard my waiting changes")).is_visible()
    error.scroll_into_view_if_needed()
    shot(page, "photo-refused")


def test_a_second_baseline_is_refused_with_a_link_to_the_first(page, live_app, log_in, T, shot, viewport,
                                                              watch, base_url):
    code = {"portrait": "TH-HIEPHOA", "landscape": "PK-01"}[viewport]  # both rounds submitted
    watch.refused.add((f"{base_url}/audits/new", 409))  # the refusal is a 409 page
    log_in("consultant")
    page.goto(f"/audits/new?site={code}")
    page.get_by_label(T("Phase")).select_option("baseline")
    page.get_by_role("button", name=T("Start the audit")).click()
    alert = page.get_by_role("alert").filter(has_text=T("This site already has a consultant audit of this round:"))
    alert.wait_for()
    shot(page, "refused")
    alert.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/audits/[0-9a-f-]{36}/summary$"))
    page.get_by_role("heading", level=1, name=re.compile(T("Audit summary"))).wait_for()
    shot(page, "existing-audit")


def test_submit_asks_first_and_lists_what_is_missing(page, live_app, log_in, T, shot, viewport):
    missing_uuid, places, empty = periodic_draft(live_app, SITE[viewport], first_done=True, rooms=())
    assert empty  # the classrooms: a repeating zone with no room
    log_in("consultant")
    page.goto(f"/audits/{missing_uuid}")
    page.get_by_role("link", name=T("Submit the audit")).click()
    page.wait_for_url(re.compile(rf"/audits/{missing_uuid}/submit$"))
    assert page.locator(f'[data-empty-zone="{empty[0]}"]').inner_text() == T("No room added yet: add one")
    left = page.get_by_role("link", name=places[1].title, exact=True)
    assert left.is_visible() and page.get_by_role("link", name=places[0].title, exact=True).count() == 0
    assert page.get_by_role("button", name=T("Lock and submit")).count() == 0
    shot(page, "missing")
    left.click()
    page.wait_for_url(re.compile(rf"/zones/{places[1].zone}"))

    done_uuid, _places, _empty = periodic_draft(live_app, SITE[viewport], complete=True)
    page.goto(f"/audits/{done_uuid}")
    page.get_by_role("link", name=T("Submit the audit")).click()
    page.get_by_role("heading", name=T("Lock and submit?")).wait_for()
    assert status_of(live_app, done_uuid) == "draft"  # asking is not submitting
    shot(page, "confirm")
    page.get_by_role("button", name=T("Lock and submit")).click()
    page.wait_for_url(re.compile(rf"/audits/{done_uuid}/summary$"))
    assert status_of(live_app, done_uuid) == "submitted"
    shot(page, "submitted")
