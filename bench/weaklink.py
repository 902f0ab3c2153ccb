"""Weak link: what one audit costs on the wire, and how long it takes on a slow mobile line.

Run from the project root:
    .venv/bin/python bench/weaklink.py [--photos 4] [--throttle] [--json]

Builds a scratch fivs (temporary SQLite database and media folder, the shipped checklists, the
pilot sites and demo users), serves it on 127.0.0.1 and puts a byte-counting TCP proxy in front of
it (tests/netproxy.py; --throttle also slows it to 750 kbit/s up and 2 Mbit/s down). Debian's
Chromium at 800×1280 goes through the proxy only: it logs in as the consultant, starts an audit,
opens a zone and scores its 10 items with the page's own radio buttons, one tap every --tap
seconds (default 2.5 s: a consultant who reads an item, looks and taps; the page batches the
answers given in a burst, see autosave.js), waits for "Saved", then uploads real camera photos with
the page's own photo controls (a 12 MP JPEG made from the shared test photo Landscape_6.jpg: EXIF
orientation 6, GPS, capture time), waiting for "Photo sent." each time.

Prints the bytes per answer and per photo (up and down, every request the actions caused, counted
as they crossed the proxy), the extrapolation to one audit of 90 answers (9 zones of 10 items, as
both checklists have: the zone scored here, nine times) and 20 photos at 750 kbit/s up / 2 Mbit/s
down / 300 ms per request (goal: ≤ 6 MB and ≤ 90 s; exit status 1 when missed), the same if every
photo were taken in the middle of a burst (each flushes the answers waiting: one request more per
photo), and the per-request
overhead of an answer save: its request and response headers, header by header, and whether the
two parts cut of it come back (the session cookie with every answer, the Referer).
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from fivs import create_app  # noqa: E402
from fivs.extensions import db  # noqa: E402
from fivs.sites.pilot import DEMO_PASSWORD  # noqa: E402
from tests.netproxy import WeakLink  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHOTO_SOURCE = ROOT.parent / "shared" / "testdata" / "photos" / "orientation" / "Landscape_6.jpg"
SITE = "TH-SONDONG"
UP_BPS, DOWN_BPS, PER_REQUEST_S = 750_000, 2_000_000, 0.3
AUDIT_ANSWERS, AUDIT_PHOTOS = 90, 20
GOAL_BYTES, GOAL_SECONDS = 6_000_000, 90.0
TIMEOUT_MS = 60_000


def camera_photo(folder: Path) -> Path:
    """A 12 MP (4000×3000 as seen, stored 3000×4000 sideways) camera JPEG: EXIF orientation 6, GPS
    and a capture time, quality 92 like a phone's camera app."""
    source = Image.open(PHOTO_SOURCE)
    exif = source.getexif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 16.0, 23.4), 3: "E", 4: (106.0, 11.0, 41.2)})
    exif.get_ifd(0x8769)[0x9003] = "2026:11:03 08:15:00"
    path = folder / "camera.jpg"
    source.resize((3000, 4000), Image.Resampling.LANCZOS).save(path, quality=92, exif=exif.tobytes())
    return path


def build_app(folder: Path):
    from fivs.commands import _demo_users, _load_checklists
    from fivs.sites.services import seed_pilot_sites

    app = create_app({"SECRET_KEY": "weaklink-bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'fivs.sqlite3'}",
                      "MEDIA_ROOT": str(folder / "media"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        _load_checklists(app.config["CHECKLISTS_DIR"])
        seed_pilot_sites()
        _demo_users()
        db.session.commit()
    return app


def serve(app):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def text(app, msgid: str) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid)


def drive(app, link: WeakLink, photo: Path, photos: int, tap_s: float) -> dict:
    from playwright.sync_api import sync_playwright

    T = lambda msgid: text(app, msgid)  # noqa: E731
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=link.url, viewport={"width": 800, "height": 1280}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto("/auth/login")
        page.get_by_label(T("Username")).fill("consultant")
        page.get_by_label(T("Password")).fill(DEMO_PASSWORD)
        page.get_by_role("button", name=T("Log in")).click()
        page.wait_for_url(re.compile(r"/(\?.*)?$"))
        page.goto(f"/audits/new?site={SITE}")
        page.get_by_label(T("Phase")).select_option("baseline")
        page.get_by_role("button", name=T("Start the audit")).click()
        page.wait_for_url(re.compile(r"/audits/[0-9a-f-]{36}$"))
        page.locator("main a[href*='/zones/']").first.click()
        page.wait_for_load_state("networkidle")
        status = page.locator("[data-save-status]")
        sets = page.locator("fieldset[data-item]")
        items = sets.count()

        page.wait_for_load_state("networkidle")
        link.reset_counts()
        for i in range(items):
            sets.nth(i).locator("input[type=radio]").nth(2).check()
            page.wait_for_timeout(tap_s * 1000)
        page.wait_for_function("el => el.textContent === el.dataset.saved", arg=status.element_handle())
        page.wait_for_load_state("networkidle")
        answer_saves = link.requests("PUT", r"/answers$")
        scoring = phase_totals(link)

        link.reset_counts()
        for i in range(photos):
            box = sets.nth(i % items)
            box.get_by_label(T("Take a photo")).set_input_files(str(photo))  # choosing it sends it
            box.get_by_role("status").filter(has_text=T("Photo sent.")).wait_for()
            page.wait_for_load_state("networkidle")
        uploads = link.requests("POST", r"/photos$")
        others = [f"{e.method} {e.path}" for e in link.exchanges if e not in uploads and e.path != "/sw.js"]
        photo_phase = phase_totals(link)
        sent_sizes = [Image.open(io.BytesIO(b)).size for b in getattr(app, "bench_uploads", [])]
        browser.close()
    return {"items": items, "answer_saves": answer_saves, "scoring": scoring, "uploads": uploads,
            "photo_phase": photo_phase, "sent_sizes": sent_sizes, "others": others}


def phase_totals(link: WeakLink) -> dict:
    """Bytes and requests of a phase, without the service worker's own update check of /sw.js
    (the browser's, once per page load at most, not caused by an answer or a photo)."""
    counted = [e for e in link.exchanges if e.path != "/sw.js"]
    return {"up": sum(e.up for e in counted), "down": sum(e.down for e in counted), "requests": len(counted)}


def header_lines(raw: bytes) -> list[tuple[str, int]]:
    lines = raw.decode("latin-1").split("\r\n")
    return [(line.split(":", 1)[0] if i else line.split(" ", 1)[0] + " (request/status line)", len(line) + 2)
            for i, line in enumerate(lines) if line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--tap", type=float, default=2.5, help="seconds between two answers (default 2.5)")
    parser.add_argument("--throttle", action="store_true", help="750 kbit/s up, 2 Mbit/s down through the proxy")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--max-px", type=int, help="the page's and server's photo bound (default: the app's)")
    parser.add_argument("--quality", type=int, help="the page's JPEG quality in % (default: the app's)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fivs-weaklink-") as tmp:
        folder = Path(tmp)
        app = build_app(folder)
        if args.max_px:
            app.config["PHOTO_MAX_PX"] = args.max_px
        if args.quality:
            app.config["PHOTO_JPEG_QUALITY"] = args.quality
        app.bench_uploads = []

        @app.before_request
        def _keep_upload():  # the photo as it arrived, to report its size
            from flask import request

            upload = request.files.get("file") if request.method == "POST" else None
            if upload:
                app.bench_uploads.append(upload.read())
                upload.seek(0)

        server = serve(app)
        link = WeakLink(server.server_port, up_bps=UP_BPS if args.throttle else None,
                        down_bps=DOWN_BPS if args.throttle else None).start()
        photo = camera_photo(folder)
        camera_bytes = photo.stat().st_size
        started = time.monotonic()
        try:
            got = drive(app, link, photo, args.photos, args.tap)
        finally:
            link.stop()
            server.shutdown()
        wall = time.monotonic() - started

    saves, uploads = got["answer_saves"], got["uploads"]
    if not saves or not uploads:
        print("no answer save or no photo upload went through the proxy", file=sys.stderr)
        return 1
    scoring, photo_phase = got["scoring"], got["photo_phase"]
    # Everything the actions caused (also any request besides the save itself), per action.
    answer_up, answer_down = scoring["up"] / got["items"], scoring["down"] / got["items"]
    answer_requests = scoring["requests"] / got["items"]
    photo_up, photo_down = photo_phase["up"] / len(uploads), photo_phase["down"] / len(uploads)
    photo_requests = photo_phase["requests"] / len(uploads)
    audit_up = AUDIT_ANSWERS * answer_up + AUDIT_PHOTOS * photo_up
    audit_down = AUDIT_ANSWERS * answer_down + AUDIT_PHOTOS * photo_down
    audit_requests = AUDIT_ANSWERS * answer_requests + AUDIT_PHOTOS * photo_requests
    audit_seconds = audit_up * 8 / UP_BPS + audit_down * 8 / DOWN_BPS + audit_requests * PER_REQUEST_S
    # Worst case: every photo taken in the middle of a burst sends the answers waiting before it, one
    # request more each (the bytes of that request's headers too).
    split = AUDIT_PHOTOS * (sum(e.header_up for e in saves) / len(saves) + sum(e.down for e in saves) / len(saves))
    worst_seconds = audit_seconds + AUDIT_PHOTOS * PER_REQUEST_S + split * 8 / UP_BPS
    last = saves[-1]
    save_header_up = sum(e.header_up for e in saves) / len(saves)
    save_header_down = sum(e.header_down for e in saves) / len(saves)
    save_body_up = sum(e.up - e.header_up for e in saves) / len(saves)
    save_body_down = sum(e.down - e.header_down for e in saves) / len(saves)

    print(f"camera photo: {camera_bytes} bytes, 3000×4000 stored, EXIF orientation 6")
    print(f"zone of {got['items']} items scored, one tap every {args.tap:g} s: {len(saves)} answer saves "
          f"({got['items'] / len(saves):.1f} answers each); {len(uploads)} photos uploaded "
          f"(wall time {wall:.1f} s{', throttled' if args.throttle else ''})")
    print(f"photos as they arrived: {sorted(set(got['sent_sizes']))}")
    print(f"bytes per answer save : {answer_up:8.0f} up {answer_down:8.0f} down ({answer_requests:.2f} requests)")
    print(f"  the PUT itself      : headers {save_header_up:.0f} + body {save_body_up:.0f} up, "
          f"headers {save_header_down:.0f} + body {save_body_down:.0f} down")
    if got["others"]:
        print(f"  besides the uploads : {', '.join(got['others'])}")
    print(f"bytes per photo       : {photo_up:8.0f} up {photo_down:8.0f} down ({photo_requests:.2f} requests)")
    print(f"audit of {AUDIT_ANSWERS} answers + {AUDIT_PHOTOS} photos: {(audit_up + audit_down) / 1e6:.2f} MB "
          f"({audit_up / 1e6:.2f} up, {audit_down / 1e6:.2f} down), {audit_requests:.0f} requests, "
          f"{audit_seconds:.1f} s at 750 kbit/s up / 2 Mbit/s down / 300 ms per request "
          f"(goal ≤ {GOAL_BYTES / 1e6:.0f} MB, ≤ {GOAL_SECONDS:.0f} s)")
    print(f"  if every photo splits a burst: {(audit_up + audit_down + split) / 1e6:.2f} MB, "
          f"{audit_requests + AUDIT_PHOTOS:.0f} requests, {worst_seconds:.1f} s")
    print("per-request overhead of an answer save (bytes per header line):")
    for side, raw in (("request", last.raw_header_up), ("response", last.raw_header_down)):
        lines = header_lines(raw)
        print(f"  {side}: {sum(n for _h, n in lines) + 2} bytes: " + ", ".join(f"{h} {n}" for h, n in lines))
    # What was cut of it (issue 26): the session cookie sent back with every answer (Flask refreshed it
    # each request, and the last-activity stamp moved every second), and the Referer of API calls.
    sent_back = sum(1 for e in saves if re.search(rb"\r\nSet-Cookie: session=", e.raw_header_down, re.I))
    with_referer = sum(1 for e in saves if re.search(rb"\r\nReferer:", e.raw_header_up, re.I))
    print(f"  cut: answer saves answered with the session cookie: {sent_back}/{len(saves)}; "
          f"sent with a Referer: {with_referer}/{len(saves)} (both were {len(saves)}/{len(saves)} before)")
    long_csp = sum(1 for e in saves if b"script-src" in e.raw_header_down)
    print(f"  cut: answer saves answered with the pages' long Content-Security-Policy (~250 bytes): "
          f"{long_csp}/{len(saves)} (JSON gets \"default-src 'none'; frame-ancestors 'none'\")")
    figures = {"answer_up": answer_up, "answer_down": answer_down, "photo_up": photo_up, "photo_down": photo_down,
               "audit_bytes": audit_up + audit_down, "audit_seconds": audit_seconds,
               "save_header_up": save_header_up, "save_header_down": save_header_down,
               "audit_requests": audit_requests, "worst_seconds": worst_seconds,
               "sent_sizes": sorted(set(got["sent_sizes"]))}
    if args.json:
        print(json.dumps(figures))
    ok = audit_up + audit_down <= GOAL_BYTES and audit_seconds <= GOAL_SECONDS
    print("goal met" if ok else "goal missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
