from __future__ import annotations

import pytest

from fivs import create_app


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in resp.headers  # a probe gets no session


def test_a_session_with_something_in_it_is_permanent(client):
    """The session cookie carries the inactivity lifetime (refreshed per request) once it holds anything."""
    resp = client.get("/auth/login")  # the form's CSRF token goes into the session
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in cookie


def test_security_headers_on_every_response(client):
    for path in ("/auth/login", "/healthz", "/no-such-page"):
        resp = client.get(path)
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"]


def test_a_json_answer_gets_the_short_strict_policy(client):
    """JSON loads nothing: its policy forbids everything (and is ~190 bytes shorter for slow lines)."""
    for path in ("/api/v1/sites", "/api/v1/no-such-thing"):
        resp = client.get(path)
        assert resp.mimetype == "application/json"
        assert resp.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"


def test_missing_secret_key_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FIVS_SECRET_KEY", raising=False)
    monkeypatch.setenv("FIVS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="secret key"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_config_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FIVS_SECRET_KEY", "from-env")
    monkeypatch.setenv("FIVS_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("FIVS_MEDIA_ROOT", str(tmp_path / "media"))
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.sqlite3")
    assert app.config["MEDIA_ROOT"] == str(tmp_path / "media")
    assert app.config["MAX_CONTENT_LENGTH"] == 30 * 1024 * 1024


def test_sqlite_runs_in_wal_with_busy_timeout(app, db, backend):
    if backend != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_unknown_page_is_a_readable_404(client):
    resp = client.get("/definitely/not/here")
    assert resp.status_code == 404
    assert "<html" in resp.get_data(as_text=True)


def test_language_switch_is_remembered(client, login_as):
    login_as("admin")
    resp = client.get("/lang/en?next=/checklists/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/checklists/")
    assert "Checklists" in client.get("/checklists/").get_data(as_text=True)
    client.get("/lang/vi?next=/checklists/")
    assert "Bảng kiểm" in client.get("/checklists/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"])
def test_language_switch_never_redirects_outside(client, target):
    resp = client.get("/lang/en", query_string={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] in ("/", "http://localhost/")


@pytest.mark.parametrize("limit,shown", [(256 * 1024, "tối đa 256 KB"), (3 * 1024 * 1024, "tối đa 3 MB")])
def test_a_too_large_request_names_the_limit_in_its_unit(tmp_path, limit, shown):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "MEDIA_ROOT": str(tmp_path), "MAX_CONTENT_LENGTH": limit, "WTF_CSRF_ENABLED": False})
    resp = app.test_client().post("/auth/login", data={"username": "x" * (limit + 1), "password": "p"})
    assert resp.status_code == 413
    assert shown in resp.get_data(as_text=True)
