"""Two app servers behind one load balancer: separate processes (`flask --app wsgi run` on two free ports)
on one PostgreSQL database, one S3 bucket (moto's server) and one Redis, configured only through the
environment as in production. What one server writes the other reads: answers, photos, the session
cookie (same FIVS_SECRET_KEY), the failed-login count (FIVS_RATELIMIT_URL), and a deactivation.

Needs PostgreSQL (TEST_DATABASE_URL; CI sets it): SQLite cannot be one database for two machines.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from fivs import create_app
from fivs.extensions import db
from tests.conftest import PASSWORD, PHOTOS, ROOT, _CSRF_RE, free_port
from tests.test_ratelimit_redis import redis_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="two servers share one PostgreSQL database: set TEST_DATABASE_URL")

ITEM = "TCH-S1-01"  # an item of a zone audited once


@pytest.fixture(scope="module")
def shared_database():
    """A PostgreSQL database of this module's own with the schema and the shipped checklists."""
    base = os.environ["TEST_DATABASE_URL"]
    name = f"{base.rsplit('/', 1)[1]}_two_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = f"{base.rsplit('/', 1)[0]}/{name}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from fivs.commands import _load_checklists

        db.create_all()
        _load_checklists(app.config["CHECKLISTS_DIR"])
        db.session.commit()
        db.engine.dispose()
    yield url, app
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Server:
    """`flask --app wsgi run` in its own process, configured by the environment only."""

    def __init__(self, env: dict, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "w+")  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "run",
                                      "-h", "127.0.0.1", "-p", str(self.port), "--no-reload", "--no-debugger"],
                                     cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"server exited: {self.log.read_text()[-3000:]}"
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"server did not answer: {self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


@pytest.fixture(scope="module")
def servers(shared_database, moto_s3, redis_server, tmp_path_factory):  # noqa: F811
    url, app = shared_database
    prefix = f"two-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIVS_")}
    env.update({"FIVS_DATABASE_URL": url, "FIVS_SECRET_KEY": "one-key-for-every-server",
                "FIVS_MEDIA_URL": f"s3://{moto_s3.bucket}/{prefix}", "FIVS_S3_ENDPOINT_URL": moto_s3.endpoint,
                "FIVS_RATELIMIT_URL": redis_server.url, "FIVS_MEDIA_ROOT": str(tmp_path_factory.mktemp("unused"))})
    logs = tmp_path_factory.mktemp("servers")
    pair = [Server(env, logs / "a.log"), Server(env, logs / "b.log")]
    try:
        for server in pair:
            server.wait()
        yield pair, app, moto_s3, prefix
    finally:
        for server in pair:
            server.stop()


def _login(session: requests.Session, server: Server, username: str, password: str = PASSWORD):
    page = session.get(server.url + "/auth/login")
    token = _CSRF_RE.search(page.text).group(1)
    return session.post(server.url + "/auth/login", allow_redirects=False,
                        data={"username": username, "password": password, "csrf_token": token})


def test_two_servers_share_database_bucket_sessions_and_limits(servers):
    from tests.api_support import token_for
    from tests.factories import make_audit, make_site, make_user

    (a, b), app, s3, prefix = servers
    with app.app_context():
        site = make_site(code="BG-TH01")
        consultant = make_user("consultant", site=site)
        audit = make_audit(site, consultant)
        db.session.commit()
        token, username, audit_uuid = token_for(consultant), consultant.username, str(audit.uuid)
        db.engine.dispose()
    bearer = {"Authorization": f"Bearer {token}"}

    # An answer saved through A is read through B.
    saved = requests.put(f"{a.url}/api/v1/audits/{audit_uuid}/answers", headers=bearer, timeout=30,
                         json={"row_version": 1, "answers": [{"item": ITEM, "score": 3, "note": "Gọn gàng"}]})
    assert saved.status_code == 200, saved.text
    read = requests.get(f"{b.url}/api/v1/audits/{audit_uuid}", headers=bearer, timeout=30).json()
    assert [(x["item"], x["score"], x["note"]) for x in read["answers"]] == [(ITEM, 3, "Gọn gàng")]

    # A photo uploaded through A is served by B (from the one bucket: A's disk holds nothing).
    photo_id = str(uuid.uuid4())
    jpeg = (PHOTOS / "orientation" / "Landscape_6.jpg").read_bytes()
    up = requests.post(f"{a.url}/api/v1/audits/{audit_uuid}/photos", headers=bearer, timeout=60,
                       data={"id": photo_id, "item": ITEM}, files={"file": ("anh.jpg", jpeg, "image/jpeg")})
    assert up.status_code == 201, up.text
    served = requests.get(f"{b.url}/api/v1/photos/{photo_id}/display", headers=bearer, timeout=30)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    stored = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix + "/")["Contents"]]
    display = next(k for k in stored if k.endswith(f"{photo_id}-display.jpg"))
    assert served.content == s3.client.get_object(Bucket=s3.bucket, Key=display)["Body"].read()

    # A session cookie from A is valid on B (same secret key; the cookie is not bound to a port).
    browser = requests.Session()
    assert _login(browser, a, username).status_code == 302
    for server in (a, b):
        page = browser.get(f"{server.url}/audits/{audit_uuid}/summary", allow_redirects=False)
        assert page.status_code == 200, (server.url, page.status_code)
    assert browser.get(f"{b.url}/photos/{photo_id}/thumb").status_code == 200
    other = requests.Session()  # and without it, B sends a stranger to the login page
    assert other.get(f"{b.url}/audits/{audit_uuid}/summary", allow_redirects=False).status_code == 302

    # Deactivating the user (an admin's change in the shared database) ends the session on both servers.
    with app.app_context():
        from fivs.auth.models import User

        user = db.session.scalars(db.select(User).where(User.username == username)).one()
        user.active = False
        db.session.commit()
        db.engine.dispose()
    for server in (a, b):
        page = browser.get(f"{server.url}/audits/{audit_uuid}/summary", allow_redirects=False)
        assert page.status_code == 302 and "/auth/login" in page.headers["Location"], server.url

    # Failed logins are counted once for both: five through each, then the 11th is refused by either.
    with app.app_context():
        victim = make_user("reviewer").username
        db.session.commit()
        db.engine.dispose()
    for server in (a, b):
        for _ in range(5):
            assert _login(requests.Session(), server, victim, "wrong-password").status_code == 401
    for server in (a, b):
        assert _login(requests.Session(), server, victim, "wrong-password").status_code == 429
        assert _login(requests.Session(), server, victim).status_code == 429
