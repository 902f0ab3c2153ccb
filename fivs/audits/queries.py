"""Read-side queries for audit lists (eager-loaded: a constant number of queries)."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from fivs.audits.models import CALIBRATION, CONSULTANT_AUDIT, Answer, Audit
from fivs.checklists.models import ChecklistTemplate, Zone
from fivs.auth.models import User, consultant_sites
from fivs.auth.policy import CONSULTANT, auditable_site_ids
from fivs.events.models import Event
from fivs.extensions import db
from fivs.sites.models import Site


def site_audits(site) -> list[Audit]:
    """Every audit of a site, newest first, with what its scores need loaded (a constant number of queries)."""
    return list(db.session.scalars(
        select(Audit).where(Audit.site_id == site.id)
        .options(selectinload(Audit.auditor), selectinload(Audit.template), selectinload(Audit.answers))
        .order_by(Audit.audit_date.desc(), Audit.id.desc())))


def answer_rows(audit_id: int) -> list:
    """An audit's answers as plain rows (item_id, zone_instance, score, na): what its scores need."""
    return db.session.execute(_ANSWER_ROWS, {"audit_id": audit_id}).all()


_answers = Answer.__table__
_ANSWER_ROWS = (select(_answers.c.item_id, _answers.c.zone_instance.label("room"), _answers.c.score, _answers.c.na)
                .where(_answers.c.audit_id == bindparam("audit_id")))


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


def second_rater_candidates(audit) -> list[User]:
    """Active consultants assigned to the audit's site, other than its auditor, by name."""
    return list(db.session.scalars(
        select(User).join(consultant_sites, consultant_sites.c.user_id == User.id)
        .where(consultant_sites.c.site_id == audit.site_id, User.role == CONSULTANT,
               User.active.is_(True), User.id != audit.auditor_id)
        .order_by(User.full_name, User.username)))


def consultant_work(user, site_ids) -> list[Audit]:
    """The consultant audits of the given sites and the user's own second-rater audits, voided ones
    left out, newest change first, with what progress needs loaded (a constant number of queries)."""
    ids = sorted(site_ids) or [-1]
    return list(db.session.scalars(
        select(Audit).where(Audit.site_id.in_(ids), Audit.voided_at.is_(None),
                            (Audit.kind == CONSULTANT_AUDIT)
                            | ((Audit.kind == CALIBRATION) & (Audit.auditor_id == user.id)))
        .options(selectinload(Audit.site), selectinload(Audit.answers), selectinload(Audit.rooms),
                 selectinload(Audit.template).selectinload(ChecklistTemplate.zones).selectinload(Zone.items))
        .order_by(Audit.updated_at.desc(), Audit.id.desc())))
