"""Comparisons: site and programme endpoints, pages, access and the constant number of queries."""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import event, insert, select

from fivs import labels, scoring
from fivs.audits.models import Answer, Audit
from fivs.audits.services import scored_answers
from fivs.comparisons.services import programme_stats
from tests.factories import answer_all, make_audit, make_site, make_user, template_for

S_OF_CODE = {"S1": "seiri", "S2": "seiton", "S3": "seiso", "S4": "seiketsu", "S5": "shitsuke"}


def s_score(**scores):
    """A score function for answer_all: {seiri: 4, ...}; S not given -> `rest`."""
    rest = scores.pop("rest", 2)
    return lambda item: scores.get(item.s, rest)


def submitted_round(site, consultant, phase, score, *, day=None, status="submitted"):
    audit = make_audit(site, consultant, phase=phase, status=status,
                       audit_date=day or (date(2023, 3, 1) if phase == "baseline" else date(2024, 4, 1)))
    answer_all(audit, score)
    return audit


@pytest.fixture
def consultant(db):
    return make_user("consultant")


def assign(consultant, *sites):
    consultant.assigned_sites = list(consultant.assigned_sites) + list(sites)


# ---------------------------------------------------------------- the site comparison
def test_site_comparison_hand_computed(client, db, login_as, consultant):
    site = make_site(code="S100", name="Trường Tiểu học Vĩnh Khương", former_district="Sơn Động")
    baseline = submitted_round(site, consultant, "baseline", 2)  # every S 50 %
    final = submitted_round(site, consultant, "final", s_score(seiri=4, rest=3))  # 100 / 75 ...
    principal = make_user("principal", site=site)
    selfie = make_audit(site, principal, phase="baseline", status="submitted", audit_date=date(2023, 2, 1))
    answer_all(selfie, 0)  # a self-assessment of 0 % must not touch the comparison
    db.session.commit()
    login_as("reviewer")

    body = client.get("/api/v1/sites/S100/comparison").get_json()

    assert body["site"] == {"code": "S100", "name": "Trường Tiểu học Vĩnh Khương", "kind": "school",
                            "province": "Bắc Ninh", "commune": None, "former_province": "Bắc Giang",
                            "former_district": "Sơn Động", "district": "Sơn Động"}
    assert body["baseline"]["audit_id"] == str(baseline.uuid)
    assert body["baseline"]["date"] == "2023-03-01"
    assert body["baseline"]["overall"] == pytest.approx(50.0)
    assert body["baseline"]["by_s"] == {s: pytest.approx(50.0) for s in scoring.S_KEYS}
    assert body["baseline"]["by_zone"]["classroom"] == pytest.approx(50.0)
    assert body["final"]["audit_id"] == str(final.uuid)
    assert body["final"]["by_s"]["seiri"] == pytest.approx(100.0)
    assert body["final"]["by_s"]["shitsuke"] == pytest.approx(75.0)
    assert body["final"]["overall"] == pytest.approx(80.0)  # (100 + 4 x 75) / 5
    assert body["final"]["by_zone"]["toilets"] == pytest.approx(80.0)  # 2 x 4 + 8 x 3 of 40
    assert body["change"]["by_s"] == {"seiri": pytest.approx(50.0), "seiton": pytest.approx(25.0),
                                      "seiso": pytest.approx(25.0), "seiketsu": pytest.approx(25.0),
                                      "shitsuke": pytest.approx(25.0)}
    assert body["change"]["overall"] == pytest.approx(30.0)
    assert body["excluded_items"] == []
    assert [s["audit_id"] for s in body["self_assessments"]] == [str(selfie.uuid)]
    assert body["self_assessments"][0]["overall"] == pytest.approx(0.0)
    assert body["self_assessments"][0]["phase"] == "baseline"


def test_change_uses_matched_items_only(client, db, login_as, consultant):
    site = make_site(code="S101")
    baseline = submitted_round(site, consultant, "baseline", 2)
    final = submitted_round(site, consultant, "final", 4)
    # CLS-S1-01 unscored in the final, an N/A-able item N/A in the baseline: both left out.
    for answer in final.answers:
        if answer.item.code == "CLS-S1-01":
            answer.score = None
    na_item = next(a for a in baseline.answers if a.item.na_allowed)
    na_item.score, na_item.na = None, True
    db.session.commit()
    login_as("reviewer")

    body = client.get("/api/v1/sites/S101/comparison").get_json()

    assert body["excluded_items"] == sorted(["CLS-S1-01", na_item.item.code])
    assert body["change"]["by_s"]["seiri"] == pytest.approx(50.0)  # 4 vs 2 on the matched items
    expected = scoring.compare(scored_answers(baseline), scored_answers(final))
    assert body["change"]["overall"] == pytest.approx(expected.overall)
    assert body["final"]["by_s"]["seiri"] == pytest.approx(100.0)  # over all its scored items


def test_latest_submitted_consultant_round_is_used(client, db, login_as, consultant):
    site = make_site(code="S102")
    submitted_round(site, consultant, "baseline", 1, day=date(2023, 1, 10))
    latest = submitted_round(site, consultant, "baseline", 2, day=date(2023, 2, 10))
    submitted_round(site, consultant, "baseline", 4, day=date(2023, 3, 10), status="draft")
    submitted_round(site, consultant, "baseline", 4, day=date(2023, 3, 11), status="reopened")
    db.session.commit()
    login_as("reviewer")

    body = client.get("/api/v1/sites/S102/comparison").get_json()

    assert body["baseline"]["audit_id"] == str(latest.uuid)
    assert body["baseline"]["overall"] == pytest.approx(50.0)
    assert body["final"] is None and body["change"] is None and body["excluded_items"] == []


# ---------------------------------------------------------------- the programme
@pytest.fixture
def programme_sites(db, consultant):
    """Three schools and a clinic with both rounds, a school without final, one with a draft final."""
    changes = {"P01": (2, 3), "P02": (1, 3), "P03": (3, 3), "P04": (2, 4)}
    audits = {}
    for code, (before, after) in changes.items():
        site = make_site("clinic" if code == "P04" else "school", code=code)
        audits[code] = (submitted_round(site, consultant, "baseline", before),
                        submitted_round(site, consultant, "final", s_score(seiso=after, rest=before)))
    lone = make_site(code="P05")
    submitted_round(lone, consultant, "baseline", 2)
    drafty = make_site(code="P06")
    submitted_round(drafty, consultant, "baseline", 2)
    submitted_round(drafty, consultant, "final", 4, status="draft")
    make_site(code="P07")
    db.session.commit()
    return audits


def expected_programme(audits, codes):
    pairs = [scoring.SitePair.from_answers(code, scored_answers(b), scored_answers(f))
             for code, (b, f) in audits.items() if code in codes]
    return programme_stats(pairs).as_dict()


def approx_tree(value):
    if isinstance(value, dict):
        return {k: approx_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [approx_tree(v) for v in value]
    return pytest.approx(value) if isinstance(value, float) else value


@pytest.mark.parametrize("kind, included, missing", [
    ("all", ["P01", "P02", "P03", "P04"],
     [{"code": "P05", "missing": ["final"]}, {"code": "P06", "missing": ["final"]},
      {"code": "P07", "missing": ["baseline", "final"]}]),
    ("school", ["P01", "P02", "P03"],
     [{"code": "P05", "missing": ["final"]}, {"code": "P06", "missing": ["final"]},
      {"code": "P07", "missing": ["baseline", "final"]}]),
    ("clinic", ["P04"], []),
])
def test_programme_statistics_match_scoring(client, login_as, programme_sites, kind, included, missing):
    login_as("reviewer")

    body = client.get(f"/api/v1/programme/comparison?kind={kind}").get_json()

    assert sorted(body["sites_included"]) == included
    assert sorted(body["sites_missing"], key=lambda m: m["code"]) == missing
    expected = expected_programme(programme_sites, included)
    assert body["overall"] == approx_tree(expected["overall"])
    assert body["by_s"] == approx_tree(expected["by_s"])
    assert body["overall"]["n"] == len(included)


def test_programme_hand_computed_seiso(client, login_as, programme_sites):
    login_as("reviewer")

    seiso = client.get("/api/v1/programme/comparison?kind=school").get_json()["by_s"]["seiso"]

    # schools: seiso 50->75, 25->75, 75->75: changes 25, 50, 0
    assert seiso["baseline_mean"] == pytest.approx(50.0)
    assert seiso["final_mean"] == pytest.approx(75.0)
    assert seiso["mean_change"] == pytest.approx(25.0)
    assert (seiso["improved"], seiso["unchanged"], seiso["declined"]) == (2, 1, 0)
    assert seiso["wilcoxon_w_plus"] == pytest.approx(3.0)  # zero dropped; ranks 1 and 2
    assert seiso["wilcoxon_p"] == pytest.approx(0.5)  # 2 of the 4 sign assignments
    assert seiso["rank_biserial"] == pytest.approx(1.0)
    assert seiso["cohens_dz"] == pytest.approx(1.0)  # mean 25 / sd 25


def test_programme_bad_kind_is_422(client, login_as, programme_sites):
    login_as("reviewer")

    resp = client.get("/api/v1/programme/comparison?kind=hospital")

    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "bad_kind"
    assert "school" in resp.get_json()["error"]["message"]


def _move(db, codes, **place):
    from fivs.sites.models import Site

    for site in db.session.scalars(select(Site).where(Site.code.in_(codes))):
        for field, value in place.items():
            setattr(site, field, value)
    db.session.commit()


def test_programme_of_one_province(client, db, login_as, programme_sites):
    _move(db, ["P02", "P05"], province="Lạng Sơn")
    login_as("reviewer")

    body = client.get("/api/v1/programme/comparison?province=L%E1%BA%A1ng%20S%C6%A1n").get_json()

    assert body["sites_included"] == ["P02"]
    assert body["sites_missing"] == [{"code": "P05", "missing": ["final"]}]
    assert body["overall"] == approx_tree(expected_programme(programme_sites, ["P02"])["overall"])
    assert "groups" not in body
    assert client.get("/api/v1/programme/comparison?province=Nowhere").get_json()["sites_included"] == []


@pytest.mark.parametrize("group_by", ["province", "commune", "former_district"])
def test_programme_grouped_by_place(client, db, login_as, programme_sites, group_by):
    _move(db, ["P02", "P05"], province="Lạng Sơn", commune="Xã Đồng Đăng", former_district="Cao Lộc")
    _move(db, ["P01", "P03", "P04", "P06", "P07"], commune="Xã Sơn Động")
    _move(db, ["P07"], commune=None, former_district=None)
    login_as("reviewer")

    body = client.get(f"/api/v1/programme/comparison?group_by={group_by}").get_json()

    assert body["group_by"] == group_by
    assert sorted(body["sites_included"]) == ["P01", "P02", "P03", "P04"]  # the whole programme as before
    first, second = {"province": ("Bắc Ninh", "Lạng Sơn"), "commune": ("Xã Sơn Động", "Xã Đồng Đăng"),
                     "former_district": ("Cao Lộc", "Sơn Động")}[group_by]
    places = [g["place"] for g in body["groups"]]
    expected_places = [first, second] if group_by == "province" else [first, second, None]
    assert places == expected_places
    groups = {g["place"]: g for g in body["groups"]}
    lang_son = "Cao Lộc" if group_by == "former_district" else second if group_by != "province" else "Lạng Sơn"
    assert groups[lang_son]["n_sites"] == 2 and groups[lang_son]["n_included"] == 1
    assert groups[lang_son]["overall"] == approx_tree(expected_programme(programme_sites, ["P02"])["overall"])
    rest = next(g for g in body["groups"] if g["place"] not in (lang_son, None))
    assert rest["n_included"] == 3
    assert rest["by_s"] == approx_tree(expected_programme(programme_sites, ["P01", "P03", "P04"])["by_s"])
    if group_by != "province":
        assert groups[None]["n_sites"] == 1 and groups[None]["n_included"] == 0
        assert groups[None]["overall"]["n"] == 0


def test_programme_bad_group_by_is_422(client, login_as, programme_sites):
    login_as("reviewer")

    resp = client.get("/api/v1/programme/comparison?group_by=district")

    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "bad_group_by"
    assert error["details"] == [{"field": "group_by", "allowed": ["province", "commune", "former_district"]}]


def test_site_and_programme_figures_agree(client, login_as, programme_sites):
    """The programme (the database's sums) and the site endpoint (answer rows) give the same figures."""
    login_as("reviewer")
    from fivs.comparisons.services import load_programme

    with client.application.app_context():
        programme = {c.site.code: c for c in load_programme().sites}
    for code in ("P01", "P02", "P04"):
        body = client.get(f"/api/v1/sites/{code}/comparison").get_json()
        mine = programme[code]
        assert body["change"]["overall"] == pytest.approx(mine.change.overall)
        assert body["final"]["by_zone"] == approx_tree(mine.final.scores.by_zone)
        assert body["baseline"]["by_s"] == approx_tree(mine.baseline.scores.by_s)


# ---------------------------------------------------------------- access
def test_principal_sees_own_site_only(client, db, login_as, consultant):
    own, other = make_site(code="OWN1"), make_site(code="OTH1")
    submitted_round(other, consultant, "baseline", 2)
    db.session.commit()
    login_as("principal", site=own)

    assert client.get("/api/v1/sites/OWN1/comparison").status_code == 200
    assert client.get("/sites/OWN1/comparison").status_code == 200
    for url in ("/api/v1/sites/OTH1/comparison", "/sites/OTH1/comparison",
                "/api/v1/sites/NOPE/comparison"):
        assert client.get(url).status_code == 404, url
    assert client.get("/api/v1/programme/comparison").status_code == 403
    assert client.get("/programme").status_code == 403


@pytest.mark.parametrize("role, status", [("reviewer", 200), ("admin", 200), ("consultant", 403),
                                          ("staff", 403), ("principal", 403)])
def test_programme_is_for_reviewers_and_admins(client, login_as, role, status):
    login_as(role)

    assert client.get("/api/v1/programme/comparison").status_code == status
    assert client.get("/programme").status_code == status


def test_api_needs_a_login_or_token(client, db):
    make_site(code="S200")
    db.session.commit()

    resp = client.get("/api/v1/sites/S200/comparison")

    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/programme/comparison").status_code == 401


def test_bearer_token_works(client, db):
    from fivs.auth.services import issue_token

    make_site(code="S201")
    reviewer = make_user("reviewer")
    _row, token = issue_token(reviewer)
    db.session.commit()

    resp = client.get("/api/v1/sites/S201/comparison", headers={"Authorization": f"Bearer {token}"})

    assert resp.status_code == 200
    assert resp.get_json()["baseline"] is None


# ---------------------------------------------------------------- pages
def test_site_page_has_radar_with_title_and_table(client, db, login_as, consultant):
    site = make_site(code="S300", name="Trường Tiểu học Đồng Phúc")
    baseline = submitted_round(site, consultant, "baseline", 2)
    final = submitted_round(site, consultant, "final", s_score(seiri=4, rest=3))
    weak = next(a for a in final.answers if a.item.code == "CLS-S2-01")
    weak.score, weak.note = 0, "Tủ lớp chưa dán nhãn; sách để lẫn"
    db.session.commit()
    expected_final = scoring.audit_scores(scored_answers(final)).overall
    login_as("principal", site=site)

    html = client.get("/sites/S300/comparison").get_data(as_text=True)

    svg = re.search(r"<svg[^>]*role=\"img\"[^>]*>.*?</svg>", html, re.S).group(0)
    assert re.search(r"<title id=\"radar-S300-title\">[^<]*Trường Tiểu học Đồng Phúc", svg)
    assert svg.count("<polygon") >= 2 + 5  # five grid rings and two data polygons
    assert 'id="by-s-table"' in html and "Sàng lọc" in html and "Sẵn sàng" in html
    assert "50,0 %" in html and scoring.format_pct(expected_final, "vi") in html
    weakest = html[html.index('id="weak-h"'):]
    assert weakest.index("CLS-S2-01") < weakest.index("CLS-S2-02")  # 0 % first, then 75 % items
    assert "Tủ lớp chưa dán nhãn; sách để lẫn" in weakest  # the weakest item's note
    with force_locale("vi"):
        assert labels.method_note()[0] in html
    assert "/api/v1/sites/S300/report.pdf" in html
    assert "/api/v1/exports/answers.xlsx" in html  # a principal's export is this site
    assert "style=" not in html
    # Charts are server-rendered SVG: the only scripts are the app's own static files, none inline.
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html)
    assert str(baseline.uuid) not in html  # dates and auditors are shown, not internal ids


def test_site_page_without_rounds(client, db, login_as):
    make_site(code="S301")
    db.session.commit()
    login_as("reviewer")

    resp = client.get("/sites/S301/comparison?lang=en")

    assert resp.status_code == 200
    assert "nothing to compare" in resp.get_data(as_text=True)


def test_site_page_with_baseline_only(client, db, login_as, consultant):
    site = make_site(code="S303")
    submitted_round(site, consultant, "baseline", s_score(seiri=1, rest=4))
    db.session.commit()
    login_as("reviewer")

    html = client.get("/sites/S303/comparison?lang=en").get_data(as_text=True)

    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count('fill-opacity="0.15"') == 1  # the baseline polygon only
    assert "weakest items (Baseline audit)" in html
    weakest = html[html.index('id="weak-h"'):html.index('id="self-h"')]
    assert weakest.count("25.0%") == 10  # 18 seiri items at 1 of 4, the list stops at ten
    by_s = html[html.index('id="by-s-table"'):html.index("</table>", html.index('id="by-s-table"'))]
    assert by_s.count(">—</td>") == 2 * 6  # no final and no change on the six rows


def test_programme_page(client, login_as, programme_sites):
    login_as("reviewer")

    html = client.get("/programme?lang=en").get_data(as_text=True)

    assert re.search(r"<title id=\"change-all-title\">All sites: mean change per S", html)
    assert re.search(r"<title id=\"change-school-title\">", html)
    assert len(re.findall(r"<caption[^>]*>Programme statistics", html)) == 3
    coverage = html[html.index('id="coverage-h"'):html.index('id="ranking-h"')]
    assert coverage.count('class="state-submitted">Submitted') == 4 * 2 + 2  # + P05, P06 baselines
    assert coverage.count('class="state-draft">In progress') == 1  # P06's final
    assert coverage.count('class="state-missing">Missing') == 4 + 2 + 1 + 3  # periodic rounds, P07
    by_final, by_change = html[html.index('id="ranking-h"'):].split("</table>")[:2]
    # final overall: P03 75, P04 60, P01 55, P02 35; change: P02 +10, P04 +10 (code order), P01 +5, P03 0
    assert re.findall(r"/sites/(P\d+)/comparison", by_final) == ["P03", "P04", "P01", "P02"]
    assert re.findall(r"/sites/(P\d+)/comparison", by_change) == ["P02", "P04", "P01", "P03"]
    with force_locale("en"):
        assert labels.method_note()[0] in html
    assert "style=" not in html


def test_nav_links(client, db, login_as):
    site = make_site(code="S302")
    db.session.commit()
    login_as("reviewer")

    assert 'href="/programme"' in client.get("/").get_data(as_text=True)
    assert 'href="/sites/S302/comparison"' in client.get("/sites/S302").get_data(as_text=True)
    assert site.code


# ---------------------------------------------------------------- a constant number of queries
@contextmanager
def count_queries(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def add_sites_with_rounds(db, consultant, start: int, count: int) -> None:
    """Sites with a submitted baseline and final and a self-assessment, answers bulk-inserted."""
    templates = {kind: template_for(kind) for kind in ("school", "clinic")}
    principal = make_user("principal")
    audits = []
    for n in range(start, start + count):
        kind = "clinic" if n % 6 == 5 else "school"
        site = make_site(kind, code=f"Q{n:03d}")
        for phase, kind_of_audit, author in (("baseline", "consultant", consultant),
                                             ("final", "consultant", consultant),
                                             ("baseline", "self", principal)):
            audits.append(Audit(uuid=uuid.uuid4(), site_id=site.id, template_id=templates[kind].id,
                                phase=phase, kind=kind_of_audit, auditor_id=author.id,
                                audit_date=date(2023, 3, 1) if phase == "baseline" else date(2024, 4, 1),
                                status="submitted", row_version=1))
    db.session.add_all(audits)
    db.session.flush()
    kinds = {s: t for s, t in ((a.site_id, a.template_id) for a in audits)}
    items = {t.id: [(i.id, i.zone.repeats) for i in t.items] for t in templates.values()}
    rows = [{"audit_id": a.id, "item_id": item_id, "zone_instance": "Lớp 1A" if repeats else "",
             "score": (a.id + item_id) % 5, "na": False, "note": ""}
            for a in audits for item_id, repeats in items[kinds[a.site_id]]]
    db.session.execute(insert(Answer), rows)
    db.session.commit()


def test_query_count_does_not_grow_with_sites(client, db, login_as, consultant):
    add_sites_with_rounds(db, consultant, 0, 12)
    login_as("reviewer")
    urls = ["/programme", "/api/v1/programme/comparison", "/api/v1/programme/comparison?kind=school",
            "/api/v1/sites/Q000/comparison", "/sites/Q000/comparison",
            "/api/v1/programme/agreement", "/api/v1/sites/Q000/agreement"]

    def counts():
        result = {}
        for url in urls:
            with count_queries(db.engine) as statements:
                resp = client.get(url)
            assert resp.status_code == 200, url
            result[url] = len(statements)
        return result

    with_12 = counts()
    add_sites_with_rounds(db, consultant, 12, 108)
    with_120 = counts()

    assert with_12 == with_120
    body = client.get("/api/v1/programme/comparison").get_json()
    assert len(body["sites_included"]) == 120
    assert max(with_120.values()) <= 10
