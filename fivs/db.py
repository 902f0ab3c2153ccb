"""Database engine tuning.

SQLite: WAL journal, a generous busy timeout, foreign keys on, and every transaction begun
with BEGIN IMMEDIATE (SQLAlchemy's documented pysqlite recipe), so concurrent writers queue
for the write lock instead of failing with "database is locked" on lock upgrade.

Waiting for SQLite's lock is slow: its busy handler sleeps 1, 2, 5, 10 … 100 ms between tries,
so under twenty busy tablets most of the time goes to sleeping while the lock is free. On a
database file, transactions therefore queue first on a lock of their own: threads of one
process on a `threading.Lock` (bounded by the busy timeout), processes (gunicorn workers) on an
exclusive `flock` of `<database>-writer.lock`; both hand over the moment the holder commits or
rolls back. A thread that already holds the queue through another connection does not queue
again (that would wait for itself); SQLite's own busy timeout then applies as before.

Read first, then write. The busiest requests (a tablet saving answers, uploading a photo)
spend most of their time reading and checking (the token, the audit, the photo's pixels) and
little writing. A view marked `@read_first` runs its reads, from the first before_request hook
on, in a deferred (shared) transaction that holds neither the queue nor SQLite's write lock;
the service calls `begin_writes()` when its checks are done: the read transaction ends (loaded
objects stay loaded) and the next statement begins a write transaction as usual. Whatever was
read is checked again by the writes (compare-and-set on the row version and status). A write
statement inside the read phase is a programming error and raises at once.

On PostgreSQL the read phase runs in autocommit: each read is a transaction of its own, so no
transaction stays open while the request checks (a photo's pixels take a while) and no BEGIN
and ROLLBACK are paid for reads; `begin_writes()` turns the connection back to transactions
(the writes are one, committed by the request as usual). A single statement that must check,
write and read back atomically may run before `begin_writes()`: it is then its own transaction
(a tablet's one-answer save: fivs.audits.services.save_answers), no BEGIN and no COMMIT.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

SQLITE_BUSY_TIMEOUT_MS = 30_000


class _WriterQueue:
    """One per database file and process: the in-process lock and the lock file's path."""

    _queues: dict[str, _WriterQueue] = {}
    _queues_lock = threading.Lock()

    def __init__(self, lock_path: str) -> None:
        self.lock_path = lock_path
        self.thread_lock = threading.Lock()
        self.holder: int | None = None  # the thread that holds the queue

    @classmethod
    def for_database(cls, database: str) -> _WriterQueue:
        path = os.path.abspath(database) + "-writer.lock"
        with cls._queues_lock:
            return cls._queues.setdefault(path, cls(path))


class QueuedConnection(sqlite3.Connection):
    """A pysqlite connection whose transactions hold the database's writer queue."""

    _queue: _WriterQueue | None = None
    _lock_fd: int | None = None
    _holding = False

    def attach_queue(self, queue: _WriterQueue) -> None:
        self._queue = queue
        self._lock_fd = os.open(queue.lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    def enter_queue(self) -> None:
        queue = self._queue
        if queue is None or self._holding or queue.holder == threading.get_ident():
            return
        if not queue.thread_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (waited for the writer queue)")
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # blocks without the GIL
        except BaseException:
            queue.thread_lock.release()
            raise
        self._holding, queue.holder = True, threading.get_ident()

    def leave_queue(self) -> None:
        if not self._holding:
            return
        self._holding, self._queue.holder = False, None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            self._queue.thread_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


# ---------------------------------------------------------------- read first, then write
def read_first(view):
    """Mark a view whose reads run before its writes (see the module's docstring)."""
    view._fivs_read_first = True
    return view


def in_read_phase() -> bool:
    """True while a @read_first request has not called begin_writes() yet."""
    if not has_request_context() or g.get("_fivs_writing"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "_fivs_read_first", False)


def on_begin_writes(callback) -> None:
    """Run `callback()` as the first thing of the write phase (at once outside a read phase)."""
    if in_read_phase():
        g.setdefault("_fivs_on_write", []).append(callback)
    else:
        callback()


def begin_writes() -> None:
    """End a @read_first request's read phase: its read transaction ends without expiring what
    it loaded, and the next statement begins a write transaction. Does nothing elsewhere."""
    if not in_read_phase():
        return
    from fivs.extensions import db

    g._fivs_writing = True
    session = db.session()  # the request's Session (not the scoped proxy)
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        # SQLite's read transaction ends (it holds no write lock; the next one takes it).
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    elif session.in_transaction():
        _end_autocommit(session.connection())  # PostgreSQL: the next statement begins the writes
    for callback in g.pop("_fivs_on_write", []):
        callback()


def commit_then_read(read):
    """Commit the request's writes and return `read()`, read where it costs the other writers least.

    On SQLite one writer at a time holds the queue until it commits, so a read that need not be
    under the lock (the scores a tablet shows after its save) runs after the commit, in a read
    transaction beside the others; writes are refused again. Elsewhere it runs before the commit,
    in the same transaction (a second one would cost a BEGIN and a ROLLBACK). `read` must not use
    ORM attributes that the commit expires: pass it plain values. What it reads includes at least
    the committed writes (on SQLite also any committed just after them)."""
    from fivs.extensions import db

    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        result = read()
        session.commit()
        return result
    session.commit()
    if has_request_context() and g.get("_fivs_writing"):
        g._fivs_writing = False  # a @read_first view reads again: a deferred transaction, no queue
    return read()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _refuse_writes_while_reading(conn, _cursor, statement, _params, _context, _many) -> None:
    if conn.info.get("fivs_reading") and statement.lstrip()[:7].upper().startswith(_WRITES):
        raise RuntimeError("a write inside the read phase of a @read_first view: call begin_writes() first")


def _sqlite_begin(conn) -> None:
    if in_read_phase():
        conn.exec_driver_sql("BEGIN")  # deferred: a reader beside the others, no queue, no write lock
        conn.info["fivs_reading"] = True
        return
    conn.info["fivs_reading"] = False
    dbapi = conn.connection.dbapi_connection
    queued = isinstance(dbapi, QueuedConnection)
    if queued:
        try:
            dbapi.enter_queue()
        except sqlite3.OperationalError as exc:
            raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if queued:
            dbapi.leave_queue()
        raise


def _file_database(engine: Engine) -> str | None:
    database = engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:") or engine.url.query.get("uri"):
        return None
    return database


def tune_sqlite_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or getattr(engine, "_fivs_tuned", False):
        return
    database = _file_database(engine)
    if database is not None and engine.dialect.driver == "pysqlite":
        queue = _WriterQueue.for_database(database)

        @event.listens_for(engine, "do_connect")
        def _queued_factory(_dialect, _record, _cargs, cparams):
            cparams["factory"] = QueuedConnection

        @event.listens_for(engine, "connect")
        def _attach(dbapi_connection, _record):
            if isinstance(dbapi_connection, QueuedConnection):
                dbapi_connection.attach_queue(queue)

    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    event.listen(engine, "before_cursor_execute", _refuse_writes_while_reading)
    engine._fivs_tuned = True


# ---------------------------------------------------------------- PostgreSQL: reads in autocommit
_AUTOCOMMIT = "fivs_autocommit"  # in the connection's info: set by _postgresql_begin


def _postgresql_begin(conn) -> None:
    """A @read_first request's transaction begins in autocommit (see the module's docstring); the
    flag is dropped by begin_writes() and, whatever the request did, when the connection is checked in."""
    if not in_read_phase():
        return
    from psycopg.pq import TransactionStatus

    dbapi = conn.connection.dbapi_connection
    if not dbapi.autocommit and dbapi.info.transaction_status == TransactionStatus.IDLE:
        dbapi.autocommit = True
        conn.info[_AUTOCOMMIT] = True


def _end_autocommit(conn) -> None:
    if conn.info.pop(_AUTOCOMMIT, False):
        conn.connection.dbapi_connection.autocommit = False  # allowed: autocommit is always idle


def _postgresql_checkin(dbapi_connection, record) -> None:
    """A connection goes back to the pool with transactions on, whatever the request did."""
    if record.info.pop(_AUTOCOMMIT, False) and dbapi_connection is not None:
        try:
            dbapi_connection.autocommit = False
        except Exception:  # noqa: BLE001 (a broken connection: the pool's ping replaces it)
            record.invalidate()


def tune_postgresql_engine(engine: Engine) -> None:
    if engine.dialect.driver != "psycopg" or getattr(engine, "_fivs_tuned", False):
        return
    event.listen(engine, "begin", _postgresql_begin)
    event.listen(engine, "checkin", _postgresql_checkin)
    engine._fivs_tuned = True


def configure_engine_events(app: Flask) -> None:
    from fivs.extensions import db

    with app.app_context():
        tune_sqlite_engine(db.engine)  # creating the engine opens no connection
        tune_postgresql_engine(db.engine)
