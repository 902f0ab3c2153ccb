from __future__ import annotations

import pytest
from sqlalchemy import select

from fivs.events.models import Event
from fivs.auth.models import User
from tests.conftest import PASSWORD, login
from tests.factories import make_user


def test_login_page_renders_with_csrf_field(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'name="username"' in html and 'name="password"' in html


def test_login_and_logout(client, db):
    user = make_user("reviewer")
    db.session.commit()
    resp = login(client, user.username)
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    assert client.form_post("/auth/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_a_clear_401_and_logged(client, db):
    user = make_user("reviewer")
    db.session.commit()
    resp = login(client, user.username, "nope-nope")
    assert resp.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in resp.get_data(as_text=True) or "Wrong username" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Event).where(Event.action == "auth.login_failed"))


def test_login_without_csrf_token_is_refused(client, db):
    user = make_user("reviewer")
    db.session.commit()
    resp = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_log_in(client, db):
    user = make_user("reviewer")
    user.active = False
    db.session.commit()
    assert login(client, user.username).status_code == 401


@pytest.mark.parametrize("target,expected", [
    ("/checklists/", "/checklists/"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_login_next_only_redirects_inside_the_app(client, db, target, expected):
    user = make_user("reviewer")
    db.session.commit()
    token = client.csrf()
    resp = client.post("/auth/login", query_string={"next": target},
                       data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location in (expected, "http://localhost" + expected)


def test_logout_ends_the_session_server_side(app, db):
    user = make_user("reviewer")
    db.session.commit()
    from tests.conftest import Client

    app.test_client_class = Client
    first, second = app.test_client(), app.test_client()
    login(first, user.username)
    login(second, user.username)
    # A copy of the first session's cookie, replayed after logout, must not work.
    with first.session_transaction() as sess:
        stolen = dict(sess)
    first.form_post("/auth/logout")
    with first.session_transaction() as sess:
        sess.update(stolen)
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 302  # logout ends every session of the user


def test_deactivating_a_user_ends_their_sessions(client, db, app, login_as):
    victim = make_user("principal")
    db.session.commit()
    from tests.conftest import Client

    app.test_client_class = Client
    other = app.test_client()
    login(other, victim.username)
    assert other.get("/").status_code == 200
    login_as("admin")
    resp = client.form_post(f"/admin/users/{victim.id}", {
        "username": victim.username, "full_name": victim.full_name, "role": "principal",
        "site": victim.site.code, "password": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert other.get("/").status_code == 302


def test_password_change(client, db, login_as):
    user = login_as("consultant")
    resp = client.form_post("/auth/password", {"current": PASSWORD, "new": "a-new-password-1",
                                               "confirm": "a-new-password-1"})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200  # this session survives
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("a-new-password-1")


def test_password_change_with_wrong_current_password(client, login_as):
    login_as("consultant")
    resp = client.form_post("/auth/password", {"current": "wrong-one!", "new": "a-new-password-1",
                                               "confirm": "a-new-password-1"})
    assert resp.status_code == 422


def test_session_cookie_flags(client, db):
    user = make_user("reviewer")
    db.session.commit()
    resp = login(client, user.username)
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
