"""Read-side queries for audit lists (eager-loaded: a constant number of queries)."""
from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from sqlalchemy import and_, bindparam, not_, or_, select
from sqlalchemy.orm import aliased, selectinload

from fivs.audits.models import CALIBRATION, CONSULTANT_AUDIT, Answer, Audit
from fivs.checklists.models import ChecklistTemplate, Zone
from fivs.auth.models import User, consultant_sites
from fivs.auth.policy import CONSULTANT, auditable_site_ids, hidden_audit_ids, may_be_kept_blind
from fivs.events.models import Event
from fivs.extensions import db
from fivs.sites.models import Site


class PairSide(NamedTuple):
    id: int
    auditor_id: int
    status: str


def unfinished_pairs(user_id: int) -> list[tuple[PairSide, PairSide]]:
    """(consultant audit, calibration audit) of the calibration pairs the user rates a side of
    that are not yet submitted on both sides (one query)."""
    main = aliased(Audit)
    stmt = (select(main.id, main.auditor_id, main.status, Audit.id, Audit.auditor_id, Audit.status)
            .join(main, main.id == Audit.calibrates_id)
            .where(or_(Audit.auditor_id == user_id, main.auditor_id == user_id),
                   not_(and_(Audit.status == "submitted", main.status == "submitted"))))
    return [(PairSide(*r[:3]), PairSide(*r[3:])) for r in db.session.execute(stmt)]


def hidden_audits(user) -> frozenset[int]:
    """Ids of the audits `user` may not see yet (fivs.auth.policy.hidden_audit_ids): no query for
    whoever can never be kept blind. Views compute it once and hand it to every gathering below."""
    if not may_be_kept_blind(user):
        return frozenset()
    return hidden_audit_ids(user, unfinished_pairs(user.id))


def without_hidden(stmt, hidden: Collection[int]):
    """`stmt` (selecting from Audit) without the `hidden` audits: the one filter of blindness."""
    return stmt.where(Audit.id.not_in(sorted(hidden))) if hidden else stmt


def counted(stmt):
    """`stmt` (over Audit) without the voided audits: the one place that leaves a voided audit out of
    every figure (site and programme comparison, reports, exports, rater agreement)."""
    return stmt.where(Audit.voided_at.is_(None))


def site_audits(site, hidden: Collection[int] = ()) -> list[Audit]:
    """Every audit of a site the viewer may see, newest first, with what its scores need loaded
    (a constant number of queries)."""
    return list(db.session.scalars(without_hidden(
        select(Audit).where(Audit.site_id == site.id), hidden)
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
