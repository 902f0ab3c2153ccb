"""Database engine tuning.

SQLite: WAL journal, a generous busy timeout, foreign keys on, and every transaction begun
with BEGIN IMMEDIATE (SQLAlchemy's documented pysqlite recipe), so concurrent writers queue
for the write lock instead of failing with "database is locked" on lock upgrade.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def tune_sqlite_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or getattr(engine, "_fivs_tuned", False):
        return
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    engine._fivs_tuned = True


def configure_engine_events(app: Flask) -> None:
    from fivs.extensions import db

    with app.app_context():
        tune_sqlite_engine(db.engine)  # creating the engine opens no connection
