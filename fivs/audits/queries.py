"""Read-side queries for audit lists (eager-loaded: a constant number of queries)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fivs.audits.models import Answer, Audit, Event
from fivs.auth.access import auditable_site_ids
from fivs.checklists.models import Item
from fivs.extensions import db
from fivs.sites.models import Site


def site_audits(site, user) -> list[tuple[Audit, object]]:
    """Every audit of a site, newest first, with its scores."""
    from fivs.audits.services import audit_scores

    audits = db.session.scalars(
        select(Audit).where(Audit.site_id == site.id)
        .options(selectinload(Audit.auditor),
                 selectinload(Audit.answers).selectinload(Answer.item).selectinload(Item.zone))
        .order_by(Audit.audit_date.desc(), Audit.id.desc())).all()
    return [(a, audit_scores(a)) for a in audits]


def auditable_sites(user) -> list[Site]:
    """Active sites where the user may start an audit."""
    stmt = select(Site).where(Site.active.is_(True)).order_by(Site.kind.desc(), Site.code)
    ids = auditable_site_ids(user)
    if ids is not None:
        stmt = stmt.where(Site.id.in_(ids or {-1}))
    return list(db.session.scalars(stmt))


def audit_events(audit) -> list[Event]:
    """The audit's event log, oldest first."""
    return list(db.session.scalars(select(Event).where(Event.audit_id == audit.id)
                                   .options(selectinload(Event.user)).order_by(Event.at, Event.id)))
