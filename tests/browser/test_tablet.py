"""The tablet in Debian's Chromium: capture, offline capture, comparison pages, programme page.

Each test runs at 800×1280 and 1280×800. The `context` fixture fails a test when any page
requested another origin or logged a console error (the offline step allows exactly the browser's
own "no connection" errors). Screenshots: artifacts/screenshots/.
"""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from fivs.audits.models import Answer, Audit
from fivs.checklists.models import Zone
from fivs.extensions import db
from fivs.photos.models import Photo
from tests.conftest import PHOTOS as SHARED_PHOTOS

pytestmark = pytest.mark.browser

PHOTOS = SHARED_PHOTOS / "orientation"
ORIENTATION = 0x0112  # EXIF tag
# Each viewport audits its own sites: (capture test, offline test).
SITES = {"portrait": ("TH-LUCNGAN", "TH-TANYEN", "TH-YENDUNG"), "landscape": ("TH-LUCNAM", "TH-VIETYEN", "TH-LANGGIANG")}


# ---------------------------------------------------------------- helpers
def start_baseline(page, T, code: str) -> str:
    return start_audit(page, T, code, "baseline")


def start_audit(page, T, code: str, phase: str) -> str:
    page.goto(f"/audits/new?site={code}")
    page.get_by_label(T("Phase")).select_option(phase)
    page.get_by_role("button", name=T("Start the audit")).click()
    page.wait_for_url(re.compile(r"/audits/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


def zones_of(live_app, audit_uuid: str) -> list[Zone]:
    with live_app.app_context():
        audit = db.session.scalar(select(Audit).where(Audit.uuid == uuid.UUID(audit_uuid)))
        zones = list(audit.template.zones)
        for zone in zones:
            zone.items  # loaded while the session is open
        db.session.expunge_all()
        return zones


def score_zone(page, zone: Zone, choice: str = "3", items=None) -> None:
    """Click a score button of every item (or the given items) of the open zone page."""
    for item in items or zone.items:
        group = page.get_by_role("group", name=item.text("vi"))
        group.get_by_role("radio", name=re.compile(rf"^{choice}\b")).check()


def answers_in_db(live_app, audit_uuid: str) -> list[tuple[str, str, int | None, bool]]:
    with live_app.app_context():
        rows = db.session.execute(
            select(Answer.room, Answer.item_id, Answer.score, Answer.na)
            .join(Audit, Answer.audit_id == Audit.id).where(Audit.uuid == uuid.UUID(audit_uuid))).all()
        return [tuple(r) for r in rows]


def photos_in_db(live_app, audit_uuid: str) -> list[Photo]:
    with live_app.app_context():
        photos = db.session.scalars(select(Photo).join(Audit, Photo.audit_id == Audit.id)
                                    .where(Audit.uuid == uuid.UUID(audit_uuid))).all()
        db.session.expunge_all()
        return photos


def fill_rest_through_api(page, audit_uuid: str, zones: list[Zone], rooms: dict[str, str], score: int) -> None:
    """Answer every item not answered yet, as the app's own page would (session cookie + CSRF header)."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    state = page.request.get(f"/api/v1/audits/{audit_uuid}").json()
    done = {(a["item"], a["zone_instance"]) for a in state["answers"]}
    answers = [{"item": item.code, "zone_instance": rooms.get(zone.code), "score": score, "na": False, "note": ""}
               for zone in zones for item in zone.items if (item.code, rooms.get(zone.code)) not in done]
    resp = page.request.put(f"/api/v1/audits/{audit_uuid}/answers", headers={"X-CSRFToken": token},
                            data={"row_version": state["row_version"], "answers": answers})
    assert resp.status == 200, resp.text()


def camera_photo(tmp_path: Path) -> Path:
    """A 2400×3600 camera JPEG stored sideways with EXIF orientation 6 (upright it is 3600×2400)."""
    source = Image.open(PHOTOS / "Landscape_6.jpg")
    path = tmp_path / "camera.jpg"
    source.resize((2400, 3600)).save(path, quality=95, exif=source.getexif())
    return path


# ---------------------------------------------------------------- 1. capture
def test_consultant_scores_submits_and_sees_percentages(page, live_app, log_in, T, shot, viewport, tmp_path):
    code = SITES[viewport][0]
    log_in("consultant")
    shot(page, "home")
    audit_uuid = start_baseline(page, T, code)
    zones = zones_of(live_app, audit_uuid)
    first = next(z for z in zones if not z.repeats)
    classroom = next(z for z in zones if z.repeats)

    page.get_by_role("link", name=re.compile(re.escape(first.name("vi")))).click()
    score_zone(page, first, "3")
    status = page.get_by_role("status").filter(has_text=T("Saved"))
    page.get_by_text(f"{T('Scored in this zone')}: {len(first.items)}/{len(first.items)}").wait_for()
    status.wait_for()
    shot(page, "zone-scored")
    assert len(answers_in_db(live_app, audit_uuid)) == len(first.items)

    page.get_by_role("link", name=T("All zones")).first.click()
    page.get_by_label(T("Room name, for example “Lớp 3A”")).fill("Lớp 3A")
    page.get_by_role("button", name=T("Add a room")).click()
    page.get_by_role("heading", name=re.compile("Lớp 3A")).wait_for()
    camera = camera_photo(tmp_path)
    uploads = len(live_app.uploads)
    attach_photo(page, classroom.items[0], camera, T)
    page.get_by_role("status").filter(has_text=T("Photo sent.")).wait_for()
    [travelled] = live_app.uploads[uploads:]
    image = Image.open(io.BytesIO(travelled))
    assert live_app.config["PHOTO_MAX_PX"] == 1600
    assert image.format == "JPEG" and image.size == (1600, 1067)  # downsized on the tablet, and upright
    assert image.getexif().get(ORIENTATION) in (None, 1)  # (EXIF 6 said: turn the sideways scene)
    assert len(travelled) < camera.stat().st_size / 2
    shot(page, "room-photo")
    fill_rest_through_api(page, audit_uuid, zones, {classroom.code: "Lớp 3A"}, 3)

    page.get_by_role("link", name=T("All zones")).first.click()
    page.get_by_role("link", name=T("Submit the audit")).click()
    page.get_by_role("button", name=T("Lock and submit")).click()  # submitting asks first
    page.get_by_text("75,0 %").first.wait_for()
    shot(page, "submitted")
    with live_app.app_context():
        audit = db.session.scalar(select(Audit).where(Audit.uuid == uuid.UUID(audit_uuid)))
        assert audit.status == "submitted"
    photos = photos_in_db(live_app, audit_uuid)
    assert len(photos) == 1 and photos[0].room == "Lớp 3A"
    assert photos[0].width > photos[0].height  # EXIF orientation 6: the landscape scene stands upright


def attach_photo(page, item, path, T) -> None:
    group = page.get_by_role("group", name=item.text("vi"))
    group.get_by_label(T("Take a photo")).set_input_files(str(path))  # choosing it sends it (no Upload button)


# ---------------------------------------------------------------- 2. offline
def answered_zone_kept_offline(page, live_app, T, code: str, phase: str) -> tuple[str, Zone]:
    """A new audit with every item answered 1, open on its first single zone, that page kept for offline use."""
    audit_uuid = start_audit(page, T, code, phase)
    zones = zones_of(live_app, audit_uuid)
    zone = next(z for z in zones if not z.repeats)
    page.get_by_role("link", name=re.compile(re.escape(zone.name("vi")))).first.click()
    fill_rest_through_api(page, audit_uuid, zones, {z.code: "Lớp 1A" for z in zones if z.repeats}, 1)
    page.reload()  # shows the answers just saved (score 1), and is kept for offline use
    wait_until_cached(page, [page.url])
    return audit_uuid, zone


def wait_until_cached(page, urls: list[str]) -> None:
    page.wait_for_function("urls => navigator.serviceWorker.controller !== null && Promise.all("
                           "urls.map(url => caches.match(url))).then(found => !found.includes(undefined))",
                           arg=urls, polling=100)


def zone_links(page) -> list[str]:
    return page.get_by_role("main").get_by_role("link").evaluate_all(
        "links => links.map(a => a.href).filter(href => href.includes('/zones/'))")


def test_offline_zone_is_kept_and_sent_exactly_once(page, context, live_app, log_in, T, shot, viewport, watch):
    code = SITES[viewport][1]
    log_in("consultant")
    audit_uuid = start_baseline(page, T, code)
    zones = zones_of(live_app, audit_uuid)
    plain = [z for z in zones if not z.repeats]
    kitchen, following = plain[1], plain[2]
    zone_url = f"{page.url}/zones/{kitchen.code}"
    next_url = f"{page.url}/zones/{following.code}"
    wait_until_cached(page, zone_links(page))  # the zone list asked the service worker to keep every zone
    assert next_url in zone_links(page)

    page.goto(zone_url)
    wait_until_cached(page, [zone_url])
    score_zone(page, kitchen, "2", kitchen.items[:2])
    page.get_by_role("status").filter(has_text=T("Saved")).wait_for()

    context.set_offline(True)
    watch.offline = True
    # The page itself knows it is offline before it is loaded again (the emulation reaches the
    # renderer after set_offline returns): otherwise its queue could start sending on load.
    page.wait_for_function("() => navigator.onLine === false")
    served = len(live_app.served)
    page.reload()
    page.get_by_role("heading", name=kitchen.name("vi")).wait_for()
    for item in kitchen.items[:2]:  # the answers saved online still show on the page from the cache
        assert page.get_by_role("group", name=item.text("vi")).get_by_role("radio", name=re.compile(r"^2\b")).is_checked()
    score_zone(page, kitchen, "4", kitchen.items[2:])
    waiting = len(kitchen.items) - 2
    bar = page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=waiting))
    bar.wait_for()
    attach_photo(page, kitchen.items[0], PHOTOS / "Portrait_3.jpg", T)
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=waiting + 1)).wait_for()
    assert not page.get_by_role("button", name=T("Discard my waiting changes")).is_visible()  # nothing refused
    shot(page, "offline-queued")
    page.get_by_role("link", name=re.compile(re.escape(following.name("vi")))).first.click()
    page.get_by_role("heading", name=following.name("vi")).wait_for()  # a zone never opened, kept for offline use
    score_zone(page, following, "1", following.items[:1])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=waiting + 2)).wait_for()
    shot(page, "offline-next-zone")
    # Nothing the pages asked for reached the server (Chromium's offline emulation may let the service
    # worker's own background refresh of a neighbouring zone through; a real tablet would not).
    reached = live_app.served[served:]
    assert not [p for p in reached if p.startswith("/api/") or p.endswith((kitchen.code, following.code))], reached
    assert len(answers_in_db(live_app, audit_uuid)) == 2

    context.set_offline(False)
    page.get_by_role("button", name=T("Send now")).wait_for(state="hidden")  # the queue drained by itself
    watch.offline = False
    shot(page, "online-drained")

    rows = answers_in_db(live_app, audit_uuid)
    assert len(rows) == len(set((zone, item) for zone, item, _s, _na in rows)) == len(kitchen.items) + 1
    scores = sorted(s for _z, _i, s, _na in rows)
    assert scores == sorted([2, 2] + [4] * waiting + [1])
    photos = photos_in_db(live_app, audit_uuid)
    assert len(photos) == 1 and photos[0].width < photos[0].height
    page.reload()  # the queue is empty: loading the page again sends nothing twice
    page.get_by_role("status").filter(has_text=T("Saved")).wait_for()
    assert len(answers_in_db(live_app, audit_uuid)) == len(rows) and len(photos_in_db(live_app, audit_uuid)) == 1


def test_offline_answer_refused_by_the_server_shows_both_values(page, context, live_app, log_in, T, shot, viewport,
                                                                watch, base_url):
    log_in("consultant")
    audit_uuid, zone = answered_zone_kept_offline(page, live_app, T, SITES[viewport][2], "baseline")

    context.set_offline(True)
    watch.offline = True
    page.wait_for_function("() => navigator.onLine === false")
    score_zone(page, zone, "4", zone.items[:1])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()
    with live_app.app_context():  # meanwhile a colleague submits the audit: it is locked
        from fivs.audits.services import submit_audit
        from fivs.auth.services import find_user

        audit = db.session.scalar(select(Audit).where(Audit.uuid == uuid.UUID(audit_uuid)))
        submit_audit(audit, find_user("consultant"))
        db.session.commit()
    watch.refused.add((f"{base_url}/api/v1/audits/{audit_uuid}/answers", 409))
    context.set_offline(False)
    watch.offline = False

    conflict = page.get_by_role("alert").filter(has_text=T("Not sent: someone else changed this audit."))
    conflict.get_by_text(T("%(item)s: yours %(mine)s, on the server %(theirs)s", item=zone.items[0].code,
                           mine="4", theirs="1")).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()  # kept, not lost
    shot(page, "conflict")
    page.get_by_role("button", name=T("Discard my waiting changes")).click()
    page.get_by_role("button", name=T("Send now")).wait_for(state="hidden")
    assert sorted({s for _z, _i, s, _na in answers_in_db(live_app, audit_uuid)}) == [1]  # nothing overwritten


def test_offline_answer_a_colleague_changed_meanwhile_is_not_overwritten_unless_chosen(
        page, context, live_app, log_in, T, shot, viewport, watch):
    """Offline, the consultant changes two answers; meanwhile a colleague saves another value for
    one of them. Back online, the other answer is sent; that one is not: both values are shown and
    it stays waiting, also after a reload. "Send now" then keeps the consultant's value."""
    log_in("consultant")
    audit_uuid, zone = answered_zone_kept_offline(page, live_app, T, SITES[viewport][2], "periodic")
    contested, untouched = zone.items[0], zone.items[1]

    def score_in_db(item) -> int | None:
        return next(s for _z, item_id, s, _na in answers_in_db(live_app, audit_uuid) if item_id == item.id)

    context.set_offline(True)
    watch.offline = True
    page.wait_for_function("() => navigator.onLine === false")
    score_zone(page, zone, "4", [contested])
    score_zone(page, zone, "3", [untouched])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=2)).wait_for()
    with live_app.app_context():  # meanwhile a colleague, on another tablet, gives the first item a 2
        from fivs.audits.services import save_answers
        from fivs.auth.services import find_user

        audit = db.session.scalar(select(Audit).where(Audit.uuid == uuid.UUID(audit_uuid)))
        save_answers(audit, find_user("consultant"),
                     [{"item": contested.code, "zone_instance": None, "score": 2, "na": False, "note": ""}],
                     row_version=None)
        db.session.commit()
    context.set_offline(False)
    watch.offline = False

    conflict = page.get_by_role("alert").filter(has_text=T("Not sent: someone else changed this audit."))
    conflict.get_by_text(T("While you were offline, someone saved other values for these items.")).wait_for()
    line = T("%(item)s: yours %(mine)s, on the server %(theirs)s", item=contested.code, mine="4", theirs="2")
    conflict.get_by_text(line).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()
    assert (score_in_db(contested), score_in_db(untouched)) == (2, 3)  # the colleague's 2 kept; the 3 sent
    conflict.scroll_into_view_if_needed()
    shot(page, "changed-meanwhile")

    page.reload()  # loading the page sends what waits: not over the colleague's value
    conflict.get_by_text(line).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()
    assert score_in_db(contested) == 2

    page.get_by_role("button", name=T("Send now")).click()  # the consultant keeps theirs over the 2 shown
    page.get_by_role("button", name=T("Send now")).wait_for(state="hidden")
    assert (score_in_db(contested), score_in_db(untouched)) == (4, 3)


def test_offline_answers_sent_while_a_colleague_saves_other_answers_all_land(
        page, context, live_app, log_in, T, viewport, watch):
    """Back online, the queue reads the audit, then sends; a colleague's save of another item lands in
    between (made to happen there). The queue's answer still lands, over theirs, and nothing waits."""
    log_in("consultant")
    audit_uuid, zone = answered_zone_kept_offline(page, live_app, T, SITES[viewport][1], "periodic")
    mine, theirs = zone.items[0], zone.items[1]

    def colleague_saves_first(route) -> None:
        from fivs.audits.services import save_answers
        from fivs.auth.services import find_user

        with live_app.app_context():
            audit = db.session.scalar(select(Audit).where(Audit.uuid == uuid.UUID(audit_uuid)))
            save_answers(audit, find_user("consultant"),
                         [{"item": theirs.code, "zone_instance": None, "score": 0, "na": False, "note": ""}],
                         row_version=None)
            db.session.commit()
        route.continue_()

    context.set_offline(True)
    watch.offline = True
    page.wait_for_function("() => navigator.onLine === false")
    score_zone(page, zone, "4", [mine])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()
    page.route("**/api/v1/audits/*/answers", colleague_saves_first, times=1)
    context.set_offline(False)
    watch.offline = False

    page.get_by_role("button", name=T("Send now")).wait_for(state="hidden")  # nothing waits any more
    scores = {item_id: s for _z, item_id, s, _na in answers_in_db(live_app, audit_uuid)}
    assert (scores[mine.id], scores[theirs.id]) == (4, 0)
    assert page.get_by_role("alert").count() == 0


def test_two_people_on_one_audit_online_only_the_same_answer_is_a_conflict(
        page, context, live_app, log_in, T, shot, viewport, watch, base_url):
    """Online, a colleague saves answers of the same audit on another tablet. Answering another item
    is saved over theirs without any conflict; answering the item they changed is not saved: both
    values are shown by it, leaving the page asks first, and Save keeps the consultant's."""
    log_in("consultant")
    audit_uuid = start_audit(page, T, SITES[viewport][1], "final")
    zone = next(z for z in zones_of(live_app, audit_uuid) if not z.repeats)
    page.get_by_role("link", name=re.compile(re.escape(zone.name("vi")))).first.click()
    mine, contested = zone.items[0], zone.items[1]
    status = page.locator("[data-save-status]")

    def colleague_saves(item, score: int) -> None:
        from fivs.audits.services import save_answers
        from fivs.auth.services import find_user

        with live_app.app_context():
            audit = db.session.scalar(select(Audit).where(Audit.uuid == uuid.UUID(audit_uuid)))
            save_answers(audit, find_user("consultant"),
                         [{"item": item.code, "zone_instance": None, "score": score, "na": False, "note": ""}],
                         row_version=None)
            db.session.commit()

    def scores_in_db() -> dict[int, int | None]:
        return {item_id: s for _z, item_id, s, _na in answers_in_db(live_app, audit_uuid)}

    colleague_saves(zone.items[2], 1)  # another item: this page's row version is now stale
    score_zone(page, zone, "3", [mine])
    page.wait_for_function("el => el.textContent === el.dataset.saved && !el.classList.contains('is-error')",
                           arg=status.element_handle())
    assert scores_in_db() == {zone.items[2].id: 1, mine.id: 3}
    assert page.get_by_role("alert").count() == 0
    theirs_here = page.get_by_role("group", name=zone.items[2].text("vi")).get_by_role("radio", name=re.compile(r"^1\b"))
    theirs_here.wait_for(state="attached")
    page.wait_for_function("el => el.checked", arg=theirs_here.element_handle())  # the colleague's 1 shown here too

    colleague_saves(contested, 2)
    watch.refused.add((f"{base_url}/api/v1/audits/{audit_uuid}/answers", 409))
    score_zone(page, zone, "4", [contested])
    group = page.get_by_role("group", name=contested.text("vi"))
    both = group.get_by_role("alert").filter(has_text=T(
        "Meanwhile someone else saved %(theirs)s here; yours, %(mine)s, is not saved yet.", theirs="2", mine="4"))
    both.wait_for()
    assert status.text_content() == T("Someone else changed an answer you changed. Compare them below: press Save "
                                      "to keep yours, or choose again.")
    assert group.get_by_role("radio", name=re.compile(r"^4\b")).is_checked()  # the user's choice stays on screen
    assert scores_in_db()[contested.id] == 2  # the colleague's value is not overwritten
    both.scroll_into_view_if_needed()
    shot(page, "same-answer-changed")

    # Leaving now would lose the 4 from the screen: the browser asks first, and staying keeps both.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.get_by_role("link", name=T("All zones")).first.click(no_wait_after=True)
    page.wait_for_timeout(500)  # a navigation not stopped would have left by now
    assert asked == ["beforeunload"] and f"/audits/{audit_uuid}/zones/" in page.url
    assert group.get_by_role("radio", name=re.compile(r"^4\b")).is_checked() and both.is_visible()
    asked_again: list[str] = []
    page.on("dialog", lambda dialog: (asked_again.append(dialog.type), dialog.accept()))

    page.get_by_role("button", name=T("Save")).click()  # keep mine over the 2 shown
    page.wait_for_function("el => el.textContent === el.dataset.saved", arg=status.element_handle())
    assert group.get_by_role("alert").count() == 0
    assert scores_in_db() == {zone.items[2].id: 1, mine.id: 3, contested.id: 4}
    page.reload()
    assert group.get_by_role("radio", name=re.compile(r"^4\b")).is_checked()
    assert asked_again == []  # saved: the page is left without a question


# ---------------------------------------------------------------- 3. principal
def test_principal_sees_own_comparison_and_pdf_but_not_another_site(page, log_in, T, shot, watch, base_url):
    log_in("principal")
    page.goto("/sites/TH-SONDONG/comparison")
    page.get_by_role("heading", name=re.compile(re.escape(T("Baseline and final")))).first.wait_for()
    assert page.get_by_role("img").count() >= 1  # the radar chart (SVG, role img)
    shot(page, "comparison")
    # Chromium would show the PDF in its viewer (an extension page): fetch the link with the session instead.
    pdf = page.request.get(page.get_by_role("link", name=T("Site report (PDF)")).get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:5] == b"%PDF-"
    watch.refused.add((f"{base_url}/sites/TH-HIEPHOA/comparison", 404))
    response = page.goto("/sites/TH-HIEPHOA/comparison")
    assert response.status == 404
    shot(page, "other-site-404")


# ---------------------------------------------------------------- 4. reviewer
def test_reviewer_programme_page_has_coverage_and_charts(page, log_in, T, shot):
    log_in("reviewer")
    page.get_by_role("link", name=T("Programme")).click()
    coverage = page.get_by_role("region", name=T("Coverage: consultant audits per round")).get_by_role("table")
    coverage.get_by_role("row", name=re.compile("TH-SONDONG")).wait_for()
    assert coverage.get_by_role("row").count() == 13  # a header row and the 12 pilot sites
    charts = page.get_by_role("img")
    assert charts.count() >= 2  # one chart per kind of site (schools, clinics)
    assert "<svg" in charts.first.evaluate("node => node.outerHTML")
    shot(page, "programme")
    page.get_by_role("heading", name=T("Coverage: consultant audits per round")).scroll_into_view_if_needed()
    shot(page, "programme-coverage")


def test_waiting_changes_of_another_user_are_neither_shown_nor_sent(page, live_app, log_in, T, viewport, watch):
    """A tablet is shared: changes someone else left waiting on it never go out with this user's session."""
    log_in("consultant")
    audit_uuid = start_audit(page, T, SITES[viewport][0], "periodic")
    item = next(z for z in zones_of(live_app, audit_uuid) if not z.repeats).items[0]
    someone_else = page.locator("[data-offline-bar]").get_attribute("data-user") + "0"
    page.evaluate("""([user, audit, item]) => new Promise((resolve, reject) => {
        const open = indexedDB.open("fivs-offline", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("queue", {keyPath: "key"});
        open.onsuccess = () => {
          const tx = open.result.transaction("queue", "readwrite");
          tx.objectStore("queue").put({key: ["answer", user, audit, item, ""].join("|"), kind: "answer", user,
            audit, at: Date.now(), answer: {item, zone_instance: null, score: 0, na: false, note: null}});
          tx.oncomplete = () => { open.result.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        };
      })""", [someone_else, f"/api/v1/audits/{audit_uuid}", item.code])
    served = len(live_app.served)
    page.reload()  # every page load sends what is waiting: here, nothing of this user's
    page.evaluate("() => window.fivsQueue.drain()")
    assert page.evaluate("() => window.fivsQueue.waiting()") == 0
    assert page.locator("[data-offline-bar]").is_hidden()
    assert not [p for p in live_app.served[served:] if p.startswith("/api/")], live_app.served[served:]
    assert answers_in_db(live_app, audit_uuid) == []
    kept = page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open("fivs-offline", 1);
        open.onsuccess = () => {
          const req = open.result.transaction("queue").objectStore("queue").getAll();
          req.onsuccess = () => { open.result.close(); resolve(req.result.map((r) => r.user)); };
        };
      })""")
    assert kept == [someone_else]  # still waiting for its own user
