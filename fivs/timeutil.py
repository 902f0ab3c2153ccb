"""Time helpers: store UTC, show and reason in the site's local time (Asia/Ho_Chi_Minh)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

SITE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they are UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def local_today(now: datetime | None = None) -> date:
    """Today's date at the sites (Vietnam), whatever the server's zone."""
    return as_utc(now or utcnow()).astimezone(SITE_TZ).date()


def to_local(value: datetime | None) -> datetime | None:
    value = as_utc(value)
    return value.astimezone(SITE_TZ) if value else None
