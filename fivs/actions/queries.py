"""Reading corrective actions: a site's list (overdue first), counts per site, actions on items."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from fivs.actions.models import OPEN_STATUSES, CorrectiveAction
from fivs.audits.models import Audit
from fivs.checklists.models import Item
from fivs.events.models import Event
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import local_today

A = CorrectiveAction


def overdue_clause(today: date):
    return and_(A.status.in_(OPEN_STATUSES), A.due_date.is_not(None), A.due_date < today)


def without_hidden_actions(stmt, hidden: Collection[int]):
    """`stmt` (over CorrectiveAction) without the actions raised on the `hidden` audits (a blind rater's
    other side, fivs.audits.queries.hidden_audits): an action names what scored badly."""
    return stmt.where(or_(A.audit_id.is_(None), A.audit_id.not_in(sorted(hidden)))) if hidden else stmt


def site_actions(site_id: int, *, now: datetime | None = None, statuses=None,
                 hidden: Collection[int] = ()) -> list[CorrectiveAction]:
    """Overdue first, then open, done and verified ones, each by due date, but those of the `hidden`
    audits; `now` (UTC) for tests."""
    today = local_today(now)
    stmt = (select(A).where(A.site_id == site_id)
            .options(selectinload(A.item), selectinload(A.created_by))
            .order_by(case((overdue_clause(today), 0), (A.status.in_(OPEN_STATUSES), 1), (A.status == "done", 2),
                           else_=3),
                      A.due_date.is_(None), A.due_date, A.id))
    if statuses:
        stmt = stmt.where(A.status.in_(statuses))
    return list(db.session.scalars(without_hidden_actions(stmt, hidden)))


@dataclass(frozen=True)
class Counts:
    open: int = 0
    overdue: int = 0
    done: int = 0
    verified: int = 0


def counts_by_site(now: datetime | None = None) -> dict[int, Counts]:
    """{site_id: Counts} for every site with an action, in one query ('open' includes reopened)."""
    today = local_today(now)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = db.session.execute(
        select(A.site_id, count(A.status.in_(OPEN_STATUSES)), count(overdue_clause(today)),
               count(A.status == "done"), count(A.status == "verified"))
        .group_by(A.site_id))
    return {site_id: Counts(*map(int, values)) for site_id, *values in rows}


def actions_since_baseline(audit: Audit) -> dict[str, list[CorrectiveAction]]:
    """For a final audit: {item code: actions raised on that item at the site since its baseline}."""
    baseline_start = db.session.scalar(select(func.min(Audit.created_at)).where(
        Audit.site_id == audit.site_id, Audit.phase == "baseline"))
    stmt = (select(A, Item.code).join(Item, A.item_id == Item.id)
            .where(A.site_id == audit.site_id).order_by(A.created_at, A.id))
    if baseline_start is not None:
        stmt = stmt.where(A.created_at >= baseline_start)
    found = defaultdict(list)
    for action, code in db.session.execute(stmt):
        found[code].append(action)
    return dict(found)


def action_events(action: CorrectiveAction) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.target == action.event_target)
                                   .order_by(Event.at, Event.id)))


def export_rows(site_ids, hidden: Collection[int] = ()) -> list[tuple]:
    """(action, site, item code, audit uuid) of the sites (None: every site) but those of the `hidden`
    audits, by site then due date."""
    stmt = (select(A, Site, Item.code, Audit.uuid).join(Site, A.site_id == Site.id)
            .outerjoin(Item, A.item_id == Item.id).outerjoin(Audit, A.audit_id == Audit.id)
            .options(selectinload(A.created_by))
            .order_by(Site.code, A.due_date.is_(None), A.due_date, A.id))
    if site_ids is not None:
        stmt = stmt.where(A.site_id.in_(site_ids or {-1}))
    return list(db.session.execute(without_hidden_actions(stmt, hidden)))
