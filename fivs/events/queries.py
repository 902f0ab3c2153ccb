"""Read the event log: filters, newest first, and old → new values laid out per field."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from fivs.audits.models import Audit
from fivs.events.models import Event
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import SITE_TZ

PER_PAGE = 50

ACTION_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.login_failed": _l("Failed login"),
    "auth.logout": _l("Logged out"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.password": _l("Password changed"),
    "user.assign": _l("Consultant assigned to a site"),
    "token.issue": _l("API token issued"),
    "token.revoke": _l("API token revoked"),
    "site.create": _l("Site created"),
    "site.update": _l("Site changed"),
    "calendar.window": _l("Round window of the calendar set"),
    "checklist.publish": _l("Checklist version published"),
    "audit.create": _l("Audit started"),
    "audit.calibration_request": _l("Second rater asked to score again"),
    "audit.submit": _l("Audit submitted"),
    "audit.reopen": _l("Audit reopened"),
    "audit.void": _l("Audit voided"),
    "audit.acknowledge": _l("Audit acknowledged by the site"),
    "audit.zone_add": _l("Room added"),
    "audit.zone_remove": _l("Room removed"),
    "answer.change": _l("Answer changed"),
    "photo.add": _l("Photo added"),
    "photo.delete": _l("Photo removed"),
    "action.create": _l("Corrective action raised"),
    "action.edit": _l("Corrective action changed"),
    "action.status": _l("Corrective action status changed"),
}


@dataclass(frozen=True)
class Filters:
    action: str = ""
    user: str = ""
    site_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return f"{label} ({action})" if label else action


def known_actions() -> list[str]:
    return sorted(set(ACTION_LABELS) | set(db.session.scalars(select(Event.action).distinct())))


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SITE_TZ).astimezone(timezone.utc)


def events_page(filters: Filters, page: int, hidden: Collection[int] = ()):
    """One page of events, newest first, without those of the audits the reader may not see yet
    (`hidden`: fivs.audits.queries.hidden_audits; an answer's event holds its score)."""
    stmt = select(Event).order_by(Event.at.desc(), Event.id.desc())
    if hidden:
        stmt = stmt.where(or_(Event.audit_id.is_(None), Event.audit_id.not_in(sorted(hidden))))
    if filters.action:
        stmt = stmt.where(Event.action == filters.action)
    if filters.user:
        name = filters.user.lower()
        stmt = stmt.where(or_(func.lower(Event.username) == name, func.lower(Event.target) == name))
    if filters.site_id is not None:
        stmt = stmt.where(Event.site_id == filters.site_id)
    if filters.date_from:
        stmt = stmt.where(Event.at >= _local_midnight_utc(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(Event.at < _local_midnight_utc(filters.date_to + timedelta(days=1)))
    return db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)


def audit_uuids(events) -> dict[int, str]:
    """{audit id: uuid} of the events' audits, for links to their history (one query)."""
    ids = {e.audit_id for e in events if e.audit_id is not None}
    if not ids:
        return {}
    return {row.id: str(row.uuid) for row in db.session.execute(select(Audit.id, Audit.uuid).where(Audit.id.in_(ids)))}


def site_codes(events) -> dict[int, str]:
    ids = {e.site_id for e in events if e.site_id is not None}
    return {row.id: row.code for row in db.session.execute(select(Site.id, Site.code).where(Site.id.in_(ids)))}
