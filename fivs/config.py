"""Configuration: safe laptop defaults, overridden by FIVS_* environment variables.

Everything is computed when `load_config` is called (at app creation), never at import.
"""
from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_VARS = {
    "FIVS_INSTANCE_PATH": "folder for the SQLite file and secret key; default: instance/",
    "FIVS_DATABASE_URL": "SQLAlchemy URL; default: SQLite file instance/fivs.sqlite3",
    "FIVS_SECRET_KEY": "session signing key; default: instance/secret_key (make run creates it)",
    "FIVS_MEDIA_ROOT": "folder for audit photos; default: audits/",
    "FIVS_MEDIA_URL": "s3://BUCKET/PREFIX to keep photos in S3-compatible object storage; default: the folder",
    "FIVS_S3_ENDPOINT_URL": "the S3 service's URL (MinIO, Ceph RGW...); unset for AWS",
    "FIVS_MAX_UPLOAD_MB": "largest request body in MB; default: 30",
    "FIVS_PHOTO_MAX_PX": "long edge of a photo in px: the tablet downsizes to it, the display image too; default: 1600",
    "FIVS_PHOTO_QUALITY": "JPEG quality in % of the tablet's re-encode of a photo before sending; default: 75",
    "FIVS_HTTPS": "1 to mark cookies Secure (behind HTTPS)",
    "FIVS_RATELIMIT_URL": "Flask-Limiter storage (e.g. redis://127.0.0.1:6379); default: memory",
    "FIVS_SESSION_IDLE_MINUTES": "inactivity timeout for sessions; default: 480",
    "FIVS_PROXY_COUNT": "reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust; default: 0",
    "FIVS_EARLIEST_DATE": "earliest date of an audit or an action's due date (YYYY-MM-DD); default: 2020-01-01",
    "FIVS_LATEST_DAYS_AHEAD": "how many days after today a date may lie; default: 366",
}


def _secret_key(instance_path: Path) -> str | None:
    if os.environ.get("FIVS_SECRET_KEY"):
        return os.environ["FIVS_SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip() or None
    return None


def load_config(app, test_config: dict | None = None) -> None:
    """Fill app.config from defaults, the environment and `test_config` (in that order)."""
    instance = Path(app.instance_path)
    env = os.environ
    max_mb = int(env.get("FIVS_MAX_UPLOAD_MB", "30"))
    app.config.from_mapping(
        SECRET_KEY=_secret_key(instance),
        SQLALCHEMY_DATABASE_URI=env.get(
            "FIVS_DATABASE_URL", f"sqlite:///{instance / 'fivs.sqlite3'}"
        ),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MEDIA_ROOT=env.get("FIVS_MEDIA_ROOT", str(PROJECT_ROOT / "audits")),
        MEDIA_URL=env.get("FIVS_MEDIA_URL", ""),
        S3_ENDPOINT_URL=env.get("FIVS_S3_ENDPOINT_URL", ""),
        CHECKLISTS_DIR=str(PROJECT_ROOT / "checklists"),
        MAX_CONTENT_LENGTH=max_mb * 1024 * 1024,
        # An audit form stays open for hours: the CSRF token lives as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        LANGUAGES=("vi", "en"),
        SITE_TIMEZONE="Asia/Ho_Chi_Minh",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The cookie goes back only when the session changes (security.SEEN_EVERY_S: once a minute).
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_COOKIE_SECURE=env.get("FIVS_HTTPS") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=env.get("FIVS_HTTPS") == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(
            minutes=int(env.get("FIVS_SESSION_IDLE_MINUTES", "480"))
        ),
        RATELIMIT_STORAGE_URI=env.get("FIVS_RATELIMIT_URL", "memory://"),
        RATELIMIT_HEADERS_ENABLED=False,
        PROXY_COUNT=int(env.get("FIVS_PROXY_COUNT", "0")),
        NOTE_MAX_LENGTH=5000,
        KEEP_ORIGINAL_PHOTOS=False,
        # Nothing shows a photo bigger: the tablet at most ~800 CSS px wide at 2x, a report ~8 cm wide.
        PHOTO_MAX_PX=int(env.get("FIVS_PHOTO_MAX_PX", "1600")),
        # Of the tablet's re-encode (the server's derivatives keep their own): 75 sends ~14 % less than 80
        # of a 1600 px photo with no difference to see at the sizes shown (issue 26: "~0.8").
        PHOTO_JPEG_QUALITY=int(env.get("FIVS_PHOTO_QUALITY", "75")),
        EARLIEST_DATE=date.fromisoformat(env.get("FIVS_EARLIEST_DATE", "2020-01-01")),
        LATEST_DAYS_AHEAD=int(env.get("FIVS_LATEST_DAYS_AHEAD", "366")),
    )
    if test_config:
        app.config.update(test_config)
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # A database file cannot go away under a pooled connection: no "SELECT 1" before each use.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not 1 <= app.config["PHOTO_JPEG_QUALITY"] <= 100:
        raise RuntimeError("FIVS_PHOTO_QUALITY is a JPEG quality in %: a whole number from 1 to 100.")
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "No secret key: set FIVS_SECRET_KEY or create instance/secret_key "
            "(`make run` creates one)."
        )
