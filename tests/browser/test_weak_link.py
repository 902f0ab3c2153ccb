"""Weak links (issue 26): photos sized for their use at capture, uploads that survive a dropped
connection, and the order in which waiting changes go.

The drop tests put tests/netproxy.py between Chromium (at 800×1280, the tablet) and the live app and
cut the connection in the middle of a request; the browser's own errors for the cut request (and
its retries while the link is down) are expected there, nothing else.
"""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from fivs.audits.models import Audit
from fivs.extensions import db
from fivs.photos.models import Photo
from tests.browser.conftest import VIEWPORTS, Watch
from tests.browser.test_tablet import (PHOTOS, answers_in_db, attach_photo, photos_in_db, score_zone, start_audit,
                                       zones_of)
from tests.netproxy import WeakLink
from tests.test_photo_pipeline import jpeg_segments

pytestmark = pytest.mark.browser

SITES = {"portrait": "TH-SONDONG", "landscape": "TH-YENTHE"}
DROP_SITE = "TH-HIEPHOA"


def camera_photo(tmp_path: Path) -> Path:
    """A 12 MP camera JPEG stored sideways (3000×4000, EXIF orientation 6: upright it is 4000×3000)
    with GPS and a capture time in its EXIF."""
    source = Image.open(PHOTOS / "Landscape_6.jpg")
    exif = source.getexif()
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 16.0, 23.4), 3: "E", 4: (106.0, 11.0, 41.2)})
    exif.get_ifd(0x8769)[0x9003] = "2026:11:03 08:15:00"
    path = tmp_path / "camera.jpg"
    source.resize((3000, 4000)).save(path, quality=92, exif=exif.tobytes())
    return path


def open_first_zone(page, live_app, T, code: str):
    audit_uuid = start_audit(page, T, code, "periodic")
    zone = next(z for z in zones_of(live_app, audit_uuid) if not z.repeats)
    page.get_by_role("link", name=re.compile(re.escape(zone.name("vi")))).first.click()
    page.get_by_role("heading", name=zone.name("vi")).wait_for()
    return audit_uuid, zone


# ---------------------------------------------------------------- sized at capture
def test_a_camera_photo_arrives_downsized_upright_and_without_metadata(page, live_app, log_in, T, viewport,
                                                                       tmp_path):
    log_in("consultant")
    audit_uuid, zone = open_first_zone(page, live_app, T, SITES[viewport])
    bound = page.locator("form[data-autosave]").get_attribute("data-photo-max-px")
    assert bound == str(live_app.config["PHOTO_MAX_PX"]) == "1600"  # the setting, handed to the page
    camera = camera_photo(tmp_path)
    uploads = len(live_app.uploads)
    attach_photo(page, zone.items[0], camera, T)
    page.get_by_role("status").filter(has_text=T("Photo sent.")).wait_for()
    [travelled] = live_app.uploads[uploads:]
    image = Image.open(io.BytesIO(travelled))
    assert image.format == "JPEG" and image.size == (1600, 1200)  # the long side at the bound, upright
    assert len(image.getexif()) == 0  # no EXIF at all: no orientation, no GPS, no capture time
    app_segments = [(marker, payload[:4]) for marker, payload in jpeg_segments(travelled) if 0xE1 <= marker <= 0xEF]
    # Nothing of the camera's: no EXIF (APP1), no XMP; Chromium's canvas only tags its own sRGB profile.
    assert app_segments in ([], [(0xE2, b"ICC_")])
    assert b"Exif" not in travelled[:65536] and b"2026:11:03" not in travelled
    assert len(travelled) < camera.stat().st_size / 5
    [photo] = photos_in_db(live_app, audit_uuid)
    assert (photo.width, photo.height) == (1600, 1200)


# ---------------------------------------------------------------- a dropped connection
DROPPED = re.compile(r"net::ERR_(CONNECTION_(RESET|REFUSED|CLOSED|ABORTED)|EMPTY_RESPONSE|SOCKET_NOT_CONNECTED)")


class DropWatch(Watch):
    """As Watch, and the browser's own errors for requests the proxy cut (or refused while down)
    are expected."""

    def on_console(self, message) -> None:
        if DROPPED.search(message.text):
            return
        super().on_console(message)


@pytest.fixture
def link(base_url):
    link = WeakLink(int(base_url.rsplit(":", 1)[1])).start()
    yield link
    link.stop()


@pytest.fixture
def tablet(browser, link):
    """A page at 800×1280 whose every request goes through the weak link."""
    watch = DropWatch(link.url)
    context = browser.new_context(base_url=link.url, viewport=VIEWPORTS["portrait"], locale="vi-VN")
    context.on("page", watch.on_page)
    context.on("request", watch.on_request)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert watch.foreign == [], "requests left the app's origin"
    assert watch.errors == [], "console errors"


def log_in_on(page, T, username: str = "consultant") -> None:
    from fivs.sites.pilot import DEMO_PASSWORD

    page.goto("/auth/login")
    page.get_by_label(T("Username")).fill(username)
    page.get_by_label(T("Password")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=T("Log in")).click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))


def media_files(live_app, audit_uuid: str) -> list[str]:
    root = Path(live_app.config["MEDIA_ROOT"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and audit_uuid in str(p))


def row_version(live_app, audit_uuid: str) -> int:
    with live_app.app_context():
        return db.session.scalar(select(Audit.row_version).where(Audit.uuid == uuid.UUID(audit_uuid)))


def staging_files(live_app) -> list[str]:
    root = Path(live_app.config["MEDIA_ROOT"])
    return [str(p) for p in root.rglob("*") if p.is_file() and (".tmp" in p.parts or p.suffix == ".tmp")]


def test_a_photo_upload_cut_midway_is_retried_and_stored_exactly_once(tablet, link, live_app, T, tmp_path):
    page = tablet
    log_in_on(page, T)
    audit_uuid, zone = open_first_zone(page, live_app, T, DROP_SITE)
    page.evaluate("""() => { window.progress = [];
        document.addEventListener("fivs:photo-progress", () => window.progress.push(
          document.querySelector("[data-offline-progress]").textContent)); }""")
    cut = link.cut_after(r"^POST /api/v1/audits/[^ ]+/photos$", after=100_000)  # of ~360 KB
    attach_photo(page, zone.items[0], camera_photo(tmp_path), T)
    assert cut.fired.wait(20)
    retrying = page.locator("[data-offline-retry]")
    retrying.filter(has_text=T("The connection dropped: retrying…")).wait_for()
    assert "đang thử lại" in retrying.text_content()
    bar = page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1))
    bar.wait_for()  # the photo stays queued
    page.wait_for_timeout(1500)  # a retry or two while the link is still down
    assert photos_in_db(live_app, audit_uuid) == [] and media_files(live_app, audit_uuid) == []
    assert staging_files(live_app) == []  # nothing half-written
    progress = page.evaluate("() => window.progress")
    assert progress and all(p.startswith(T("Sending a photo: %(percent)s", percent="")) for p in progress)

    link.restore()
    group = page.get_by_role("group", name=zone.items[0].text("vi"))
    group.get_by_role("status").filter(has_text=T("Photo sent.")).wait_for()
    page.wait_for_function("() => window.fivsQueue.waiting() === 0")
    assert retrying.is_hidden()
    [photo] = photos_in_db(live_app, audit_uuid)
    assert media_files(live_app, audit_uuid) == sorted([photo.display_key, photo.thumb_key])
    assert staging_files(live_app) == []
    assert len(link.requests("POST", r"/photos$")) >= 2  # the cut one and the retry
    page.reload()  # nothing waits: nothing is sent twice
    page.wait_for_function("() => window.fivsQueue && window.fivsQueue.waiting() === 0")
    assert len(photos_in_db(live_app, audit_uuid)) == 1


def test_an_answer_batch_cut_midway_is_retried_and_saved_exactly_once(tablet, link, live_app, T):
    page = tablet
    log_in_on(page, T)
    audit_uuid, zone = open_first_zone(page, live_app, T, DROP_SITE)
    items = zone.items[:3]
    before = row_version(live_app, audit_uuid)
    page.context.set_offline(True)
    page.wait_for_function("() => navigator.onLine === false")
    for n, item in enumerate(items):
        score_zone(page, zone, str(n + 1), [item])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=3)).wait_for()
    cut = link.cut_after(r"^PUT /api/v1/audits/[^ ]+/answers$", after=1200)  # in the body, after the headers
    page.context.set_offline(False)
    assert cut.fired.wait(20)
    page.locator("[data-offline-retry]").filter(has_text=T("The connection dropped: retrying…")).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=3)).wait_for()  # kept
    assert answers_in_db(live_app, audit_uuid) == []

    link.restore()
    page.wait_for_function("() => window.fivsQueue.waiting() === 0")
    rows = answers_in_db(live_app, audit_uuid)
    assert len(rows) == 3 and len({item_id for _r, item_id, _s, _na in rows}) == 3
    assert {item_id: s for _r, item_id, s, _na in rows} == {item.id: n + 1 for n, item in enumerate(items)}
    assert len(link.requests("PUT", r"/answers$")) >= 2  # the cut one and the retry
    assert row_version(live_app, audit_uuid) == before + 1  # the batch saved once, in one save
    assert page.locator("[data-offline-retry]").is_hidden()


# ---------------------------------------------------------------- sync order
ORDER_SITES = {"portrait": "TH-BACGIANG", "landscape": "TH-LUCNGAN"}


def test_waiting_answers_go_before_waiting_photos_and_the_page_shows_what_waits(page, context, live_app, log_in, T,
                                                                                 viewport, watch, shot):
    """Offline, a photo is queued first and two answers after it; the bar counts all three and the
    items with something waiting say so. Back online the answers go first (scores are safe first),
    then the photo, and the marks go."""
    log_in("consultant")
    audit_uuid, zone = open_first_zone(page, live_app, T, ORDER_SITES[viewport])
    first, second, untouched = zone.items[:3]
    context.set_offline(True)
    watch.offline = True
    page.wait_for_function("() => navigator.onLine === false")
    attach_photo(page, first, PHOTOS / "Portrait_3.jpg", T)
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()
    score_zone(page, zone, "2", [first, second])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=3)).wait_for()  # photos and answers

    def marked(item) -> bool:
        return page.get_by_role("group", name=item.text("vi")).get_by_text(T("Waiting to be sent")).count() == 1

    assert (marked(first), marked(second), marked(untouched)) == (True, True, False)
    shot(page, "waiting-marked")
    served = len(live_app.served)
    context.set_offline(False)
    watch.offline = False
    page.get_by_role("button", name=T("Send now")).wait_for(state="hidden")  # all sent
    api = [p for p in live_app.served[served:] if p.startswith(f"/api/v1/audits/{audit_uuid}/")]
    assert api == [f"/api/v1/audits/{audit_uuid}/answers", f"/api/v1/audits/{audit_uuid}/photos"], api
    assert len(answers_in_db(live_app, audit_uuid)) == 2 and len(photos_in_db(live_app, audit_uuid)) == 1
    page.wait_for_function("() => !document.querySelector('[data-waiting-mark]')")
    assert not (marked(first) or marked(second))


def test_an_answer_autosave_cut_midway_goes_to_the_queue_and_lands_once(tablet, link, live_app, T):
    """Online, the autosave's own PUT is cut: the answer waits in the queue, which retries it."""
    page = tablet
    log_in_on(page, T)
    audit_uuid, zone = open_first_zone(page, live_app, T, DROP_SITE)
    before = row_version(live_app, audit_uuid)
    cut = link.cut_after(r"^PUT /api/v1/audits/[^ ]+/answers$", after=1100)
    score_zone(page, zone, "4", zone.items[:1])
    assert cut.fired.wait(20)
    page.locator("[data-offline-retry]").filter(has_text=T("The connection dropped: retrying…")).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()
    assert answers_in_db(live_app, audit_uuid) == []
    link.restore()
    page.wait_for_function("() => window.fivsQueue.waiting() === 0")
    assert [(s, na) for _r, _i, s, na in answers_in_db(live_app, audit_uuid)] == [(4, False)]
    assert row_version(live_app, audit_uuid) == before + 1


# ---------------------------------------------------------------- the response lost on the way back
def test_a_photo_whose_response_is_lost_is_retried_and_stored_exactly_once(tablet, link, live_app, T, tmp_path):
    """The server stored the photo, then the link dropped before its answer reached the tablet: the
    retry carries the same client UUID and the server answers with the photo it has (no second row,
    no second set of files)."""
    page = tablet
    log_in_on(page, T)
    audit_uuid, zone = open_first_zone(page, live_app, T, DROP_SITE)
    cut = link.cut_after(r"^POST /api/v1/audits/[^ ]+/photos$", after=0, direction="down")
    attach_photo(page, zone.items[0], camera_photo(tmp_path), T)
    assert cut.fired.wait(20)
    page.locator("[data-offline-retry]").filter(has_text=T("The connection dropped: retrying…")).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=1)).wait_for()  # still queued
    [stored] = photos_in_db(live_app, audit_uuid)  # the server did its part before the cut
    assert media_files(live_app, audit_uuid) == sorted([stored.display_key, stored.thumb_key])

    link.restore()
    group = page.get_by_role("group", name=zone.items[0].text("vi"))
    group.get_by_role("status").filter(has_text=T("Photo sent.")).wait_for()
    page.wait_for_function("() => window.fivsQueue.waiting() === 0")
    [photo] = photos_in_db(live_app, audit_uuid)
    assert photo.uuid == stored.uuid
    assert media_files(live_app, audit_uuid) == sorted([photo.display_key, photo.thumb_key])  # no orphan
    assert staging_files(live_app) == []
    posts = link.requests("POST", r"/photos$")
    assert len(posts) >= 2 and posts[-1].raw_header_down.startswith(b"HTTP/1.1 200")  # the replay, recognised
    page.reload()
    page.wait_for_function("() => window.fivsQueue && window.fivsQueue.waiting() === 0")
    assert len(photos_in_db(live_app, audit_uuid)) == 1


def test_an_answer_batch_whose_response_is_lost_is_not_saved_twice(tablet, link, live_app, T):
    """Three answers queued offline go in one batch; the server saves it, the answer is lost on the
    way back. The queue keeps them and retries: it reads the audit first, finds them saved and sends
    nothing again; the row version moved once."""
    page = tablet
    log_in_on(page, T)
    audit_uuid, zone = open_first_zone(page, live_app, T, DROP_SITE)
    items = zone.items[:3]
    before = row_version(live_app, audit_uuid)
    page.context.set_offline(True)
    page.wait_for_function("() => navigator.onLine === false")
    for n, item in enumerate(items):
        score_zone(page, zone, str(n + 1), [item])
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=3)).wait_for()
    cut = link.cut_after(r"^PUT /api/v1/audits/[^ ]+/answers$", after=0, direction="down")
    page.context.set_offline(False)
    assert cut.fired.wait(20)
    page.locator("[data-offline-retry]").filter(has_text=T("The connection dropped: retrying…")).wait_for()
    page.get_by_role("status").filter(has_text=T("%(n)s changes waiting", n=3)).wait_for()  # kept
    assert len(answers_in_db(live_app, audit_uuid)) == 3 and row_version(live_app, audit_uuid) == before + 1

    link.restore()
    page.wait_for_function("() => window.fivsQueue.waiting() === 0")
    rows = answers_in_db(live_app, audit_uuid)
    assert {item_id: s for _r, item_id, s, _na in rows} == {item.id: n + 1 for n, item in enumerate(items)}
    assert len(rows) == 3
    assert row_version(live_app, audit_uuid) == before + 1  # saved once: the retry changed nothing
    assert len(link.requests("PUT", r"/answers$")) == 1  # the batch was not sent again
    assert page.locator("[data-offline-retry]").is_hidden()
    page.reload()
    page.wait_for_function("() => window.fivsQueue && window.fivsQueue.waiting() === 0")
    assert row_version(live_app, audit_uuid) == before + 1


# ---------------------------------------------------------------- answers in batches
def test_answers_given_in_a_burst_go_in_one_request_and_leaving_the_zone_sends_them_first(tablet, link, live_app,
                                                                                          T):
    """Online, answers tapped a second apart wait for a short quiet moment and go in one PUT; a
    batch still waiting when the user follows a link goes before the next page is asked for."""
    page = tablet
    log_in_on(page, T)
    audit_uuid, zone = open_first_zone(page, live_app, T, DROP_SITE)
    status = page.locator("[data-save-status]")
    link.reset_counts()
    for n, item in enumerate(zone.items[:4]):
        score_zone(page, zone, str(n % 5), [item])
        page.wait_for_timeout(1000)
    page.wait_for_function("el => el.textContent === el.dataset.saved", arg=status.element_handle())
    assert len(link.requests("PUT", r"/answers$")) == 1
    assert len(answers_in_db(live_app, audit_uuid)) == 4

    score_zone(page, zone, "4", zone.items[4:6])
    page.get_by_role("link", name=T("All zones")).first.click()  # at once, inside the quiet moment
    page.wait_for_url(re.compile(rf"/audits/{audit_uuid}$"))
    puts = link.requests("PUT", r"/answers$")
    assert len(puts) == 2
    assert link.exchanges.index(puts[-1]) < link.exchanges.index(link.requests("GET", rf"/audits/{audit_uuid}$")[-1])
    assert len(answers_in_db(live_app, audit_uuid)) == 6
    page.wait_for_function("() => window.fivsQueue && window.fivsQueue.waiting() === 0")
    assert len(link.requests("PUT", r"/answers$")) == 2  # nothing left behind to send again
