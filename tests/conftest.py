"""Shared fixtures: `app`, `client`, `db`, login helpers, `media`.

Every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too
(the `backend` parameter). The schema is built once per backend per session; after each test
every table is emptied except the checklist versions loaded from checklists/.

Tests marked `media_backends` (the photo, report and backup suites) run once more with the photos
in S3: a moto standalone server (`moto_server`, a real S3 protocol server on a free loopback port,
one per session and xdist worker) holds one bucket, each test its own prefix. To keep CI time, the
S3 run is on SQLite only, unless the mark says `postgresql=True` (a representative few).
The `media` fixture looks at what is stored whatever the backend (files, staging files included).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
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
    marker = metafunc.definition.get_closest_marker("media_backends")
    if marker is not None and "media_backend" in metafunc.fixturenames:
        if "backend" in metafunc.fixturenames:
            combos = [(b, "local") for b in backends()] + [("sqlite", "s3")]
            if "postgresql" in backends() and marker.kwargs.get("postgresql"):
                combos.append(("postgresql", "s3"))
            metafunc.parametrize(("backend", "media_backend"), combos, scope="session")
        else:
            metafunc.parametrize("media_backend", ["local", "s3"], scope="session")
        return
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends(), scope="session")


@pytest.fixture(scope="session")
def media_backend(request) -> str:
    """"local" (the folder) or "s3" (moto's server); only tests marked `media_backends` get "s3"."""
    return getattr(request, "param", "local")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


S3_BUCKET = "fivs-test"
_S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """moto's standalone S3 server on a free loopback port with one bucket; stopped after the session.
    The AWS_* variables are set to moto's dummy credentials for this process and its children."""
    binary = Path(sys.executable).with_name("moto_server")
    assert binary.exists(), "moto_server is missing: `make install-dev` installs moto[server] (requirements-dev.txt)"
    saved = {name: os.environ.get(name) for name in _S3_ENV}
    os.environ.update(_S3_ENV)
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    log = open(log_path, "w+")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"moto_server exited: {log_path.read_text()}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not listen within 30 s"
                time.sleep(0.1)
        client.create_bucket(Bucket=S3_BUCKET)
        yield SimpleNamespace(endpoint=endpoint, bucket=S3_BUCKET, client=client, port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalMedia:
    """What a media folder holds."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config: dict = {"MEDIA_ROOT": str(root), "MEDIA_URL": ""}

    def files(self) -> list[str]:
        """Every file under the folder, staging files (.tmp) included."""
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def content_type(self, key: str) -> str:
        return "image/jpeg" if key.endswith(".jpg") else "application/octet-stream"


class S3Media:
    """What a prefix of the test bucket holds (read with a client of its own, not the app's backend)."""

    kind = "s3"

    def __init__(self, s3, prefix: str, media_root: Path) -> None:
        self.s3, self.prefix = s3, prefix
        self.config: dict = {"MEDIA_ROOT": str(media_root), "MEDIA_URL": f"s3://{s3.bucket}/{prefix}",
                             "S3_ENDPOINT_URL": s3.endpoint}

    def files(self) -> list[str]:
        pages = self.s3.client.get_paginator("list_objects_v2").paginate(Bucket=self.s3.bucket,
                                                                          Prefix=self.prefix + "/")
        return sorted(e["Key"][len(self.prefix) + 1:] for page in pages for e in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.s3.client.get_object(Bucket=self.s3.bucket, Key=f"{self.prefix}/{key}")["Body"].read()

    def content_type(self, key: str) -> str:
        return self.s3.client.head_object(Bucket=self.s3.bucket, Key=f"{self.prefix}/{key}")["ContentType"]


def make_media(kind: str, request, folder: Path):
    """A new, empty media store of `kind` ("local": `folder`; "s3": a fresh prefix of the moto bucket)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "s3":
        return S3Media(request.getfixturevalue("moto_s3"), f"t-{uuid.uuid4().hex[:12]}", folder)
    return LocalMedia(folder)


@pytest.fixture
def media(media_backend, media_root, request):
    """The test app's media store (folder `media_root`, or an S3 prefix of its own)."""
    return make_media(media_backend, request, media_root)


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
def app(_schema, media_root, media, app_config):
    app = create_app(_config(_schema, media_root, **{**media.config, **app_config}))
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
