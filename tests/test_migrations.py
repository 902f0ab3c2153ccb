"""The migration history builds the same schema as the models, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from fivs import create_app
from fivs.extensions import db


@pytest.fixture
def empty_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    name = f"fivs_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_empty_database_and_no_drift(empty_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_url,
                      "MEDIA_ROOT": str(tmp_path)})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"sites", "users", "audits", "answers", "events", "checklist_items", "photos",
                "corrective_actions", "api_tokens"} <= tables
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}), db.metadata)
        assert diff == [], f"models and migrations drift: {diff}"
        db.engine.dispose()


def test_site_place_migration_keeps_the_2023_districts_and_moves_bac_giang_to_bac_ninh(empty_url, tmp_path):
    """0010: district becomes former_district (as recorded); a Bắc Giang site is now in Bắc Ninh with
    Bắc Giang as its former province; another province is left alone; downgrade puts it back."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_url,
                      "MEDIA_ROOT": str(tmp_path)})
    insert = text("INSERT INTO sites (code, name, kind, district, commune, province, active, created_at) "
                  "VALUES (:code, :name, 'school', :district, :commune, :province, :active, CURRENT_TIMESTAMP)")
    with app.app_context():
        upgrade(revision="0007_acknowledgements")
        with db.engine.begin() as conn:
            conn.execute(insert, [
                {"code": "TH-SONDONG", "name": "Trường", "district": "Sơn Động", "commune": None,
                 "province": "Bắc Giang", "active": True},
                {"code": "TH-HN", "name": "Trường", "district": "Ba Vì", "commune": "xã Tản Lĩnh",
                 "province": "Hà Nội", "active": True}])
        upgrade(revision="0010_site_place")
        read = text("SELECT code, province, commune, former_province, former_district FROM sites ORDER BY code")
        with db.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(read)]
        assert rows == [("TH-HN", "Hà Nội", "xã Tản Lĩnh", None, "Ba Vì"),
                        ("TH-SONDONG", "Bắc Ninh", None, "Bắc Giang", "Sơn Động")]
        downgrade(revision="0007_acknowledgements")
        with db.engine.connect() as conn:
            back = [tuple(r) for r in conn.execute(text("SELECT code, province, district FROM sites ORDER BY code"))]
        assert back == [("TH-HN", "Hà Nội", "Ba Vì"), ("TH-SONDONG", "Bắc Giang", "Sơn Động")]
        db.engine.dispose()
