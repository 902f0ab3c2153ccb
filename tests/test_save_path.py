"""The answer-save path that every tablet hits: short answers (Prefer: return=minimal), scores
from the answers read back, the checklist spec cache, reads without a write transaction
(fivs.db.reading) before one transaction for the writes, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text, update

from fivs.audits import services
from fivs.audits.models import Answer, Audit
from fivs.events.models import Event
from fivs.checklists.loader import load_template, parse_file
from fivs.checklists.spec import checklist_spec
from fivs.db import reading
from fivs.services_errors import ConflictError, LockedError
from tests.api_support import api  # noqa: F401  (fixture)
from tests.factories import make_audit, make_site, make_user
from tests.test_checklists import VALID, write


@pytest.fixture
def setup(db):
    site = make_site(code="BG-TH01")
    consultant = make_user("consultant", site=site)
    audit = make_audit(site, consultant, rooms=())
    db.session.commit()
    return site, consultant, audit


def _plain_items(audit) -> list[str]:
    return [i.code for i in audit.template.items if not i.zone.repeats]


def test_minimal_answer_has_version_saved_answers_and_the_same_scores(api, db, setup):
    _site, consultant, audit = setup
    api.login(consultant)
    items = _plain_items(audit)
    na_item = next(i.code for i in audit.template.items if i.na_allowed and not i.zone.repeats)
    first = api.put(f"/audits/{audit.uuid}/answers", json={"row_version": 1, "answers": [
        {"item": items[0], "score": 4}, {"item": items[1], "score": 1, "note": "Tủ thuốc chưa dán nhãn"},
        {"item": na_item, "na": True}]})
    assert first.status_code == 200 and "answers" in first.get_json() and "zone_instances" in first.get_json()
    resp = api.put(f"/audits/{audit.uuid}/answers", headers={"Prefer": "return=minimal"},
                   json={"row_version": 2, "answers": [{"item": items[1], "score": 3}]})
    assert resp.status_code == 200
    assert resp.headers["Preference-Applied"] == "return=minimal" and "Prefer" in resp.headers["Vary"]
    body = resp.get_json()
    assert set(body) == {"id", "status", "row_version", "updated_at", "answers", "scores"}
    assert body["id"] == str(audit.uuid) and body["row_version"] == 3 and body["status"] == "draft"
    # Only the answer just saved, its note kept; the scores are those of the whole audit.
    assert [(a["item"], a["score"], a["note"]) for a in body["answers"]] == [
        (items[1], 3, "Tủ thuốc chưa dán nhãn")]
    full = api.get(f"/audits/{audit.uuid}").get_json()
    assert body["scores"] == full["scores"]
    assert full["row_version"] == 3 and len(full["answers"]) == 3
    assert len(resp.data) < len(api.get(f"/audits/{audit.uuid}").data)


def test_minimal_scores_equal_the_whole_audits_with_rooms_na_and_unscored(api, db, setup):
    """The short answer's scores are the whole audit's, on an audit
    with every item answered, two rooms of each repeating zone, N/A and unscored answers."""
    _site, consultant, audit = setup
    api.login(consultant)
    answers = []
    for n, item in enumerate(audit.template.items):
        for room in (["Lớp 1A", "Lớp 2B"] if item.zone.repeats else [None]):
            entry = {"item": item.code, "score": (n * 7 + len(answers)) % 5}
            if item.na_allowed and n % 3 == 0:
                entry = {"item": item.code, "na": True}
            elif n % 11 == 5:
                entry = {"item": item.code, "score": None}
            answers.append({**entry, "zone_instance": room} if room else entry)
    resp = api.put(f"/audits/{audit.uuid}/answers", headers={"Prefer": "return=minimal"},
                   json={"row_version": 1, "answers": answers})
    assert resp.status_code == 200, resp.get_json()
    full = api.get(f"/audits/{audit.uuid}").get_json()
    assert len(full["answers"]) == len(answers) and len(full["zone_instances"]) >= 2
    assert resp.get_json()["scores"] == full["scores"]
    assert full["scores"]["overall"] is not None


def test_minimal_answer_of_a_batch_lists_each_answer_once(api, db, setup):
    _site, consultant, audit = setup
    api.login(consultant)
    item = _plain_items(audit)[0]
    resp = api.put(f"/audits/{audit.uuid}/answers", headers={"Prefer": "return=minimal"}, json={
        "row_version": 1, "answers": [{"item": item, "score": 1}, {"item": item, "score": 2}]})
    assert resp.status_code == 200
    assert [(a["item"], a["score"]) for a in resp.get_json()["answers"]] == [(item, 2)]
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 1
    assert db.session.scalar(select(Answer.score)) == 2


@pytest.mark.parametrize("row_version", [None, 1], ids=["no-version", "tablet"])
def test_an_audit_submitted_after_it_was_read_refuses_the_save(app, db, setup, row_version):
    """The save's checks read the audit first; the write checks its status again, in one statement
    (a tablet's save, with its row version, on PostgreSQL: the statement that also writes the answer)."""
    _site, consultant, audit = setup
    item = _plain_items(audit)[0]
    assert audit.status == "draft"
    db.session.execute(update(Audit).where(Audit.id == audit.id).values(status="submitted")
                       .execution_options(synchronize_session=False))  # another request, unseen
    assert audit.status == "draft"
    with pytest.raises(LockedError):
        services.save_answers(audit, consultant, [{"item": item, "score": 4}], row_version=row_version)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert db.session.get(Audit, audit.id).row_version == 1


def test_a_save_on_a_version_changed_since_it_was_read_writes_nothing(app, db, setup):
    _site, consultant, audit = setup
    item = _plain_items(audit)[0]
    db.session.execute(update(Audit).where(Audit.id == audit.id).values(row_version=2)
                       .execution_options(synchronize_session=False))  # another tablet's save, unseen
    with pytest.raises(ConflictError) as caught:
        services.save_answers(audit, consultant, [{"item": item, "score": 4}], row_version=1)
    assert caught.value.details == {"row_version": 2}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_a_save_on_an_audit_reopened_since_it_was_read_is_logged_with_old_values(app, db, setup):
    """A reopened audit's changes are logged with their old values: a tablet's save that finds the
    audit reopened under it takes the logged path, whatever it read before."""
    _site, consultant, audit = setup
    item = _plain_items(audit)[0]
    services.save_answers(audit, consultant, [{"item": item, "score": 1}], row_version=1)
    db.session.commit()
    db.session.execute(update(Audit).where(Audit.id == audit.id).values(status="reopened")
                       .execution_options(synchronize_session=False))  # submitted and reopened, unseen
    assert audit.status == "draft"
    services.save_answers(audit, consultant, [{"item": item, "score": 3}], row_version=2)
    db.session.commit()
    event = db.session.scalars(select(Event).where(Event.action == "answer.change")).one()
    assert (event.old_value["score"], event.new_value["score"]) == (1, 3)
    assert db.session.get(Audit, audit.id).row_version == 3


@contextmanager
def recorded_statements(db):
    """The SQL statements run meanwhile, whitespace folded (SQLite's BEGIN left out: PostgreSQL's is not a
    cursor's)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):
            statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_tablets_save_is_five_statements_on_either_database(api, db, setup, backend):
    """Every tablet's tap is a save: the token's query (the user's assigned sites come with it), the
    audit with its checklist, the bump of the audit's row version, the answer's upsert and the read
    of the audit's answers for the scores; the same statements on SQLite and PostgreSQL."""
    _site, consultant, audit = setup
    api.login(consultant)
    items, url = _plain_items(audit), f"/audits/{audit.uuid}/answers"
    api.put(url, json={"row_version": 1, "answers": [{"item": items[0], "score": 2}]})  # the token is touched
    with recorded_statements(db) as statements:
        resp = api.put(url, headers={"Prefer": "return=minimal"},
                       json={"row_version": 2, "answers": [{"item": items[1], "score": 4}]})
    assert resp.status_code == 200 and resp.get_json()["row_version"] == 3
    assert resp.get_json()["scores"] == api.get(url[:-len("/answers")]).get_json()["scores"]
    kinds = [" ".join(s.split()[:3]) for s in statements]
    assert "FROM users JOIN api_tokens" in statements[0] and "consultant_sites" in statements[0], statements
    assert statements[1].startswith("SELECT audits.id") and "checklist_templates" in statements[1], statements
    assert kinds[2:] == ["UPDATE audits SET", "INSERT INTO answers", "SELECT answers.item_id, answers.zone_instance"], statements
    assert len(statements) == 5


def test_a_tablets_change_of_an_answer_adds_only_its_event_and_reads_nothing_first(api, db, setup, backend):
    """Changing a saved answer logs its old value without reading the answer first: the upsert returns
    what it overwrote, so the save is the five statements of a first answer and the event's INSERT."""
    _site, consultant, audit = setup
    api.login(consultant)
    items, url = _plain_items(audit), f"/audits/{audit.uuid}/answers"
    api.put(url, json={"row_version": 1, "answers": [{"item": items[0], "score": 2}]})
    with recorded_statements(db) as statements:
        resp = api.put(url, headers={"Prefer": "return=minimal"},
                       json={"row_version": 2, "answers": [{"item": items[0], "score": 4}]})
    assert resp.status_code == 200 and resp.get_json()["row_version"] == 3
    kinds = [" ".join(s.split()[:3]) for s in statements]
    assert kinds[2:] == ["UPDATE audits SET", "INSERT INTO answers", "INSERT INTO events",
                         "SELECT answers.item_id, answers.zone_instance"], statements
    change = db.session.scalars(select(Event).where(Event.action == "answer.change")).one()
    assert (change.old_value["score"], change.new_value["score"]) == (2, 4)


def test_api_save_does_not_leave_a_loaded_answer_stale(app, db, setup):
    _site, consultant, audit = setup
    item = _plain_items(audit)[0]
    services.save_answers(audit, consultant, [{"item": item, "score": 1}], row_version=None)
    db.session.flush()
    answer = db.session.scalar(select(Answer))
    assert answer.score == 1
    db.session.expire(audit, ["answers"])
    services.save_answers(audit, consultant, [{"item": item, "score": 4, "note": "Đã sửa"}], row_version=None)
    assert (answer.score, answer.note) == (4, "Đã sửa")


def test_spec_follows_a_template_reloaded_before_any_audit_used_it(app, db, tmp_path):
    template = load_template(parse_file(write(tmp_path, VALID))).template
    db.session.commit()
    assert [i.code for i in checklist_spec(template).items] == ["R-1", "R-2"]
    extra = VALID + ("      - code: R-3\n        s: seiso\n"
                     "        text: {vi: \"Sàn sạch\", en: \"Clean floor\"}\n")
    assert load_template(parse_file(write(tmp_path, extra, "t2.yaml"))).action == "updated"
    db.session.commit()
    spec = checklist_spec(template)
    assert [i.code for i in spec.items] == ["R-1", "R-2", "R-3"]
    assert spec.by_code["R-3"].s == "seiso" and spec.by_code["R-1"].repeats


def test_reads_inside_reading_hold_no_write_lock_and_refuse_writes(app, db, setup, backend):
    _site, _consultant, audit = setup
    audit_id, path = audit.id, f"/api/v1/audits/{audit.uuid}/answers"
    db.session.commit()  # the test's session holds nothing from here on
    with app.test_request_context(path, method="PUT"):
        with reading():
            assert db.session.scalar(select(Audit.row_version).where(Audit.id == audit_id)) == 1
            if backend == "sqlite":
                # A shared read: another connection (another worker) can still write meanwhile.
                other = sqlite3.connect(db.engine.url.database, timeout=5)
                other.execute("UPDATE audits SET updated_at = updated_at WHERE id = ?", (audit_id,))
                other.commit()
                other.close()
            with pytest.raises(RuntimeError, match="read phase"):
                db.session.execute(text("UPDATE audits SET row_version = 5 WHERE id = :id"), {"id": audit_id})
        db.session.execute(text("UPDATE audits SET row_version = 5 WHERE id = :id"), {"id": audit_id})
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Audit, audit_id).row_version == 5


def test_a_short_save_reads_its_scores_where_they_hold_no_other_writer_back(api, db, setup, backend, monkeypatch):
    """SQLite: the scores are read after the commit, while the save holds neither SQLite's write lock
    nor the app's writer queue (another worker can write meanwhile). PostgreSQL (no writer queue):
    in the save's own transaction just before its commit, so no second connection is checked out
    for them; the answer just written is among them."""
    from fivs.api import representations
    from fivs.db import _WriterQueue

    _site, consultant, audit = setup
    api.login(consultant)
    audit_id, (first, item) = audit.id, _plain_items(audit)[:2]
    item_id = next(i.id for i in audit.template.items if i.code == item)
    url = f"/audits/{audit.uuid}/answers"
    assert api.put(url, json={"row_version": 1, "answers": [{"item": first, "score": 1}]}).status_code == 200
    seen = {}  # from here on the token is touched already (at most once a minute: a write of its own)
    real = representations.answer_rows
    checkouts = []

    def count_checkout(*_args):
        checkouts.append(1)

    event.listen(db.engine, "checkout", count_checkout)

    def watching(audit_pk):
        if backend == "sqlite":
            seen["queue_held"] = _WriterQueue.for_database(db.engine.url.database).thread_lock.locked()
            other = sqlite3.connect(db.engine.url.database, timeout=0.5)
            other.execute("BEGIN IMMEDIATE")  # would fail with "database is locked" under the save's lock
            seen["version_outside"] = other.execute(
                "SELECT row_version FROM audits WHERE id = ?", (audit_pk,)).fetchone()[0]
            other.rollback()
            other.close()
            return real(audit_pk)
        from psycopg.pq import TransactionStatus

        own = db.session.connection().connection.dbapi_connection
        seen["in_the_save_transaction"] = own.info.transaction_status == TransactionStatus.INTRANS
        rows = real(audit_pk)
        seen["the_saved_answer_among_them"] = any(r.item_id == item_id and r.score == 4 for r in rows)
        return rows

    monkeypatch.setattr(representations, "answer_rows", watching)
    try:
        resp = api.put(url, headers={"Prefer": "return=minimal"},
                       json={"row_version": 2, "answers": [{"item": item, "score": 4}]})
    finally:
        event.remove(db.engine, "checkout", count_checkout)
    assert resp.status_code == 200 and resp.get_json()["row_version"] == 3
    assert resp.get_json()["scores"]["by_zone"]
    if backend == "sqlite":
        assert seen == {"queue_held": False, "version_outside": 3}  # committed, lock released
    else:
        assert seen == {"in_the_save_transaction": True, "the_saved_answer_among_them": True}
        assert len(checkouts) == 1  # the save's one connection, for the token, the audit, the writes and the scores
    db.session.expire_all()
    assert db.session.get(Audit, audit_id).row_version == 3


def _transaction_commands(backend, db, run) -> list[str]:
    """The transaction commands (BEGIN…, COMMIT, ROLLBACK) the app's connections sent while `run()`
    ran, as the database received them: libpq's own protocol trace on PostgreSQL, sqlite3's
    statement trace on SQLite."""
    import tempfile

    commands: list[str] = []
    trace = tempfile.TemporaryFile()

    def watch(dbapi_connection, _record, _proxy):
        if backend == "postgresql":
            from psycopg.pq import Trace

            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        else:
            dbapi_connection.set_trace_callback(commands.append)

    def unwatch(dbapi_connection, _record):
        if dbapi_connection is None:
            return
        if backend == "postgresql":
            dbapi_connection.pgconn.untrace()
        else:
            dbapi_connection.set_trace_callback(None)

    event.listen(db.engine, "checkout", watch)
    event.listen(db.engine, "checkin", unwatch)
    try:
        run()
    finally:
        event.remove(db.engine, "checkout", watch)
        event.remove(db.engine, "checkin", unwatch)
    if backend == "postgresql":  # what the app sent ("F"), e.g. 'F\t10\tQuery\t "BEGIN"'
        trace.seek(0)
        commands = [line.split("\t")[-1].strip().strip('"') for line in trace.read().decode().splitlines()
                    if line.startswith("F\t") and "\tQuery\t" in line]
    trace.close()
    return [c.strip() for c in commands if re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)\b", c, re.I)]


def test_a_tablets_save_reads_outside_and_writes_in_one_transaction(api, db, setup, backend):
    """The token's and the audit's reads and the scores' read after the commit run without a write
    transaction (PostgreSQL: autocommit, no BEGIN; SQLite: shared read transactions); the save's
    writes are exactly one transaction, also when it must write twice (a room added with its
    answer); an ordinary request is one transaction, as always."""
    _site, consultant, audit = setup
    api.login(consultant)
    url = f"/audits/{audit.uuid}/answers"
    plain = _plain_items(audit)
    room_item = next(i.code for i in audit.template.items if i.zone.repeats)
    api.put(url, json={"row_version": 1, "answers": [{"item": plain[0], "score": 2}]})  # the token is touched

    def save():
        resp = api.put(url, headers={"Prefer": "return=minimal"},
                       json={"row_version": 2, "answers": [{"item": plain[1], "score": 4}]})
        assert resp.status_code == 200 and resp.get_json()["row_version"] == 3

    def save_in_a_new_room():
        resp = api.put(url, headers={"Prefer": "return=minimal"}, json={
            "row_version": 3, "answers": [{"item": room_item, "zone_instance": "Lớp 5A", "score": 3}]})
        assert resp.status_code == 200 and resp.get_json()["row_version"] == 4

    def submit_refused():
        assert api.post(f"/audits/{audit.uuid}/submit", json={"row_version": 4}).status_code == 422

    tablet = _transaction_commands(backend, db, save)
    room = _transaction_commands(backend, db, save_in_a_new_room)
    ordinary = _transaction_commands(backend, db, submit_refused)
    if backend == "postgresql":
        assert tablet == ["BEGIN", "COMMIT"]
        assert room == ["BEGIN", "COMMIT"]
        assert ordinary[0] == "BEGIN" and ordinary[-1] == "ROLLBACK"
    else:
        reads = ["BEGIN", "COMMIT"]  # a shared read transaction
        assert tablet == reads + reads + ["BEGIN IMMEDIATE", "COMMIT"] + reads
        assert room == reads + reads + ["BEGIN IMMEDIATE", "COMMIT"] + reads
        assert ordinary[0] == "BEGIN IMMEDIATE"
    db.session.expire_all()
    saved = {(a.item.code, a.room): a.score for a in db.session.get(Audit, audit.id).answers}
    assert saved == {(plain[0], ""): 2, (plain[1], ""): 4, (room_item, "Lớp 5A"): 3}
