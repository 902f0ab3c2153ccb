"""Lists page and filter on the server: the admin's site list, GET /api/v1/sites, GET /api/v1/audits and
the event log render one page (50 rows) with next/previous links, and their query count does not grow
with the number of sites."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, insert

from fivs.extensions import db as _db
from fivs.sites.models import Site
from tests.api_support import api  # noqa: F401  (fixture)
from tests.factories import make_audit, make_site, make_user

ROW = re.compile(r'<tr><td><a href="/admin/sites/\d+">')


@contextmanager
def count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(_db.engine, "before_cursor_execute", before)


def add_sites(db, start: int, count: int) -> None:
    """Sites S0000... in bulk: every fifth a clinic; two provinces; communes by tens."""
    db.session.execute(insert(Site), [
        {"code": f"S{i:04d}", "name": f"Trường Tiểu học Đồng Phúc số {i}" if i % 5 else f"Trạm Y tế số {i}",
         "kind": "clinic" if i % 5 == 0 else "school", "province": "Bắc Ninh" if i % 2 else "Lạng Sơn",
         "commune": f"xã An Lạc {i // 10}", "former_district": "Sơn Động", "active": True}
        for i in range(start, start + count)])
    db.session.commit()


def site_rows(html: str) -> int:
    return len(ROW.findall(html))


def test_site_list_renders_one_page_and_its_queries_do_not_grow(client, login_as, db):
    login_as("admin")
    add_sites(db, 0, 30)
    client.get("/admin/sites/")  # warm up (first request's one-off queries)
    with count_queries() as few:
        small = client.get("/admin/sites/").get_data(as_text=True)
    add_sites(db, 30, 370)
    with count_queries() as many:
        resp = client.get("/admin/sites/")
    html = resp.get_data(as_text=True)

    assert resp.status_code == 200 and site_rows(small) == 30 and site_rows(html) == 50
    assert len(many) == len(few), many
    assert "400 cơ sở" in html and "Trang 1 / 8" in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    last = client.get("/admin/sites/?page=8").get_data(as_text=True)
    assert site_rows(last) == 50 and 'rel="prev"' in last and 'rel="next"' not in last
    assert site_rows(client.get("/admin/sites/?page=99").get_data(as_text=True)) == 0


def test_site_list_filters_by_code_name_kind_province_and_commune(client, login_as, db):
    login_as("admin")
    add_sites(db, 0, 120)
    codes = lambda html: set(re.findall(r'">(S\d{4})</a>', html))  # noqa: E731

    assert codes(client.get("/admin/sites/?q=s011").get_data(as_text=True)) == {f"S011{d}" for d in range(10)}
    by_name = client.get("/admin/sites/", query_string={"q": "Trạm Y tế số 110"}).get_data(as_text=True)
    assert codes(by_name) == {"S0110"}
    clinics = client.get("/admin/sites/?kind=clinic").get_data(as_text=True)
    assert "24 cơ sở" in clinics and all(int(c[1:]) % 5 == 0 for c in codes(clinics))
    lang_son = client.get("/admin/sites/", query_string={"province": "Lạng Sơn", "commune": "xã An Lạc 3"})
    assert codes(lang_son.get_data(as_text=True)) == {"S0030", "S0032", "S0034", "S0036", "S0038"}
    # the filters stay in the pager's links
    page = client.get("/admin/sites/", query_string={"province": "Bắc Ninh"}).get_data(as_text=True)
    assert "60 cơ sở" in page and "province=B%E1%BA%AFc+Ninh&amp;page=2" in page
    bad = client.get("/admin/sites/?kind=hospital")
    assert bad.status_code == 422 and 'class="error"' in bad.get_data(as_text=True)


def test_home_page_lists_one_page_of_a_reviewers_sites(client, login_as, db):
    """A reviewer's home is the programme board: one page of its rows, a next link, a search."""
    login_as("reviewer")
    add_sites(db, 0, 130)
    html = client.get("/").get_data(as_text=True)
    assert html.count('<th scope="row"><a href="/sites/S') == 50 and 'rel="next"' in html
    assert client.get("/?q=S0129").get_data(as_text=True).count('<th scope="row"><a href="/sites/S') == 1


def test_api_sites_pages_with_next_links_and_filters(client, api, db):
    api.login(make_user("reviewer"))
    add_sites(db, 0, 130)
    api.get("/sites")  # warm up (a token's first use records it)
    with count_queries() as few:
        body = api.get("/sites").get_json()
    assert len(body["sites"]) == 50 and body["total"] == 130 and body["page"] == 1 and body["per_page"] == 50
    assert body["prev"] is None and body["next"].endswith("/api/v1/sites?page=2&per_page=50")
    seen = [s["code"] for s in body["sites"]]
    while body["next"]:
        body = api.get(body["next"].removeprefix("/api/v1")).get_json()
        seen += [s["code"] for s in body["sites"]]
    assert seen == [f"S{i:04d}" for i in range(130) if i % 5] + [f"S{i:04d}" for i in range(0, 130, 5)]
    add_sites(db, 130, 300)
    with count_queries() as many:
        assert len(api.get("/sites").get_json()["sites"]) == 50
    assert len(many) == len(few)

    some = api.get("/sites", query_string={"kind": "school", "province": "Bắc Ninh", "q": "số 1",
                                           "per_page": "5", "page": "2"}).get_json()
    matching = [i for i in range(430) if i % 5 and i % 2 and str(i).startswith("1")]  # odd: Bắc Ninh
    assert some["total"] == len(matching)
    assert [s["code"] for s in some["sites"]] == [f"S{i:04d}" for i in matching[5:10]]
    assert "kind=school" in some["next"] and "per_page=5" in some["next"] and "page=3" in some["next"]
    first = some["sites"][0]
    assert first["former_district"] == "Sơn Động" and first["commune"] == f"xã An Lạc {matching[5] // 10}"
    for bad in ({"per_page": "0"}, {"per_page": "101"}, {"page": "x"}, {"page": "-1"}, {"kind": "hospital"}):
        resp = api.get("/sites", query_string=bad)
        assert resp.status_code == 422, bad
        assert resp.get_json()["error"]["details"][0]["field"] == next(iter(bad))


def test_api_sites_page_is_scoped_to_the_users_sites(client, api, db):
    own = make_site(code="OWN-1")
    add_sites(db, 0, 60)
    api.login(make_user("principal", site=own))
    body = api.get("/sites").get_json()
    assert [s["code"] for s in body["sites"]] == ["OWN-1"] and body["total"] == 1 and body["next"] is None


def test_api_audits_page_and_search_by_site(client, api, db):
    consultant = make_user("consultant")
    first = make_site(code="AU-1", name="Trường Tiểu học Hoà Sơn")
    second = make_site(code="AU-2", name="Trường Tiểu học Đồng Phúc")
    for day in range(1, 4):
        make_audit(first, consultant, audit_date=date(2023, 4, day))
    make_audit(second, consultant, phase="final", status="submitted", audit_date=date(2023, 11, 2))
    make_audit(second, consultant, audit_date=date(2023, 4, 9))
    db.session.commit()
    api.login(make_user("reviewer"))

    body = api.get("/audits", query_string={"per_page": "2"}).get_json()
    assert body["total"] == 5 and len(body["audits"]) == 2 and body["audits"][0]["date"] == "2023-11-02"
    dates = [a["date"] for a in body["audits"]]
    while body["next"]:
        body = api.get(body["next"].removeprefix("/api/v1")).get_json()
        dates += [a["date"] for a in body["audits"]]
    assert dates == ["2023-11-02", "2023-04-09", "2023-04-03", "2023-04-02", "2023-04-01"]
    assert api.get("/audits", query_string={"q": "Hoà Sơn"}).get_json()["total"] == 3
    found = api.get("/audits", query_string={"q": "au-2", "status": "submitted"}).get_json()
    assert [a["site"] for a in found["audits"]] == ["AU-2"] and found["total"] == 1
    assert api.get("/audits", query_string={"per_page": "500"}).status_code == 422


def test_api_audits_filter_by_the_sites_kind_province_and_commune(client, api, db):
    consultant = make_user("consultant")
    school = make_site(code="AU-3", name="Trường Tiểu học Đèo Gia", province="Bắc Ninh", commune="Xã Đèo Gia")
    clinic = make_site(kind="clinic", code="AU-4", name="Trạm Y tế Lộc Bình", province="Lạng Sơn",
                       commune="Xã Lộc Bình")
    for site in (school, clinic):
        make_audit(site, consultant, audit_date=date(2023, 4, 3))
    db.session.commit()
    api.login(make_user("reviewer"))

    def sites(**query):
        body = api.get("/audits", query_string=query).get_json()
        return [a["site"] for a in body["audits"]]

    assert sites(kind="clinic") == ["AU-4"] and sites(kind="school") == ["AU-3"]
    assert sites(province="Lạng Sơn") == ["AU-4"] and sites(commune="Xã Đèo Gia") == ["AU-3"]
    assert sites(province="Bắc Ninh", commune="Xã Lộc Bình") == [] and sorted(sites()) == ["AU-3", "AU-4"]
    resp = api.get("/audits", query_string={"kind": "hospital"})
    assert resp.status_code == 422 and resp.get_json()["error"]["details"][0]["field"] == "kind"


def test_event_log_has_a_site_code_field_not_every_site_and_constant_queries(client, login_as, db):
    login_as("admin")
    add_sites(db, 0, 30)
    client.get("/admin/events/")
    with count_queries() as few:
        client.get("/admin/events/")
    add_sites(db, 30, 370)
    with count_queries() as many:
        html = client.get("/admin/events/").get_data(as_text=True)
    assert len(many) == len(few)
    assert "S0399" not in html and re.search(r'<input[^>]*name="site"', html)
    assert client.get("/admin/events/?site=S0399").status_code == 200
