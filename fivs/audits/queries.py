"""Read-side queries for audit lists (eager-loaded: a constant number of queries)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fivs.audits.models import Answer, Audit
from fivs.checklists.models import Item
from fivs.extensions import db


def site_audits(site, user) -> list[tuple[Audit, object]]:
    """Every audit of a site, newest first, with its scores."""
    from fivs.audits.services import audit_scores

    audits = db.session.scalars(
        select(Audit).where(Audit.site_id == site.id)
        .options(selectinload(Audit.auditor),
                 selectinload(Audit.answers).selectinload(Answer.item).selectinload(Item.zone))
        .order_by(Audit.audit_date.desc(), Audit.id.desc())).all()
    return [(a, audit_scores(a)) for a in audits]
