"""Every page held to the web's own checkers, for every role, at both sizes.

One walk (the `walk` fixture, once per run) logs in as each role (admin, reviewer, consultant,
principal, staff, clinic head, and an anonymous visitor) on a live app with real data: drafts,
submitted rounds, a reopened audit, self-assessments, photos, corrective actions, a checklist
upload. It visits every GET page of the URL map with real ids (a page the role may not open is
skipped), in Vietnamese, at 800×1280 and 1280×800, and on each page runs in one evaluate:
axe-core (axe-playwright-python ships it), the sideways-scrolling check and the scroll regions of
wide tables; at the first size it also reads the page's text for English msgids left
untranslated. The served HTML of every page goes, once, through the Nu Html Checker (vnu.jar).

The tests below then judge what the walk found; the moderate axe findings are printed (-s).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from babel.messages.pofile import read_po
from werkzeug.serving import make_server

from fivs import create_app
from fivs.extensions import db
from fivs.sites.pilot import DEMO_PASSWORD
from tests.browser.conftest import DEMO_ROUNDS, VIEWPORTS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "fivs" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
PHOTO = ROOT.parent / "shared" / "testdata" / "photos" / "orientation" / "Landscape_1.jpg"
# FIVS_SCREENSHOTS=DIR: the walk also keeps a full-page screenshot of every page it opens (DIR/<size>/<role>/).
SCREENSHOTS = Path(os.environ["FIVS_SCREENSHOTS"]) if os.environ.get("FIVS_SCREENSHOTS") else None
ROLES = ("anonymous", "admin", "reviewer", "consultant", "principal", "staff", "clinichead")
BLOCKING = ("serious", "critical")
# GET routes that are not pages (files, JSON, redirects): the walk does not open them.
NOT_PAGES = {"static", "offline.service_worker", "main.healthz", "main.set_language",
             "checklists.download_xlsx", "checklists.download_yaml", "photos.image"}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


# ---------------------------------------------------------------- the world
@dataclass
class World:
    """Real ids the walk fills the URL map's rules with: several values where pages differ by state."""
    values: dict[str, list] = field(default_factory=dict)
    zone_urls: list[str] = field(default_factory=list)  # /audits/<uuid>/zones/<code>[?room=], per audit
    submit_urls: list[str] = field(default_factory=list)  # /audits/<uuid>/submit of the audits not submitted


def _level(value: int) -> int:
    return min(4, max(0, value))


def _rater_pairs(rounds, consultant, staff, reviewer, answer_all, make_audit, make_user, start_calibration,
                 get_site_by_code) -> None:
    """Self-assessments beside both rounds of two schools (staff over-rate at baseline, nearly agree at
    final) and a submitted second rater of TH-SONDONG's final, so that every agreement table of the site
    and programme pages (pairs, pooled rounds, second raters, drift) is filled, kappa included."""
    for code in ("TH-SONDONG", "TH-HIEPHOA"):
        site = get_site_by_code(code)
        rater = staff if code == "TH-SONDONG" else make_user("staff", site=site, full_name="Cô Nguyễn Thị Hoa")
        for phase, lift in (("baseline", 1), ("final", 0)):
            main = rounds[code, phase]
            own = make_audit(site, rater, phase=phase, status="submitted", audit_date=main.audit_date)
            scores = {a.item_id: a.score for a in main.answers}  # one room per zone: one answer per item
            answer_all(own, lambda item, up=lift: _level(scores[item.id] + up + (item.position % 4 == 0)))
    site = get_site_by_code("TH-SONDONG")
    second = make_user("consultant", site=site, full_name="Trần Thị Bình")
    main = rounds["TH-SONDONG", "final"]
    calibration = start_calibration(reviewer, main, second)
    scores = {a.item_id: a.score for a in main.answers}
    answer_all(calibration, lambda item: _level(scores[item.id] - (item.position % 3 == 0)))
    calibration.status = "submitted"
    rounds["TH-SONDONG", "calibration"] = calibration


def _seed(app) -> World:
    from fivs.actions.services import mark_done, raise_action
    from fivs.audits.services import add_room, reopen_audit, save_answers, start_audit, start_calibration, submit_audit
    from fivs.auth.services import find_user, get_site_by_code
    from fivs.checklists.content import template_content
    from fivs.checklists.models import ChecklistUpload
    from fivs.checklists.xlsx import write_workbook
    from fivs.commands import _demo_users, _load_checklists
    from fivs.photos.services import attach_photo
    from fivs.calendar.services import seed_pilot_calendar, windows
    from fivs.sites.services import seed_pilot_sites
    from tests.factories import answer_all, make_audit, make_user, template_for

    _load_checklists(app.config["CHECKLISTS_DIR"])
    seed_pilot_sites()
    seed_pilot_calendar()
    _demo_users()
    consultant, staff, admin = find_user("consultant"), find_user("staff"), find_user("admin")
    rounds = {}
    for code, before, after in DEMO_ROUNDS:
        site = get_site_by_code(code)
        for phase, score, day in (("baseline", before, date(2023, 3, 1)), ("final", after, date(2024, 4, 1))):
            audit = make_audit(site, consultant, phase=phase, status="submitted", audit_date=day)
            answer_all(audit, lambda item, s=score: _level(s + item.position % 3 - 1))  # varied: kappa shows
            rounds[code, phase] = audit
    _rater_pairs(rounds, consultant, staff, find_user("reviewer"), answer_all, make_audit, make_user,
                 start_calibration, get_site_by_code)
    site = get_site_by_code("TH-SONDONG")
    jpeg = PHOTO.read_bytes()

    def draft(user, kind, phase, day, *, scored=True):
        audit, _ = start_audit(user, site, phase, day, kind=kind, audit_uuid=uuid.uuid4())
        zone = next(z for z in audit.template.zones if not z.repeats)
        classroom = next(z for z in audit.template.zones if z.repeats)
        add_room(audit, classroom, "Lớp 3A", user)
        if scored:
            entries = [{"item": i.code, "score": n % 5, "note": "Tủ hồ sơ còn bụi, cần dán nhãn." if n == 0 else ""}
                       for n, i in enumerate(zone.items)]
            save_answers(audit, user, entries, row_version=audit.row_version)
            attach_photo(audit, user, jpeg, photo_uuid=uuid.uuid4(), item_code=zone.items[0].code)
        return audit

    periodic = draft(consultant, "consultant", "periodic", date(2023, 8, 15))
    selfcheck = draft(staff, "self", "periodic", date(2023, 8, 20))
    reopened = make_audit(site, consultant, phase="periodic", audit_date=date(2023, 9, 1))
    answer_all(reopened, 2)
    submit_audit(reopened, consultant)
    reopen_audit(reopened, find_user("reviewer"), "Chấm lại khu vệ sinh")
    zone = next(z for z in periodic.template.zones if not z.repeats)
    open_action, _ = raise_action(consultant, site, title="Dán nhãn tủ hồ sơ", responsible="Cô Lan",
                                  due_date=date(2023, 9, 30), priority="high", audit=periodic,
                                  item_code=zone.items[0].code)
    done_action, _ = raise_action(consultant, site, title="Dọn kho thiết bị", responsible="Thầy Minh",
                                  due_date=date(2023, 10, 15), priority="medium")
    mark_done(done_action, staff, "Đã dọn và xếp lại kho.", photos=[jpeg])
    content = template_content(template_for("school"))
    content.zones[0]["items"][0]["text"]["en"] += " (revised)"
    data = write_workbook(content)
    upload = ChecklistUpload(key="school-5s", filename="school-5s-sửa.xlsx", size=len(data), xlsx=data,
                             sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=admin.id)
    db.session.add(upload)
    db.session.flush()
    audits = [periodic, selfcheck, reopened, rounds["TH-SONDONG", "final"], rounds["PK-01", "final"],
              rounds["TH-SONDONG", "calibration"]]
    world = World(values={
        "code": ["TH-SONDONG", "PK-01"], "audit_uuid": [a.uuid for a in audits],
        "action_uuid": [open_action.uuid, done_action.uuid], "site_id": [site.id], "user_id": [consultant.id],
        "key": ["school-5s"], "version": [1], "upload_id": [upload.id],
        "zone_code": [content.zones[0]["code"]], "window_id": [windows()[0].id]})
    for audit in audits:  # each audit's first zone; a room of a repeated zone on the drafts
        zones = [z for z in audit.template.zones if not z.repeats][:1]
        if audit.status != "submitted":
            zones += [z for z in audit.template.zones if z.repeats][:1]
            world.submit_urls.append(f"/audits/{audit.uuid}/submit")  # a submitted one has no such step
        for zone in zones:
            rooms = [r.name for r in audit.rooms if r.zone_id == zone.id]
            if rooms:
                world.zone_urls.append(f"/audits/{audit.uuid}/zones/{zone.code}"
                                       + (f"?room={quote(rooms[0])}" if rooms[0] else ""))
    db.session.commit()
    return world


def page_urls(app, world: World) -> dict[str, str]:
    """Every GET page of the URL map, with real ids (several where pages differ by state): url -> endpoint."""
    urls = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.rule.startswith("/api/"):
            continue
        if rule.endpoint == "audits.zone":
            urls.update(dict.fromkeys(world.zone_urls, rule.endpoint))
            continue
        if rule.endpoint == "audits.confirm_submit":
            urls.update(dict.fromkeys(world.submit_urls, rule.endpoint))
            continue
        missing = set(rule.arguments) - world.values.keys()
        assert not missing, f"no value for {sorted(missing)} in {rule.rule}: add it to World in {__file__}"
        variants = [{}]
        for name in sorted(rule.arguments):
            variants = [{**v, name: value} for v in variants for value in world.values[name]]
        urls.update(dict.fromkeys((_ARGUMENT.sub(lambda m: str(v[m.group(1)]), rule.rule) for v in variants),
                                  rule.endpoint))
    # pages in another state: a filtered event log and the page of an error
    return {**urls, "/admin/events/?action=audit.submit": "events.index", "/sites/NO-SUCH-SITE": "errors"}


# ---------------------------------------------------------------- one evaluate per page and size
CHECK_PAGE = """async ([withAxe, withText]) => {
  const axeResult = withAxe ? await axe.run(document, {resultTypes: ["violations"]}) : {violations: []};
  const violations = axeResult.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
  const root = document.documentElement;
  const named = el => {
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    const text = ids.map(id => (document.getElementById(id) || {}).textContent || "").join(" ").trim();
    return text || (el.getAttribute("aria-label") || "").trim();
  };
  const regions = [];
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    const scrolls = (style.overflowX === "auto" || style.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1;
    if (scrolls || el.classList.contains("table-scroll")) {
      regions.push({html: el.outerHTML.slice(0, 100), scrolls: scrolls,
                    focusable: el.hasAttribute("tabindex") && el.tabIndex >= 0,
                    role: el.getAttribute("role"), name: named(el)});
    }
  }
  let texts = null;
  if (withText) {
    texts = [document.title];
    const skip = "script, style, noscript, code, [lang]:not(html)";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const t = node.nodeValue.replace(/\\s+/g, " ").trim();
      const parent = node.parentElement;
      if (t && !(parent && parent.closest(skip) && parent.closest(skip) !== root)) texts.push(t);
    }
    for (const el of document.querySelectorAll("*")) {
      if (el.closest("[lang]:not(html)")) continue;
      for (const a of el.attributes) {
        if (/^(aria-label|title|placeholder|alt|data-.*)$/.test(a.name) || (a.name === "value" &&
            /^(submit|button)$/.test(el.getAttribute("type") || ""))) texts.push(a.value.replace(/\\s+/g, " ").trim());
      }
    }
  }
  return {violations: violations, scrollWidth: root.scrollWidth, innerWidth: window.innerWidth,
          regions: regions, texts: texts};
}"""


@dataclass
class Visit:
    role: str
    url: str
    viewport: str
    axe: bool  # whether axe ran on this visit (see _walk_role)
    violations: list
    overflow: tuple[int, int] | None  # (scrollWidth, innerWidth) when the page scrolls sideways
    bad_regions: list


@dataclass
class Walk:
    visits: list[Visit] = field(default_factory=list)
    opened: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # role -> urls
    skipped: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    untranslated: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # url -> msgids
    html: dict[str, str] = field(default_factory=dict)  # sha256 -> the page as served
    urls: list[str] = field(default_factory=list)  # what the walk tried
    endpoints: dict[str, str] = field(default_factory=dict)  # url -> its endpoint (its page template)
    seconds: float = 0.0
    axe_seconds: float = 0.0


def _untranslated_finder():
    """A function(texts) -> the English msgids of the catalogue shown as they are (untranslated)."""
    with PO.open("rb") as fh:
        catalogue = [m for m in read_po(fh, locale="vi") if m.id]
    exact, long_parts = set(), []
    for m in catalogue:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:
            if msgid in strings:
                continue  # the same in both languages (n, W+, 5S...)
            parts = [p.strip(" .:,;()") for p in re.split(r"%\(\w+\)[sd]|%[sd]", msgid.replace("%%", "%"))]
            if len(parts) == 1:
                exact.add(parts[0])
            longest = max(parts, key=len)
            if len(longest) >= 16 and longest.count(" ") >= 2:
                long_parts.append((longest, msgid))

    def find(texts: list[str]) -> set[str]:
        found = {t for t in texts if t.strip(" .:,;()") in exact}
        joined = "\n".join(texts)
        return found | {msgid for part, msgid in long_parts if part in joined}
    return find


def _log_in(page, role: str) -> None:
    page.goto("/auth/login")
    page.locator("#username").fill(role)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))


def _walk_role(browser, base_url: str, role: str, urls: list[str], walk: Walk, find_untranslated) -> None:
    """Both sizes, one context each. At 800×1280 (the tablet) axe runs on every page; at 1280×800 on
    one page of each endpoint (its template: the same markup and colours in another state), while
    the sideways-scrolling and scroll-region checks run on every page at both sizes (they are what
    the width changes). The text is read once, at the first size."""
    for n, (viewport, size) in enumerate(VIEWPORTS.items()):
        axed: set[str] = set()
        context = browser.new_context(base_url=base_url, viewport=size, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        if role != "anonymous":
            _log_in(page, role)
        for url in urls:
            if n and url not in walk.opened[role]:
                continue  # the second size opens what the first could
            response = page.goto(url)
            error_page = url == "/sites/NO-SUCH-SITE"
            status_ok = response.status == (404 if error_page else 200)
            same_page = unquote(page.url.split("#")[0]) == unquote(base_url + url)
            if not (status_ok and same_page and "text/html" in response.headers.get("content-type", "")):
                walk.skipped[role].add(url)
                continue
            walk.opened[role].add(url)
            if SCREENSHOTS:
                page.screenshot(path=SCREENSHOTS / viewport / role / (quote(url, safe="") + ".png"), full_page=True)
            endpoint = walk.endpoints.get(url, url)
            with_axe = n == 0 or endpoint not in axed
            axed.add(endpoint)
            started = time.monotonic()
            if with_axe:
                page.evaluate(AXE_SCRIPT)  # only into the pages it runs on
            result = page.evaluate(CHECK_PAGE, [with_axe, n == 0])
            walk.axe_seconds += time.monotonic() - started
            if n == 0:
                html = response.text()
                walk.html[hashlib.sha256(html.encode()).hexdigest()] = html
                walk.untranslated[f"{role} {url}"] |= find_untranslated(result["texts"])
            overflow = ((result["scrollWidth"], result["innerWidth"])
                        if result["scrollWidth"] > result["innerWidth"] else None)
            bad = [r for r in result["regions"] if not (r["focusable"] and r["role"] == "region" and r["name"])]
            walk.visits.append(Visit(role, url, viewport, with_axe, result["violations"], overflow, bad))
        context.close()


@pytest.fixture(scope="module")
def walk(tmp_path_factory, browser):
    """Every role over every page, in the session's one Chromium (a second Playwright would meet the first's loop)."""
    base = tmp_path_factory.mktemp("checkers")
    app = create_app({"SECRET_KEY": "checkers-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'fivs.sqlite3'}",
                      "MEDIA_ROOT": str(base / "media"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        world = _seed(app)
        result = Walk(endpoints=page_urls(app, world))
        urls = list(result.endpoints)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    result.urls = urls
    started = time.monotonic()
    find_untranslated = _untranslated_finder()
    try:
        for role in ROLES:
            _walk_role(browser, f"http://127.0.0.1:{server.server_port}", role, urls, result, find_untranslated)
    finally:
        server.shutdown()
        thread.join(5)
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------- what the walk found
def test_every_role_opened_the_pages_it_may_see(walk):
    opened = {role: len(urls) for role, urls in walk.opened.items()}
    print(f"\npage checkers: {sum(opened.values())} pages opened per size {opened}, "
          f"{len(walk.visits)} page checks ({sum(v.axe for v in walk.visits)} with axe), {len(walk.html)} distinct "
          f"pages, {walk.seconds:.0f} s (evaluate {walk.axe_seconds:.0f} s)")
    assert walk.opened["admin"] >= set(walk.urls) - {"/auth/login"}, "an admin opens every page"
    for role in ROLES:
        assert len(walk.opened[role]) >= (1 if role == "anonymous" else 12), (role, sorted(walk.opened[role]))
    assert "/programme" in walk.opened["reviewer"] and "/programme" in walk.skipped["consultant"]


def test_no_serious_or_critical_accessibility_violation(walk):
    """axe-core on every page, both sizes; moderate and minor findings are listed, not failed."""
    blocking, moderate = [], defaultdict(set)
    for v in walk.visits:
        for violation in v.violations:
            if violation["impact"] in BLOCKING:
                blocking.append(f"{v.role} {v.url} {v.viewport}: {violation['id']} ({violation['impact']}, "
                                f"{violation['nodes']} nodes: {violation['targets']}) {violation['help']}")
            else:
                moderate[f"{violation['id']} ({violation['impact']})"].add(v.url)
    print("\naxe findings below serious:", {k: sorted(urls) for k, urls in moderate.items()} or "none")
    assert not blocking, "\n".join(blocking[:30])


def test_no_page_scrolls_sideways(walk):
    wide = [f"{v.role} {v.url} {v.viewport}: scrollWidth {v.overflow[0]} > {v.overflow[1]}"
            for v in walk.visits if v.overflow]
    assert not wide, "\n".join(wide[:30])


def test_wide_tables_scroll_in_a_focusable_labelled_region(walk):
    bad = [f"{v.role} {v.url} {v.viewport}: {r}" for v in walk.visits for r in v.bad_regions]
    assert not bad, "\n".join(bad[:20])


def test_vietnamese_pages_show_no_english_text_from_the_catalogue(walk):
    found = {page: sorted(ids) for page, ids in walk.untranslated.items() if ids}
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)[:4000]


def test_every_page_is_valid_html(walk, tmp_path):
    """The Nu Html Checker, once over the served HTML of every distinct page: no error."""
    assert VNU.is_file(), "vnu.jar missing: `make vnu` (npm ci) installs it"
    for digest, html in walk.html.items():
        (tmp_path / f"{digest}.html").write_text(html, encoding="utf-8")
    out = subprocess.run(["java", "-jar", str(VNU), "--format", "json", "--exit-zero-always", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    messages = json.loads(out.stderr or out.stdout)["messages"]
    errors = [m for m in messages if m["type"] == "error" or m.get("subType") == "fatal"]
    pages = {Path(m["url"]).stem: m for m in errors}
    print(f"\nNu Html Checker: {len(walk.html)} pages, {len(errors)} errors, "
          f"{sum(1 for m in messages if m.get('subType') == 'warning')} warnings")
    assert not errors, "\n".join(f"{m['message']} | {m.get('extract', '')!r} | "
                                 f"{_first_line(walk.html[Path(m['url']).stem])}" for m in errors[:20]) + \
        f"\n({len(pages)} pages)"


def _first_line(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    return match.group(1).strip() if match else ""
