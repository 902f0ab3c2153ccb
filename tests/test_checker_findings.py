"""What third-party checkers (axe-core, the Nu Html Checker, schemathesis) found, one test each: the
Allow header of a 405, C1 control characters, autocomplete="None", the "fair" colour's contrast,
scroll regions, landmark labels, ARIA on a span, <time> precision, implausible dates, deleted photo
ids coming back, valid tokens locked out behind a shared address, programme statistics that cannot
mean anything, and the checklist scale numbered twice.

Pages answer in Vietnamese (the default language), so messages are asserted in Vietnamese.
"""
from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fivs.actions.models import CorrectiveAction
from fivs.audits.models import Audit
from fivs.comparisons.services import programme_stats
from fivs.photos.models import DeletedPhoto, Photo
from fivs.scoring import SitePair
from fivs.sites.models import Site
from fivs.timeutil import local_today
from tests.api_support import api, token_for  # noqa: F401  (fixture)
from tests.factories import answer_all, make_audit, make_site, make_user
from tests.scoring_support import one_per_s
from tests.state import database_state, media_state

ROOT = Path(__file__).resolve().parents[1]
CSS = ROOT / "fivs" / "static" / "css" / "app.css"


class Tags(HTMLParser):
    """Start tags of a page: (tag, attributes) in document order."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    @property
    def ids(self) -> set[str]:
        return {a["id"] for _t, a in self.tags if "id" in a}


@pytest.fixture
def school(db):
    site = make_site(code="TH-CHECK")
    consultant = make_user("consultant", site=site)
    db.session.commit()
    return site, consultant


# ---------------------------------------------------------------- 405: the Allow header
def test_a_405_names_the_allowed_methods_on_pages_and_in_the_api(client, api):
    page = client.delete("/auth/login")
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert set(page.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    resp = api.delete("/sites")
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]


# ---------------------------------------------------------------- C1 control characters
@pytest.mark.parametrize("c1", ["\x80", "\x85", "\x9b", "\x9f"])
def test_c1_control_characters_are_refused_like_c0_ones(api, db, school, c1):
    """A title of control characters only is empty: 422, nothing saved; mixed in text, they go."""
    site, consultant = school
    api.login(consultant).get("/sites")  # the token's once-a-minute "last used" is written first
    before = database_state(db)
    refused = api.post(f"/sites/{site.code}/actions", json={
        "id": str(uuid.uuid4()), "title": c1 * 3, "due_date": local_today().isoformat()})
    assert refused.status_code == 422, refused.get_json()
    assert database_state(db) == before
    saved = api.post(f"/sites/{site.code}/actions", json={
        "id": str(uuid.uuid4()), "title": f"Dán{c1} nhãn tủ", "due_date": local_today().isoformat()})
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["title"] == "Dán nhãn tủ"


def test_a_site_name_of_c1_characters_only_is_refused(client, login_as, db):
    login_as("admin")
    before = database_state(db)
    resp = client.form_post("/admin/sites/new", {"code": "TH-C1", "name": "\x85\x9b\x80", "kind": "school"})
    assert resp.status_code == 422
    assert database_state(db) == before


def test_a_room_name_with_a_c1_character_is_refused(api, db, school):
    site, consultant = school
    audit = make_audit(site, consultant)
    db.session.commit()
    api.login(consultant)
    item = next(z for z in audit.template.zones if z.repeats).items[0].code
    resp = api.put(f"/audits/{audit.uuid}/answers", json={"row_version": audit.row_version, "answers": [
        {"item": item, "zone_instance": "Lớp\x9b 1A", "score": 2}]})
    assert resp.status_code == 422


# ---------------------------------------------------------------- autocomplete="None"
def test_no_field_is_drawn_with_autocomplete_none(client, login_as):
    login_as("admin")
    for url in ("/admin/users/new", "/admin/sites/new", "/auth/password", "/admin/events/"):
        html = client.get(url).get_data(as_text=True)
        assert 'autocomplete="None"' not in html, url
    assert 'autocomplete="new-password"' in client.get("/auth/password").get_data(as_text=True)


# ---------------------------------------------------------------- colour contrast
def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("band", ["poor", "fair", "good", "excellent"])
def test_band_colours_are_readable_text_on_white_and_on_the_page(band):
    """WCAG AA for normal text (4.5:1): "Trung bình" and "Đang thực hiện" are written in --fair."""
    colour = re.search(rf"--{band}:(#[0-9a-fA-F]{{6}})", CSS.read_text()).group(1)
    assert contrast(colour, "#ffffff") >= 4.5, colour
    assert contrast(colour, "#f5f7f9") >= 4.5, colour  # the page's background


# ---------------------------------------------------------------- scroll regions, landmarks, ARIA, <time>
def _scroll_regions_are_focusable_and_labelled(html: str) -> list[dict]:
    tags = Tags(html)
    regions = [a for t, a in tags.tags if "table-scroll" in (a.get("class") or "").split()]
    for region in regions:
        assert region.get("role") == "region" and region.get("tabindex") == "0", region
        assert region.get("aria-labelledby") in tags.ids, region
    return regions


def test_the_programme_pages_wide_tables_scroll_in_focusable_labelled_regions(client, login_as, db):
    site = make_site()
    consultant = make_user("consultant", site=site)
    for phase in ("baseline", "final"):
        answer_all(make_audit(site, consultant, phase=phase, status="submitted"), 2 if phase == "baseline" else 3)
    db.session.commit()
    login_as("reviewer")
    regions = _scroll_regions_are_focusable_and_labelled(client.get("/programme").get_data(as_text=True))
    # statistics of all sites and of the schools (no clinic: no table); coverage; actions; rater agreement: the
    # baseline and final pairs, the second raters and each consultant's drift (a reviewer sees those two)
    assert len(regions) == 8


def test_every_landmark_of_the_zone_page_has_its_own_label(client, db, login_as):
    site = make_site()
    consultant = login_as("consultant", site=site)
    audit = make_audit(site, consultant)
    db.session.commit()
    zone = next(z for z in audit.template.zones if not z.repeats)
    tags = Tags(client.get(f"/audits/{audit.uuid}/zones/{zone.code}").get_data(as_text=True))
    labels = [a.get("aria-label") for a in tags.find("nav")]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_the_language_switch_is_a_labelled_group_not_a_span_with_aria(client):
    tags = Tags(client.get("/auth/login").get_data(as_text=True))
    assert not [a for a in tags.find("span") if "aria-label" in a]
    assert [a for t, a in tags.tags if a.get("class") == "langs" and a.get("role") == "group" and a.get("aria-label")]


def test_event_times_carry_no_more_than_seconds(client, login_as):
    login_as("admin")  # the login itself is an event
    times = Tags(client.get("/admin/events/").get_data(as_text=True)).find("time")
    assert times
    for t in times:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", t["datetime"]), t


def test_the_checklist_scale_numbers_each_level_once(client, login_as):
    login_as("consultant")
    html = client.get("/checklists/school-5s/1").get_data(as_text=True)
    assert '<ol start="0" class="scale">' not in html and '<ul class="scale">' in html
    assert re.search(r"<li><strong>0</strong> — ", html)


# ---------------------------------------------------------------- implausible dates
@pytest.mark.parametrize("day", ["0001-01-01", "0078-05-01", "2019-12-31", "far ahead"])
def test_an_audit_dated_outside_the_window_is_refused(api, db, school, day):
    site, consultant = school
    day = (local_today() + timedelta(days=367)).isoformat() if day == "far ahead" else day
    api.login(consultant).get("/sites")  # the token's once-a-minute "last used" is written first
    before = database_state(db)
    resp = api.post("/audits", json={"id": str(uuid.uuid4()), "site": site.code, "phase": "baseline", "date": day})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["details"][0]["field"] == "date"
    assert "Ngày phải trong khoảng từ 2020-01-01 đến" in resp.get_json()["error"]["message"]
    assert database_state(db) == before


def test_the_window_includes_its_ends(api, db, school):
    site, consultant = school
    api.login(consultant)
    # one live consultant audit per site and round: the two ends go to two rounds
    for day, phase in ((date(2020, 1, 1), "baseline"), (local_today() + timedelta(days=366), "final")):
        resp = api.post("/audits", json={"id": str(uuid.uuid4()), "site": site.code, "phase": phase,
                                         "date": day.isoformat()})
        assert resp.status_code == 201, resp.get_json()


def test_the_audit_form_refuses_a_date_outside_the_window_at_the_field(client, login_as, db):
    site = make_site()
    login_as("consultant", site=site)
    resp = client.form_post("/audits/new", {"site": site.code, "phase": "baseline", "audit_date": "0001-01-01",
                                            "client_uuid": str(uuid.uuid4())})
    assert resp.status_code == 422
    assert 'id="audit_date-err"' in resp.get_data(as_text=True)
    assert "Ngày phải trong khoảng từ 2020-01-01" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 0


@pytest.mark.parametrize("way", ["api", "form", "edit"])
def test_an_action_due_outside_the_window_is_refused(client, api, db, school, way):
    site, consultant = school
    if way == "api":
        api.login(consultant)
        resp = api.post(f"/sites/{site.code}/actions", json={"id": str(uuid.uuid4()), "title": "Dán nhãn tủ",
                                                             "due_date": "0078-05-01"})
        assert resp.status_code == 422 and resp.get_json()["error"]["details"][0]["field"] == "due_date"
        assert db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0
        return
    from tests.conftest import login
    login(client, consultant.username)
    if way == "form":
        resp = client.form_post(f"/sites/{site.code}/actions/new", {
            "title": "Dán nhãn tủ", "due_date": "0078-05-01", "priority": "medium", "client_uuid": str(uuid.uuid4())})
        assert db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0
    else:
        api.login(consultant)
        created = api.post(f"/sites/{site.code}/actions", json={"id": str(uuid.uuid4()), "title": "Dán nhãn",
                                                                "due_date": local_today().isoformat()}).get_json()
        resp = client.form_post(f"/actions/{created['id']}/edit", {
            "title": "Dán nhãn", "due_date": "0078-05-01", "priority": "medium", "row_version": "1"})
        assert db.session.scalar(select(CorrectiveAction.due_date)) == local_today()
    assert resp.status_code == 422
    assert "Ngày phải trong khoảng từ 2020-01-01" in resp.get_data(as_text=True)


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"EARLIEST_DATE": date(2015, 1, 1), "LATEST_DAYS_AHEAD": 10}],
                         indirect=True)
def test_the_window_is_configurable(api, db, school, app_config):
    site, consultant = school
    api.login(consultant)
    ok = api.post("/audits", json={"id": str(uuid.uuid4()), "site": site.code, "phase": "baseline",
                                   "date": "2016-03-01"})
    assert ok.status_code == 201
    late = api.post("/audits", json={"id": str(uuid.uuid4()), "site": site.code, "phase": "final",
                                     "date": (local_today() + timedelta(days=11)).isoformat()})
    assert late.status_code == 422


# ---------------------------------------------------------------- a deleted photo stays deleted
def _upload(api, audit, photo_id: str, jpeg: bytes):
    return api.post(f"/audits/{audit.uuid}/photos", data={"id": photo_id, "file": (io.BytesIO(jpeg), "anh.jpg")},
                    content_type="multipart/form-data")


def test_a_replayed_upload_of_a_deleted_photo_is_410_and_stores_nothing(api, db, school, photos_dir, media_root):
    site, consultant = school
    audit = make_audit(site, consultant)
    db.session.commit()
    jpeg = (photos_dir / "orientation" / "Landscape_1.jpg").read_bytes()
    api.login(consultant)
    photo_id = str(uuid.uuid4())
    assert _upload(api, audit, photo_id, jpeg).status_code == 201
    colleague = make_user("consultant", assigned=[site])
    db.session.commit()
    assert api.delete(f"/photos/{photo_id}", token=token_for(colleague)).status_code == 204
    before = database_state(db), media_state(media_root)
    replay = _upload(api, audit, photo_id, jpeg)  # the tablet's offline retry
    assert replay.status_code == 410, replay.get_json()
    assert replay.get_json()["error"]["code"] == "photo_deleted"
    assert (database_state(db), media_state(media_root)) == before
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0
    assert db.session.get(DeletedPhoto, uuid.UUID(photo_id)).deleted_by_id == colleague.id


def test_a_deleted_action_photo_id_stays_deleted_too(api, db, school, photos_dir):
    site, consultant = school
    db.session.commit()
    api.login(consultant)
    action = api.post(f"/sites/{site.code}/actions", json={"id": str(uuid.uuid4()), "title": "Dọn kho",
                                                            "due_date": local_today().isoformat()}).get_json()
    jpeg = (photos_dir / "orientation" / "Landscape_1.jpg").read_bytes()
    photo_id = str(uuid.uuid4())
    form = lambda: {"id": photo_id, "file": (io.BytesIO(jpeg), "anh.jpg")}  # noqa: E731
    url = f"/actions/{action['id']}/photos"
    assert api.post(url, data=form(), content_type="multipart/form-data").status_code == 201
    assert api.delete(f"/photos/{photo_id}").status_code == 204
    again = api.post(url, data=form(), content_type="multipart/form-data")
    assert again.status_code == 410 and again.get_json()["error"]["code"] == "photo_deleted"
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


# ---------------------------------------------------------------- API tokens behind a shared address
def test_a_misconfigured_tablet_does_not_lock_out_the_others_behind_the_same_nat(api, db, school):
    site, consultant = school
    good = token_for(consultant)
    school_nat = {"REMOTE_ADDR": "10.7.0.1"}
    for n in range(12):
        assert api.get("/sites", token=f"stale-{n}", environ_base=school_nat).status_code in (401, 429)
    assert api.get("/sites", token="stale-12", environ_base=school_nat).status_code == 429
    for _ in range(3):
        assert api.get("/sites", token=good, environ_base=school_nat).status_code == 200


def test_login_limits_are_unchanged(client, db):
    from tests.conftest import login

    user = make_user("consultant")
    db.session.commit()
    statuses = [login(client, user.username, "wrong").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert login(client, user.username).status_code == 429  # the right password waits too, as before


# ---------------------------------------------------------------- programme statistics
def _pairs(scores: list[tuple[int, int]]) -> list[SitePair]:
    """One site per (baseline, final) score of every item (0-4: 25 points a step)."""
    return [SitePair.from_answers(f"S{n}", one_per_s(before), one_per_s(after))
            for n, (before, after) in enumerate(scores)]


def test_no_interval_reaches_past_what_a_percentage_change_can_be():
    stats = programme_stats(_pairs([(0, 3), (2, 0)])).overall  # +75 and −50, n = 2: t with 1 degree of freedom
    assert stats.ci95 == (-100.0, 100.0)  # the raw interval runs to about ±800: cut at what a change can be
    narrow = programme_stats(_pairs([(1, 2), (1, 2), (1, 3)])).overall.ci95
    assert -100.0 < narrow[0] < narrow[1] < 100.0  # an interval within the bounds is left as it is


def test_the_wilcoxon_test_is_only_shown_where_it_can_mean_something():
    assert not programme_stats(_pairs([(1, 2)] * 5)).overall.wilcoxon_informative  # p >= 0.0625 at best
    assert programme_stats(_pairs([(1, 2)] * 6)).overall.wilcoxon_informative
    assert not programme_stats([]).overall.wilcoxon_informative


def _two_schools_programme(client, login_as, db, scores) -> str:
    """The programme page (as a reviewer) over two schools with both rounds: scores = ((b, f), (b, f))."""
    site = make_site()
    consultant = make_user("consultant", site=site)
    other = make_site()
    consultant.assigned_sites.append(other)
    for s, (before, after) in zip((site, other), scores):
        answer_all(make_audit(s, consultant, phase="baseline", status="submitted"), before)
        answer_all(make_audit(s, consultant, phase="final", status="submitted"), after)
    db.session.commit()
    login_as("reviewer")
    return client.get("/programme").get_data(as_text=True)


def test_the_programme_page_says_why_instead_of_showing_meaningless_figures(client, login_as, db):
    html = _two_schools_programme(client, login_as, db, ((1, 3), (2, 3)))
    clinics = html[html.index('id="stats-clinic"'):html.index('id="coverage-h"')]
    assert "Chưa có cơ sở nào có đủ hai đợt" in clinics and "<table" not in clinics  # no clinic: no table
    assert "1,000" not in html and "W+ 0,0" not in html
    schools = html[html.index('id="stats-school"'):html.index('id="stats-clinic"')]
    assert "Kiểm định Wilcoxon (W+, p, r) chỉ được hiển thị khi có ít nhất 6 cơ sở" in schools
    numbers = [float(x.replace("−", "-").replace(",", ".")) for x in re.findall(r"[+−]\d+,\d", schools)]
    assert numbers and all(-100 <= x <= 100 for x in numbers)


def test_the_change_chart_axis_is_scaled_to_the_data(client, login_as, db):
    html = _two_schools_programme(client, login_as, db, ((1, 2), (2, 2)))
    chart = html[html.index('id="change-school-title"'):]
    chart = chart[:chart.index("</svg>")]
    ticks = [float(t.replace("−", "-").replace("+", "").replace(",", "."))
             for t in re.findall(r'<text x="54" y="[\d.]+">([^<]+)</text>', chart)]  # the axis' labels
    assert ticks and max(abs(t) for t in ticks) <= 100, ticks
