"""The role matrix: each role reaches what it should and gets 403/404 elsewhere."""
from __future__ import annotations

import pytest

from tests.factories import make_site, make_user

ROLES = ["admin", "reviewer", "consultant", "principal", "staff"]

# page -> {role: status}; "own" is the user's site (assigned for consultants), "other" another site.
MATRIX = {
    "/": dict(admin=200, reviewer=200, consultant=200, principal=200, staff=200),
    "/sites/{own}": dict(admin=200, reviewer=200, consultant=200, principal=200, staff=200),
    "/sites/{other}": dict(admin=200, reviewer=200, consultant=404, principal=404, staff=404),
    "/checklists/": dict(admin=200, reviewer=200, consultant=200, principal=200, staff=200),
    "/admin/sites/": dict(admin=200, reviewer=403, consultant=403, principal=403, staff=403),
    "/admin/users/": dict(admin=200, reviewer=403, consultant=403, principal=403, staff=403),
    "/admin/users/new": dict(admin=200, reviewer=403, consultant=403, principal=403, staff=403),
    "/auth/password": dict(admin=200, reviewer=200, consultant=200, principal=200, staff=200),
}


@pytest.fixture
def two_sites(db):
    own, other = make_site(code="OWN"), make_site(code="OTHER")
    db.session.commit()
    return own, other


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, login_as, two_sites, role):
    own, other = two_sites
    login_as(role, site=own)
    for pattern, expected in MATRIX.items():
        path = pattern.format(own=own.code, other=other.code)
        assert client.get(path).status_code == expected[role], (role, path)


def test_anonymous_is_sent_to_login(client, two_sites):
    for pattern in MATRIX:
        path = pattern.format(own="OWN", other="OTHER")
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert "/auth/login" in resp.headers["Location"]


def test_home_lists_only_visible_sites(client, login_as, two_sites):
    own, other = two_sites
    login_as("principal", site=own)
    html = client.get("/").get_data(as_text=True)
    assert own.name in html and other.name not in html


def test_consultant_sees_only_assigned_sites(client, login_as, two_sites, db):
    own, other = two_sites
    login_as("consultant", site=own)
    html = client.get("/").get_data(as_text=True)
    assert own.name in html and other.name not in html
