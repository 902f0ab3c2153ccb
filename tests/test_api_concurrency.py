"""Real threads against the WSGI app: a retried POST or a racing PUT never duplicates or loses.

Each thread has its own test client; each request runs in its own app context (own database
session), as under gunicorn. Runs on SQLite (file, WAL, BEGIN IMMEDIATE) and on PostgreSQL.
"""
from __future__ import annotations

import threading
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fivs.audits.models import Answer, Audit
from fivs.events.models import Event
from tests.api_support import token_for
from tests.factories import make_audit, make_site, make_user

THREADS = 20


def race(app, method: str, path: str, token: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """Send one request per body, all released at the same moment; returns (status, json) each."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def worker(body):
        client = FlaskClient(app, app.response_class)
        barrier.wait()
        resp = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        with lock:
            results.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=worker, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(bodies), "a request hung"
    return results


@pytest.fixture
def consultant(db):
    site = make_site(code="BG-TH01")
    user = make_user("consultant", site=site)
    db.session.commit()
    return user


def test_twenty_threads_posting_one_audit_create_exactly_one(app, db, consultant):
    body = {"id": str(uuid.uuid4()), "site": "BG-TH01", "phase": "baseline", "date": "2023-05-10"}
    results = race(app, "POST", "/api/v1/audits", token_for(consultant), [body] * THREADS)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (THREADS - 1) + [201], results[:3]
    assert {json["id"] for _, json in results} == {body["id"]}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 1
    created = select(func.count()).select_from(Event).where(Event.action == "audit.create")
    assert db.session.scalar(created) == 1


def test_twenty_threads_starting_the_same_round_with_their_own_ids_create_exactly_one(app, db, consultant):
    bodies = [{"id": str(uuid.uuid4()), "site": "BG-TH01", "phase": "baseline", "date": "2023-05-10"}
              for _ in range(THREADS)]
    results = race(app, "POST", "/api/v1/audits", token_for(consultant), bodies)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (THREADS - 1), statuses
    created = next(json["id"] for status, json in results if status == 201)
    assert {json["error"]["details"]["audit_id"] for status, json in results if status == 409} == {created}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 1


def test_racing_answer_batches_on_one_row_version_save_exactly_one(app, db, consultant):
    audit = make_audit(consultant.assigned_sites[0], consultant)
    items = [i.code for i in audit.template.items if not i.zone.repeats][:THREADS]
    db.session.commit()
    bodies = [{"row_version": 1, "answers": [{"item": code, "score": 2}]} for code in items]
    results = race(app, "PUT", f"/api/v1/audits/{audit.uuid}/answers", token_for(consultant), bodies)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (THREADS - 1), statuses
    assert all(json["error"]["details"]["row_version"] == 2 for status, json in results if status == 409)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 1
    assert db.session.get(Audit, audit.id).row_version == 2
