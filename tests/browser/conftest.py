"""Browser tests: a real fivs server in a thread and Debian's Chromium driven by Playwright.

The server runs on 127.0.0.1 (a free port) over a temporary SQLite database (create_all, the
shipped checklists, the pilot sites, the demo accounts and a few submitted audits) and a temporary
media root. Every page of every test records its requests and console errors (see `watch`).
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from flask import request
from flask_babel import force_locale, gettext
from werkzeug.serving import make_server

from fivs import create_app
from fivs.extensions import db
from fivs.sites.pilot import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {"portrait": {"width": 800, "height": 1280}, "landscape": {"width": 1280, "height": 800}}
# Two submitted consultant rounds per site: (site code, baseline score, final score).
DEMO_ROUNDS = (("TH-SONDONG", 2, 3), ("TH-HIEPHOA", 1, 3), ("TH-YENTHE", 2, 4), ("TH-BACGIANG", 3, 3),
               ("PK-01", 1, 2), ("PK-02", 2, 3))


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    app = create_app({"SECRET_KEY": "browser-test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'fivs.sqlite3'}",
                      "MEDIA_ROOT": str(base / "media"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        _seed(app)
    app.served = []  # the path of every request the server answered, to prove what came from the cache
    app.uploads = []  # the bytes of every uploaded photo as they arrived
    app.before_request(lambda: _record(app))
    return app


def _record(app) -> None:
    app.served.append(request.path)
    upload = request.files.get("file") if request.method == "POST" else None
    if upload:
        app.uploads.append(upload.read())
        upload.seek(0)


def _seed(app) -> None:
    from fivs.commands import _demo_users, _load_checklists
    from fivs.sites.services import seed_pilot_sites
    from fivs.auth.services import find_user, get_site_by_code
    from tests.factories import answer_all, make_audit

    _load_checklists(app.config["CHECKLISTS_DIR"])
    seed_pilot_sites()
    _demo_users()
    consultant = find_user("consultant")
    for code, before, after in DEMO_ROUNDS:
        site = get_site_by_code(code)
        for phase, score, day in (("baseline", before, date(2023, 3, 1)), ("final", after, date(2024, 4, 1))):
            answer_all(make_audit(site, consultant, phase=phase, status="submitted", audit_date=day), score)
    db.session.commit()


@pytest.fixture(scope="session")
def base_url(live_app):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test output
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def T(live_app):
    """The Vietnamese text of an English msgid, as the pages show it."""
    def _t(msgid: str, **kw) -> str:
        with live_app.test_request_context(), force_locale("vi"):
            return gettext(msgid, **kw)
    return _t


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watch:
    """Requests and console errors of every page of a context."""
    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    offline: bool = False  # while True, the browser's own "no connection" errors are expected
    refused: set[tuple[str, int]] = field(default_factory=set)  # (url, status) a test asks for on purpose

    def on_request(self, request) -> None:
        if not re.match(re.escape(self.origin) + r"(/|$)", request.url) and not request.url.startswith(
                ("data:", "blob:")):
            self.foreign.append(request.url)

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        if self.offline and "net::ERR_INTERNET_DISCONNECTED" in message.text:
            return
        if any(message.location.get("url") == url and f"status of {status} " in message.text
               for url, status in self.refused):
            return
        self.errors.append(f"{message.text} @ {message.location.get('url')}")

    def on_page(self, page) -> None:
        page.on("request", self.on_request)
        page.on("console", self.on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def watch(base_url):
    return Watch(base_url)


@pytest.fixture
def context(browser, base_url, viewport, watch):
    context = browser.new_context(base_url=base_url, viewport=VIEWPORTS[viewport], locale="vi-VN",
                                  accept_downloads=True)
    context.on("page", watch.on_page)
    context.on("request", watch.on_request)  # also the service worker's own fetches
    yield context
    context.close()
    assert watch.foreign == [], "requests left the app's origin"
    assert watch.errors == [], "console errors"


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def shot(viewport, request):
    """shot(page, "step") saves artifacts/screenshots/<test>-<viewport>-<nn>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.originalname
    counter = iter(range(1, 100))

    def _shot(page, step: str) -> Path:
        path = SCREENSHOTS / f"{name}-{viewport}-{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=False)
        return path
    return _shot


@pytest.fixture
def log_in(page, T):
    def _log_in(username: str):
        page.goto("/auth/login")
        page.get_by_label(T("Username")).fill(username)
        page.get_by_label(T("Password")).fill(DEMO_PASSWORD)
        page.get_by_role("button", name=T("Log in")).click()
        page.wait_for_url(re.compile(r"/(\?.*)?$"))
    return _log_in
