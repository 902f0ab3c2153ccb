"""Read-side queries for comparisons, dashboards and exports.

Each function runs exactly ONE SQL statement and returns plain rows (tuples or small frozen
dataclasses, never ORM objects), so a page that calls each of them once runs a constant number
of queries however many sites there are. The sums each site's comparison is made of come from
fivs.round_sums.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from sys import intern

from sqlalchemy import Integer, String, case, cast, func, select, type_coerce

from fivs.audits.models import Acknowledgement, Answer, Audit
from fivs.audits.queries import counted, without_hidden
from fivs.auth.models import User
from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.extensions import db
from fivs.photos.models import Photo
from fivs.sites.models import Site
from fivs.sites.queries import filter_sites
from fivs.timeutil import as_utc

KINDS = ("all", "school", "clinic")


@dataclass(frozen=True, slots=True)
class SiteRow:
    id: int
    code: str
    name: str
    kind: str
    province: str | None
    commune: str | None
    former_province: str | None
    former_district: str | None

    def as_dict(self) -> dict:
        """The site as the comparison API shows it; "district" is the former district under its
        pre-2025 key, kept for the clients that read it."""
        return {"code": self.code, "name": self.name, "kind": self.kind, "province": self.province,
                "commune": self.commune, "former_province": self.former_province,
                "former_district": self.former_district, "district": self.former_district}


SITE_ROW_COLUMNS = (Site.id, Site.code, Site.name, Site.kind, Site.province, Site.commune, Site.former_province,
                    Site.former_district)


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    uuid: str
    site_id: int
    phase: str
    kind: str  # consultant | self
    status: str
    audit_date: date
    submitted_at: datetime | None
    auditor: str
    checklist_version: int  # the version of the checklist the audit pinned


@dataclass(frozen=True)
class ItemRow:
    id: int
    code: str
    s: str
    zone_code: str
    zone_name_vi: str
    zone_name_en: str
    text_vi: str
    text_en: str
    sort_key: tuple[int, int]  # (zone position, item position)

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_vi

    def zone_name(self, lang: str) -> str:
        return self.zone_name_en if lang == "en" else self.zone_name_vi


def sites(site_ids: Collection[int] | None = None, kind: str = "all", *,
          active_only: bool = True, province: str | None = None) -> list[SiteRow]:
    """Sites (schools first, then by code), optionally limited to ids and a kind."""
    stmt = select(*SITE_ROW_COLUMNS).order_by(
        Site.kind.desc(), Site.code)
    stmt = filter_sites(stmt, site_ids, kind, active_only=active_only, province=province)
    return [SiteRow(*row) for row in db.session.execute(stmt)]


def audits(site_ids: Collection[int] | None = None, kind: str = "all", *,
           active_only: bool = True, consultant_only: bool = False,
           hidden: Collection[int] = (), province: str | None = None) -> list[AuditRow]:
    """Every audit (any status) of the chosen sites that counts (not voided) but the `hidden` ones (the
    viewer's blindness: fivs.audits.queries.hidden_audits), oldest first, with the auditor's name."""
    stmt = (select(Audit.id, Audit.uuid, Audit.site_id, Audit.phase, Audit.kind, Audit.status,
                   Audit.audit_date, Audit.submitted_at, User.full_name, User.username, ChecklistTemplate.version)
            .join(Site, Site.id == Audit.site_id)
            .join(User, User.id == Audit.auditor_id)
            .join(ChecklistTemplate, ChecklistTemplate.id == Audit.template_id)
            .order_by(Audit.site_id, Audit.audit_date, Audit.id))
    if consultant_only:
        stmt = stmt.where(Audit.kind == "consultant")
    stmt = without_hidden(filter_sites(counted(stmt), site_ids, kind, active_only=active_only,
                                       province=province), hidden)
    # The few distinct words (round, kind, status, auditor) are interned: a national programme's 120,000
    # audits then hold one copy of each instead of one per row.
    return [AuditRow(id=r[0], uuid=str(r[1]), site_id=r[2], phase=intern(r[3]), kind=intern(r[4]),
                     status=intern(r[5]), audit_date=r[6], submitted_at=r[7], auditor=intern(r[8] or r[9]),
                     checklist_version=r[10])
            for r in db.session.execute(stmt)]


def items() -> dict[int, ItemRow]:
    """Every checklist item of every template (a few hundred rows), by id."""
    stmt = select(Item.id, Item.code, Item.s, Zone.code, Zone.name_vi, Zone.name_en, Item.text_vi,
                  Item.text_en, Zone.position, Item.position).join(Zone, Zone.id == Item.zone_id)
    return {r[0]: ItemRow(*r[:8], sort_key=(r[8], r[9])) for r in db.session.execute(stmt)}


def answer_rows(audit_ids: Sequence[int], *, with_notes: bool = False) -> list[tuple]:
    """(audit_id, item_id, zone_instance, score, na[, note]) of the given audits.

    Built for large rollups: no join (item codes, S and zones come from `items()`), executed on
    the session's Core connection (no ORM result layer), and `na` read as a plain integer
    (0/1, or a bool on PostgreSQL) so no per-row type conversion runs.
    """
    if not audit_ids:
        return []
    columns = [Answer.audit_id, Answer.item_id, Answer.room, Answer.score,
               type_coerce(Answer.na, Integer)]
    if with_notes:
        columns.append(Answer.note)
    stmt = select(*columns).where(Answer.audit_id.in_(list(audit_ids)))
    return db.session.connection().execute(stmt).all()


def audit_sums(audit_ids: Sequence[int]) -> list[tuple]:
    """(audit_id, S, zone code, answers, sum of the scored answers' scores, their number, N/A answers) per
    audit, S and zone of the given audits: what fivs.scoring.scores_from_sums makes an audit's scores of,
    summed by the database instead of read answer by answer."""
    if not audit_ids:
        return []
    score = case((Answer.na.is_not(True), Answer.score))
    stmt = (select(Answer.audit_id, Item.s, Zone.code, func.count(Answer.id),
                   cast(func.coalesce(func.sum(score), 0), Integer), func.count(score),
                   func.count(case((Answer.na.is_(True), 1))))
            .join(Item, Item.id == Answer.item_id).join(Zone, Zone.id == Item.zone_id)
            .where(Answer.audit_id.in_(list(audit_ids)))
            .group_by(Answer.audit_id, Item.s, Zone.code))
    return db.session.connection().execute(stmt).all()


def photo_counts(audit_ids: Sequence[int]) -> dict[tuple[int, int, str], int]:
    """Number of photos per answer: {(audit_id, item_id, zone_instance): n}."""
    if not audit_ids:
        return {}
    stmt = (select(Photo.audit_id, Photo.item_id, Photo.room, func.count(Photo.id))
            .where(Photo.audit_id.in_(list(audit_ids)), Photo.item_id.is_not(None))
            .group_by(Photo.audit_id, Photo.item_id, Photo.room))
    return {(a, i, z): n for a, i, z, n in db.session.execute(stmt)}


@dataclass(frozen=True)
class AcknowledgementRow:
    """The site head's acknowledgement of an audit's present submission."""

    audit_id: int
    by: str  # full name, else username
    at: datetime
    comment: str


def acknowledgements(audit_ids: Collection[int]) -> dict[int, AcknowledgementRow]:
    """{audit id: the acknowledgement of its present submission} (as fivs.audits.services.
    current_acknowledgement decides it: one of an earlier submission, before a reopen, does not count)."""
    if not audit_ids:
        return {}
    stmt = (select(Acknowledgement.audit_id, Acknowledgement.submitted_at, Audit.submitted_at,
                   User.full_name, User.username, Acknowledgement.created_at, Acknowledgement.comment)
            .join(Audit, Audit.id == Acknowledgement.audit_id)
            .join(User, User.id == Acknowledgement.user_id)
            .where(Acknowledgement.audit_id.in_(sorted(audit_ids)), Audit.status == "submitted")
            .order_by(Acknowledgement.id))
    found = {}
    for audit_id, acked, submitted, full_name, username, created, comment in db.session.execute(stmt):
        if submitted is not None and as_utc(acked) == as_utc(submitted):  # compared in Python: SQLite is naive
            found[audit_id] = AcknowledgementRow(audit_id, full_name or username, as_utc(created), comment or "")
    return found


# ---------------------------------------------------------------- audits the figures leave out
@dataclass(frozen=True)
class ExcludedAudit:
    """An audit no figure counts, and why (`reason`: one of EXCLUSION_REASONS; `detail`: free text)."""

    site_code: str
    site_name: str
    phase: str
    kind: str
    audit_date: date
    auditor: str
    reason: str
    detail: str


EXCLUSION_REASONS = ("voided", "draft", "reopened")


def _exclusion_reason():
    """Why an audit is left out, in SQL (NULL: it is not), voided first (see `counted`). The one place
    that says it."""
    return case((Audit.voided_at.is_not(None), "voided"), (Audit.status == "draft", "draft"),
                (Audit.status == "reopened", "reopened"), else_=None)


def _exclusion_detail():
    """The reviewer's reason for a void (none for the other exclusions)."""
    return case((Audit.voided_at.is_not(None), Audit.void_reason), else_=cast(None, String))


def excluded_audits(site_ids: Collection[int] | None = None, kind: str = "all", *,
                    active_only: bool = True, hidden: Collection[int] = ()) -> list[ExcludedAudit]:
    """Every audit of the chosen sites that no score, comparison or agreement figure counts (voided, or
    not submitted: in progress or reopened), by site and date, for the reports' data-quality appendix."""
    reason = _exclusion_reason()
    stmt = (select(Site.code, Site.name, Audit.phase, Audit.kind, Audit.audit_date, User.full_name,
                   User.username, reason, _exclusion_detail())
            .join(Site, Site.id == Audit.site_id)
            .join(User, User.id == Audit.auditor_id)
            .where(reason.is_not(None))
            .order_by(Site.kind.desc(), Site.code, Audit.audit_date, Audit.id))
    stmt = without_hidden(filter_sites(stmt, site_ids, kind, active_only=active_only), hidden)
    return [ExcludedAudit(site_code=r[0], site_name=r[1], phase=r[2], kind=r[3], audit_date=r[4],
                          auditor=r[5] or r[6], reason=r[7], detail=r[8] or "")
            for r in db.session.execute(stmt)]
