"""Brute-force limits on failed logins and tokens; session cookies, fixation and inactivity timeout."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fivs import create_app
from fivs.events.models import Event
from fivs.auth.ratelimit import register_failed_token_attempt, token_attempts_blocked
from tests.conftest import PASSWORD
from tests.api_support import api, token_for  # noqa: F401  (fixture)
from tests.factories import make_site, make_user

BLOCKED = ("Quá nhiều lần đăng nhập sai", "Too many failed logins")


def _post_login(client, username, password, ip="10.0.0.1"):
    token = client.csrf()
    return client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def _failed_logins(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.action == "auth.login_failed"))


def _is_block_page(resp) -> bool:
    return (resp.status_code == 429 and resp.headers.get("Retry-After") == "60"
            and any(m in resp.get_data(as_text=True) for m in BLOCKED))


# ---------------------------------------------------------------- brute force
def test_ten_failed_logins_are_answered_the_eleventh_is_429(client, db):
    user = make_user("reviewer")
    db.session.commit()
    for _ in range(10):
        assert _post_login(client, user.username, "wrong-password").status_code == 401
    resp = _post_login(client, user.username, "wrong-password")
    assert _is_block_page(resp)
    # While blocked even the right password is refused, and blocked attempts do not flood the log.
    assert _is_block_page(_post_login(client, user.username, PASSWORD))
    assert client.get("/").status_code == 302
    assert _failed_logins(db) == 10


def test_failed_logins_for_one_username_are_limited_across_addresses(client, db):
    victim, other = make_user("principal"), make_user("consultant")
    db.session.commit()
    for i in range(10):
        assert _post_login(client, victim.username, "guess-%d" % i, ip=f"10.1.0.{i + 1}").status_code == 401
    assert _is_block_page(_post_login(client, victim.username.upper(), "guess-x", ip="10.1.0.99"))
    # The limit is on the username: another user from that same address logs in.
    assert _post_login(client, other.username, PASSWORD, ip="10.1.0.99").status_code == 302


def test_failed_logins_from_one_address_are_limited_across_usernames(client, db):
    user = make_user("staff")
    db.session.commit()
    for i in range(10):
        assert _post_login(client, f"nobody{i}", "whatever-1", ip="10.2.0.7").status_code == 401
    assert _is_block_page(_post_login(client, user.username, PASSWORD, ip="10.2.0.7"))
    assert _post_login(client, user.username, PASSWORD, ip="10.2.0.8").status_code == 302


def test_successful_logins_are_never_counted(client, db):
    user = make_user("consultant")
    db.session.commit()
    for _ in range(9):
        assert _post_login(client, user.username, "wrong-password").status_code == 401
    for _ in range(5):
        assert _post_login(client, user.username, PASSWORD).status_code == 302
        assert client.form_post("/auth/logout").status_code == 302
    assert _post_login(client, user.username, "wrong-password").status_code == 401  # the 10th failure
    assert _is_block_page(_post_login(client, user.username, "wrong-password"))


def test_twenty_quick_successful_logins_are_not_throttled(client, db):
    users = [make_user("consultant") for _ in range(20)]
    db.session.commit()
    for user in users:  # 20 tablets behind one school router
        assert _post_login(client, user.username, PASSWORD, ip="10.3.0.1").status_code == 302
    for _ in range(20):  # and one user logging in again and again
        assert _post_login(client, users[0].username, PASSWORD, ip="10.3.0.1").status_code == 302


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1}])
def test_behind_a_proxy_each_client_is_counted_by_its_forwarded_address(client, db, app_config):
    user = make_user("principal")
    db.session.commit()

    def attempt(forwarded, username, password="wrong-password"):
        token = client.csrf()
        return client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"X-Forwarded-For": forwarded})

    for i in range(10):
        assert attempt("203.0.113.7", f"nobody{i}").status_code == 401
    assert _is_block_page(attempt("203.0.113.7", user.username, PASSWORD))
    # Same proxy, another client: not blocked.
    assert attempt("198.51.100.20", user.username, PASSWORD).status_code == 302


def test_failed_token_attempts_are_limited_per_client(app):
    for _ in range(10):
        with app.test_request_context("/api/v1/audits", environ_base={"REMOTE_ADDR": "10.4.0.1"}):
            assert not token_attempts_blocked()
            register_failed_token_attempt()
    with app.test_request_context("/api/v1/audits", environ_base={"REMOTE_ADDR": "10.4.0.1"}):
        assert token_attempts_blocked()
    with app.test_request_context("/api/v1/audits", environ_base={"REMOTE_ADDR": "10.4.0.2"}):
        assert not token_attempts_blocked()


def test_wrong_api_tokens_are_answered_401_then_429_for_that_client_only(api, db):
    """Through the API itself: ten wrong tokens from one address are 401s; the eleventh is 429 with
    Retry-After until the minute ends, while a right token from that very address still gets in
    (behind a school's shared NAT, one misconfigured tablet must not lock the others out). Other
    clients and requests without a token are not affected."""
    site = make_site()
    consultant = make_user("consultant", assigned=[site])
    db.session.commit()
    good = token_for(consultant)
    attacker, office = {"REMOTE_ADDR": "10.5.0.1"}, {"REMOTE_ADDR": "10.5.0.2"}
    for n in range(10):
        resp = api.get("/sites", token=f"guess-{n}", environ_base=attacker)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_token"
    resp = api.get("/sites", token="guess-10", environ_base=attacker)
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_attempts"
    assert "Quá nhiều mã API sai" in resp.get_json()["error"]["message"]
    assert resp.headers["Retry-After"] == "60"
    assert api.get("/sites", token=good, environ_base=attacker).status_code == 200  # same address, valid token
    assert api.get("/sites", token="guess-12", environ_base=attacker).status_code == 429  # still limited
    assert api.get("/sites?lang=en", token="guess-11", environ_base=attacker).get_json()["error"]["message"] == (
        "Too many wrong API tokens from this address. Wait a minute and try again.")
    assert api.get("/sites", token=good, environ_base=office).status_code == 200
    assert api.get("/sites", token=None, environ_base=office).status_code == 401


def test_twenty_tablets_behind_one_router_saving_with_good_tokens_are_never_throttled(api, db):
    site = make_site()
    consultants = [make_user("consultant", assigned=[site]) for _ in range(20)]
    db.session.commit()
    tokens = [token_for(c) for c in consultants]
    router = {"REMOTE_ADDR": "10.6.0.1"}
    assert api.get("/sites", token="one-stale-token", environ_base=router).status_code == 401
    for _round in range(3):
        for token in tokens:
            assert api.get("/sites", token=token, environ_base=router).status_code == 200


def test_too_many_attempts_is_json_under_the_api(app):
    from fivs.auth.ratelimit import TooManyAttempts

    with app.test_request_context("/api/v1/audits"):
        resp = app.handle_user_exception(TooManyAttempts("Too many attempts."))
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"
    assert resp.get_json()["error"] == {"code": "too_many_attempts", "message": "Too many attempts.",
                                        "details": None}


# ---------------------------------------------------------------- session cookies
@pytest.mark.parametrize("https,secure", [("1", True), ("0", False)])
def test_session_cookie_is_secure_only_behind_https(monkeypatch, tmp_path, https, secure):
    monkeypatch.setenv("FIVS_HTTPS", https)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "MEDIA_ROOT": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    resp = app.test_client().get("/lang/en")
    cookies = resp.headers.getlist("Set-Cookie")
    assert len(cookies) == 2  # the session and the remembered language
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("; Secure" in cookie) is secure


def test_idle_timeout_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FIVS_SESSION_IDLE_MINUTES", "15")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "MEDIA_ROOT": str(tmp_path)})
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)


def test_login_starts_a_new_session(client, db):
    user = make_user("reviewer")
    db.session.commit()
    client.csrf()
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
        before = dict(sess)
    cookie_before = client.get_cookie("session").value
    resp = _post_login(client, user.username, PASSWORD)
    assert resp.status_code == 302
    with client.session_transaction() as sess:
        after = dict(sess)
    assert "planted" not in after
    assert after.get("csrf_token") != before["csrf_token"]  # the old CSRF token is gone too
    assert after["_user_id"].startswith(f"{user.id}:")
    assert client.get_cookie("session").value != cookie_before
    # The pre-login cookie, replayed, is still anonymous.
    client.set_cookie("session", cookie_before)
    assert client.get("/").status_code == 302


# ---------------------------------------------------------------- inactivity
def _set_last_seen(client, seconds_ago: float | None) -> None:
    with client.session_transaction() as sess:
        if seconds_ago is None:
            sess.pop("seen", None)
        else:
            sess["seen"] = int(time.time() - seconds_ago)


def test_session_ends_after_inactivity(app, client, login_as):
    login_as("reviewer")
    limit = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    _set_last_seen(client, limit + 5)
    resp = client.get("/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "không hoạt động" in page or "inactivity" in page
    assert client.get("/").status_code == 302  # stays logged out


def test_activity_keeps_the_session_alive(app, client, login_as):
    login_as("reviewer")
    limit = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    _set_last_seen(client, limit - 60)
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        assert time.time() - sess["seen"] < 5  # each request moves the clock forward
    assert client.get("/").status_code == 200


def test_the_session_cookie_goes_back_only_when_the_last_activity_moves_by_a_minute(app, client, login_as):
    """Every byte counts on a tablet's slow line: an answer save within a minute of the last stamp
    answers without a Set-Cookie (~380 bytes); a minute later the stamp moves and the cookie goes."""
    login_as("reviewer")
    client.get("/")  # the first page after logging in settles the session (CSRF token, language)
    _set_last_seen(client, 10)
    resp = client.get("/")
    assert resp.status_code == 200 and not [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    with client.session_transaction() as sess:
        assert time.time() - sess["seen"] >= 10  # not moved
    _set_last_seen(client, 61)
    resp = client.get("/")
    assert [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    with client.session_transaction() as sess:
        assert time.time() - sess["seen"] < 5


def test_session_without_a_last_seen_time_is_not_trusted(client, login_as):
    login_as("reviewer")
    _set_last_seen(client, None)
    assert client.get("/").status_code == 302


# ---------------------------------------------------------------- moving window
class _Clock:
    """Stands in for the `time` module in limits' memory storage."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_the_limits_use_a_moving_window_limiter(app):
    from limits.strategies import MovingWindowRateLimiter

    from fivs.extensions import limiter

    assert isinstance(limiter.limiter, MovingWindowRateLimiter)  # what fivs.auth.ratelimit tests and hits


@pytest.mark.parametrize("kind", ["login", "token"])
def test_failures_count_over_the_last_minute_not_a_fixed_one(kind, client, api, db, monkeypatch):
    """1 failure at t0 and 9 at t0+59 s: at t0+61 s the first has left the last minute, so one more
    failure is answered and the next is refused. A fixed window would have started afresh at t0+60 s
    and let 10 more through; a moving one lets at most 10 failures through in any 60 seconds."""
    import limits.storage.memory

    t0 = time.time()
    clock = _Clock(t0)
    monkeypatch.setattr(limits.storage.memory, "time", clock)

    def attempt():
        if kind == "login":
            return _post_login(client, "nobody", "wrong-password")
        return api.get("/sites", token="wrong-token", environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert attempt().status_code == 401
    clock.now = t0 + 59
    for _ in range(9):
        assert attempt().status_code == 401
    clock.now = t0 + 61
    assert attempt().status_code == 401
    for _ in range(2):
        resp = attempt()
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"
    clock.now = t0 + 118.5  # the nine failures at t0+59 s are still within the last minute
    assert attempt().status_code == 429
    clock.now = t0 + 119.5  # now they are not: one failure (t0+61 s) is left in the window
    assert attempt().status_code == 401
