"""Shared fixtures: `app`, `client`, `db`, login helpers.

Every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too
(the `backend` parameter). The schema is built once per backend per session; after each test
every table is emptied except the checklist versions loaded from checklists/.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, select, text

from fivs import create_app
from fivs.checklists.models import ChecklistTemplate
from fivs.extensions import db as _db

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PHOTOS = SHARED / "testdata" / "photos"
PASSWORD = "correct-horse-9"
_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends(), scope="session")


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    if backend == "postgresql":
        return _worker_database(os.environ["TEST_DATABASE_URL"])
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'fivs-test.sqlite3'}"


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker has a PostgreSQL database of its own (TEST_DATABASE_URL's name
    plus the worker's, created when missing), so that workers never share a schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, name = url.rsplit("/", 1)
    name = f"{name}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    admin.dispose()
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Build the schema and load the shipped checklists once per backend."""
    app = create_app(_config(database_url, tmp_path_factory.mktemp("media0")))
    with app.app_context():
        _db.drop_all()
        _drop_alembic_version()
        _db.create_all()
        from fivs.commands import _load_checklists

        _load_checklists(app.config["CHECKLISTS_DIR"])
        _db.session.commit()
        _SHIPPED_IDS[database_url] = set(_db.session.scalars(select(ChecklistTemplate.id)))
        _db.engine.dispose()
    return database_url


# database url -> ids of the versions loaded from checklists/ (what a test publishes goes again)
_SHIPPED_IDS: dict[str, set[int]] = {}


def _drop_alembic_version():
    with _db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _config(database_url, media_root, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MEDIA_ROOT": str(media_root),
        "RATELIMIT_ENABLED": True,
        **extra,
    }


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def media_root(tmp_path):
    path = tmp_path / "media"
    path.mkdir()
    return path


@pytest.fixture
def app(_schema, media_root, app_config):
    app = create_app(_config(_schema, media_root, **app_config))
    with app.app_context():
        yield app
        _db.session.remove()
        _clean_tables()
        _db.engine.dispose()
    from fivs.extensions import limiter

    limiter.reset()


def _clean_tables():
    keep = {"checklist_templates", "checklist_zones", "checklist_items"}
    shipped = _SHIPPED_IDS[current_app.config["SQLALCHEMY_DATABASE_URI"]]
    with _db.engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            if table.name not in keep:
                conn.execute(table.delete())
        conn.execute(delete(ChecklistTemplate.__table__).where(ChecklistTemplate.__table__.c.id.notin_(shipped)))


@pytest.fixture
def db(app):
    return _db


class Client(FlaskClient):
    """A test client that knows the CSRF token of its session (CSRF stays on in tests).

    Each request runs in its own app context (fresh `g`, its own database session), as in
    production; the test's own session is committed first so it holds no SQLite lock and
    its objects are re-read after the request.
    """

    def open(self, *args, **kwargs):
        _db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf(self) -> str:
        html = self.get("/auth/login" if not self._logged_in() else "/").get_data(as_text=True)
        match = _CSRF_RE.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def _logged_in(self) -> bool:
        with self.session_transaction() as sess:
            return "_user_id" in sess

    def form_post(self, url: str, data: dict | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.post(url, data=data, **kw)


@pytest.fixture
def client(app):
    app.test_client_class = Client
    return app.test_client()


def login(client: Client, username: str, password: str = PASSWORD):
    token = client.csrf()
    return client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": token})


@pytest.fixture
def login_as(client, db):
    """login_as("consultant", site=...) creates a user with that role and logs the client in."""
    from tests.factories import make_user

    def _login(role: str, **kw):
        user = make_user(role, **kw)
        db.session.commit()
        resp = login(client, user.username)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return user

    return _login


@pytest.fixture
def photos_dir():
    assert PHOTOS.is_dir(), f"test photos missing at {PHOTOS}"
    return PHOTOS


@pytest.fixture
def pg_url():
    return os.environ.get("TEST_DATABASE_URL")
