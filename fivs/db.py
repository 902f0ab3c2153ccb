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

Reading without a write transaction. The busiest requests (a tablet saving answers, uploading
a photo) spend most of their time reading and checking (the token, the audit, the photo's
pixels) and little writing. Statements inside `reading()` run without a write transaction: on
SQLite in a deferred (shared) transaction that holds neither the writer queue nor the write lock,
on PostgreSQL in autocommit (each read its own transaction: no BEGIN, nothing held open while a
photo's pixels are processed). A write inside raises at once. What they load stays loaded; the
writes after them check it again (compare-and-set on the row version and status). `reading()`
belongs to the edge of a request (authentication, a view's checks before it calls a service);
services never use it, and the request still commits once.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from fivs.extensions import db

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


# ---------------------------------------------------------------- reading without a write transaction
_READING: ContextVar[bool] = ContextVar("fivs_reading", default=False)
_AUTOCOMMIT = "fivs_autocommit"  # in a PostgreSQL connection's info: autocommit was turned on by reading()
_WROTE = "fivs_wrote"  # in a connection's info: this transaction has written


@contextmanager
def reading() -> Iterator[None]:
    """Run the statements inside without a write transaction (see the module's docstring)."""
    if _READING.get():
        yield
        return
    session = db.session()  # the request's Session (not the scoped proxy)
    _start_reading(session)
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)
        _stop_reading(session)


def commit_then_read(read):
    """Commit the request's writes and return `read()`, read where it costs the other writers least.

    SQLite: after the commit, inside reading(): one writer at a time holds the writer queue, which
    is released first. PostgreSQL: in the same transaction, just before the commit: no queue to
    release, and reading after it would check out a connection again (and ping it). `read` sees
    the writes either way; loaded objects stay loaded (not expired), as the writes left them."""
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        result = read()
        session.commit()
        return result
    _commit_keeping_objects(session)
    with reading():
        return read()


def _start_reading(session) -> None:
    """No transaction: the next one begins as a read (the engine's begin events). A transaction that
    sent nothing yet on PostgreSQL turns to autocommit; any other ends first (it must not have written)."""
    if not session.in_transaction():
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql" and _idle(conn):
        _autocommit(conn)
        return
    if session.new or session.dirty or session.deleted or conn.info.get(_WROTE):
        raise RuntimeError("reading() after writes: the request's writes are committed once, at its end")
    _commit_keeping_objects(session)


def _stop_reading(session) -> None:
    if not session.in_transaction():
        return
    if not session.get_transaction().is_active:  # a statement failed inside: nothing to keep
        session.rollback()
        return
    conn = session.connection()
    if conn.info.pop(_AUTOCOMMIT, False):
        conn.connection.dbapi_connection.autocommit = False  # allowed: autocommit is always idle
    else:  # SQLite's shared read ends; the next statement takes the writer queue
        _commit_keeping_objects(session)


def _commit_keeping_objects(session) -> None:
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _idle(conn) -> bool:
    return conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE


def _autocommit(conn) -> None:
    dbapi = conn.connection.dbapi_connection
    if not dbapi.autocommit:
        dbapi.autocommit = True
        conn.info[_AUTOCOMMIT] = True


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _watch_writes(conn, _cursor, statement, _params, _context, _many) -> None:
    """A write inside reading() is a programming error; any other marks its transaction as writing."""
    if not statement.lstrip()[:7].upper().startswith(_WRITES):
        return
    if _READING.get():
        raise RuntimeError("a write inside the read phase (reading()): writes come after the reads, "
                           "in the request's transaction")
    conn.info[_WROTE] = True


def _transaction_ended(conn) -> None:
    conn.info.pop(_WROTE, None)


def _sqlite_begin(conn) -> None:
    if _READING.get():
        conn.exec_driver_sql("BEGIN")  # deferred: a reader beside the others, no queue, no write lock
        return
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
    engine._fivs_tuned = True


# ---------------------------------------------------------------- PostgreSQL: reads in autocommit
def _postgresql_begin(conn) -> None:
    """A transaction begun inside reading() runs in autocommit (see the module's docstring)."""
    if _READING.get() and _idle(conn):
        _autocommit(conn)


def _postgresql_checkin(dbapi_connection, record) -> None:
    """A connection goes back to the pool with transactions on, whatever the request did."""
    if dbapi_connection is not None and dbapi_connection.autocommit:
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


def _watch_engine(engine: Engine) -> None:
    if getattr(engine, "_fivs_watched", False):
        return
    event.listen(engine, "before_cursor_execute", _watch_writes)
    event.listen(engine, "commit", _transaction_ended)
    event.listen(engine, "rollback", _transaction_ended)
    engine._fivs_watched = True


def configure_engine_events(app: Flask) -> None:
    with app.app_context():
        _watch_engine(db.engine)  # creating the engine opens no connection
        tune_sqlite_engine(db.engine)
        tune_postgresql_engine(db.engine)
