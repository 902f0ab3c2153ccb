"""Concurrent writers on one audit: 20 threads each save a different answer, with the client's
sequential semantics (send the row version you know; on a 409 take the current one from the
reply and send again). Every save lands exactly once, the row version counts every save, and no
request fails: no "database is locked" on SQLite (WAL + BEGIN IMMEDIATE, fivs/db.py), none on
PostgreSQL. (tests/test_api_concurrency.py races 20 batches on ONE row version: exactly one wins.)
"""
from __future__ import annotations

import threading

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from fivs.audits.models import Answer, Audit
from tests.api_support import token_for
from tests.factories import make_audit, make_site, make_user

THREADS = 20
MAX_TRIES = 200  # per thread; bounded, far above what 20 writers need


@pytest.fixture
def audit_and_token(db):
    site = make_site(code="BG-TH01")
    user = make_user("consultant", site=site)
    audit = make_audit(site, user)
    db.session.commit()
    return audit, token_for(user)


def save_until_accepted(app, path: str, token: str, item: str, score: int, start, log: list) -> None:
    client = FlaskClient(app, app.response_class)
    row_version = 1
    start.wait()
    for _try in range(MAX_TRIES):
        resp = client.put(path, json={"row_version": row_version, "answers": [{"item": item, "score": score}]},
                          headers={"Authorization": f"Bearer {token}"})
        log.append((item, resp.status_code, resp.get_data(as_text=True)[:300]))
        if resp.status_code != 409:
            return
        row_version = resp.get_json()["error"]["details"]["row_version"]


def test_twenty_writers_with_retry_all_land_once_without_lock_errors(app, db, audit_and_token):
    audit, token = audit_and_token
    audit_id, path = audit.id, f"/api/v1/audits/{audit.uuid}/answers"
    items = [(i.id, i.code) for i in audit.template.items if not i.zone.repeats][:THREADS]
    db.session.commit()  # the test's own session holds no SQLite lock while the writers run
    start, log = threading.Barrier(THREADS), []
    threads = [threading.Thread(target=save_until_accepted, args=(app, path, token, code, n % 5, start, log))
               for n, (_id, code) in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a writer hung"

    final = {item: status for item, status, _body in log if status != 409}
    assert final == {code: 200 for _id, code in items}, [entry for entry in log if entry[1] not in (200, 409)]
    assert not [body for _i, _s, body in log if "locked" in body.lower()]
    saved = db.session.execute(select(Answer.item_id, Answer.score).where(Answer.audit_id == audit_id)).all()
    assert sorted(saved) == sorted((item_id, n % 5) for n, (item_id, _code) in enumerate(items))
    # Sequential semantics: every accepted save bumped the version exactly once.
    assert db.session.get(Audit, audit_id).row_version == 1 + THREADS
    assert db.session.scalar(select(func.count()).select_from(Answer)) == THREADS


def test_a_stale_row_version_is_refused_on_both_databases(client, db, audit_and_token):
    audit, token = audit_and_token
    item = next(i for i in audit.template.items if not i.zone.repeats)
    path, headers = f"/api/v1/audits/{audit.uuid}/answers", {"Authorization": f"Bearer {token}"}
    first = client.put(path, json={"row_version": 1, "answers": [{"item": item.code, "score": 4}]},
                       headers=headers)
    stale = client.put(path, json={"row_version": 1, "answers": [{"item": item.code, "score": 0}]},
                       headers=headers)
    assert (first.status_code, stale.status_code) == (200, 409)
    assert stale.get_json()["error"]["details"]["row_version"] == 2
    db.session.expire_all()
    assert db.session.scalar(select(Answer.score).where(Answer.audit_id == audit.id)) == 4


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(app, db, backend):
    if backend != "sqlite":
        assert db.engine.dialect.name == "postgresql"
        return
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    assert getattr(db.engine, "_fivs_tuned", False)
