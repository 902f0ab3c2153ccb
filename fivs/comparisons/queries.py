"""Read-side queries for comparisons, dashboards and exports.

Each function runs exactly ONE SQL statement and returns plain rows (tuples or small frozen
dataclasses, never ORM objects), so a page that calls each of them once runs a constant number
of queries however many sites there are. One writes: `store_round_sums`, called by the audit
services, keeps the sums of each site's pair of rounds (fivs.comparisons.models) for `round_sums`.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from sys import intern

from sqlalchemy import (Integer, String, Text, and_, case, cast, exists, func, literal, select, true, type_coerce,
                        union_all)
from sqlalchemy.dialects import postgresql, sqlite

from fivs.audits.models import Acknowledgement, Answer, Audit
from fivs.audits.queries import without_hidden
from fivs.auth.models import User
from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.comparisons.models import FIGURES, RoundSum
from fivs.extensions import db
from fivs.photos.models import Photo
from fivs.sites.models import Site
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


def filter_sites(stmt, site_ids: Collection[int] | None, kind: str, *, active_only: bool,
                 province: str | None = None):
    """`stmt` (joined to Site) limited to the visible sites (None: all), one kind ("all" or a kind), the active
    ones and one province (now; None: every province)."""
    if province is not None:
        stmt = stmt.where(Site.province == province)
    if site_ids is not None:
        stmt = stmt.where(Site.id.in_(sorted(site_ids) or [-1]))
    if kind != "all":
        stmt = stmt.where(Site.kind == kind)
    if active_only:
        stmt = stmt.where(Site.active.is_(True))
    return stmt


def counted(stmt):
    """`stmt` (over Audit) without the voided audits: the one place that leaves a voided audit out of
    every figure (site and programme comparison, reports, exports, rater agreement)."""
    return stmt.where(Audit.voided_at.is_(None))


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


ROUNDS = ("baseline", "final")
EXCLUDED_SEPARATOR = " "  # item codes have no spaces (CLS-S1-01)


def round_audits(site_ids: Collection[int] | None = None, kind: str = "all", *, hidden: Collection[int] = (),
                 province: str | None = None):
    """A CTE (site_id, phase, audit_id, row_version, final): each site's baseline and final (final: 0 or 1, so
    that the sums compare integers), the latest submitted consultant audit of the phase that counts (`counted`,
    `without_hidden`) by audit date, then submission time, then id: the rule of
    fivs.comparisons.services.pick_round, in SQL (ROW_NUMBER), so no list of ids is sent."""
    rank = func.row_number().over(
        partition_by=(Audit.site_id, Audit.phase),
        order_by=(Audit.audit_date.desc(), Audit.submitted_at.desc().nulls_last(), Audit.id.desc()))
    stmt = (select(Audit.site_id, Audit.phase, Audit.id.label("audit_id"), Audit.row_version, rank.label("rank"))
            .join(Site, Site.id == Audit.site_id)
            .where(Audit.kind == "consultant", Audit.status == "submitted", Audit.phase.in_(ROUNDS)))
    ranked = without_hidden(filter_sites(counted(stmt), site_ids, kind, active_only=True, province=province),
                            hidden).subquery()
    return (select(ranked.c.site_id, ranked.c.phase, ranked.c.audit_id, ranked.c.row_version,
                   case((ranked.c.phase == "final", 1), else_=0).label("final"))
            .where(ranked.c.rank == 1).cte("rounds"))


PAIR_KEYS = ("baseline_id", "baseline_version", "final_id", "final_version")


def round_pairs(rounds):
    """A CTE (site_id, *PAIR_KEYS) of `round_audits`' rows: each site's pair of rounds, the key its stored sums
    are kept under (fivs.comparisons.models), 0 for a round the site does not have."""
    def of(column, final):
        return cast(func.coalesce(func.max(case((rounds.c.final == final, column))), 0), Integer)

    return (select(rounds.c.site_id, of(rounds.c.audit_id, 0).label("baseline_id"),
                   of(rounds.c.row_version, 0).label("baseline_version"), of(rounds.c.audit_id, 1).label("final_id"),
                   of(rounds.c.row_version, 1).label("final_version"))
            .group_by(rounds.c.site_id).cte("pairs"))


def _stored_under(pairs):
    """A stored row of its site's pair."""
    return and_(RoundSum.site_id == pairs.c.site_id, *(getattr(RoundSum, k) == pairs.c[k] for k in PAIR_KEYS))


ROUND_SUMS_COLUMNS = ("site_id", "part", "key", *FIGURES, "excluded")


def _summed(rounds) -> tuple:
    """The sums and counts the scores and the change are made of, over the rounds of `rounds` (a CTE like
    `round_audits`), with fivs.scoring's rules: N/A and unscored answers left out, rooms pooled, an item code
    matched when it has a scored answer in both rounds. Two SELECTs (per S, per zone: to be put in one
    UNION ALL, not nested, which SQLite refuses) of a few rows per site (none for a site whose rounds have
    no answer), in the order of ROUND_SUMS_COLUMNS:

      site_id, part ("s" or "zone"), key (the S or the zone code), then of the baseline: its answers, the sum
      of its scored answers' scores, their number, its N/A answers; the same of the final; the baseline's and
      the final's sum and number over the matched items only (0 on zone rows); and the codes answered but not
      matched, EXCLUDED_SEPARATOR between (None on zone rows).
    """
    is_b, is_f = rounds.c.final == 0, rounds.c.final == 1

    def scored(in_round):
        return case((and_(in_round, Answer.na.is_not(True)), Answer.score))

    def na(in_round):
        return func.count(case((and_(in_round, Answer.na.is_(True)), 1)))

    # First per site and item id (integers: the cheap grouping of the many answers), then by code.
    per_item = (select(rounds.c.site_id, Answer.item_id,
                       func.count(case((is_b, 1))).label("ba"), func.sum(scored(is_b)).label("bt"),
                       func.count(scored(is_b)).label("bn"), na(is_b).label("bna"),
                       func.count(case((is_f, 1))).label("fa"), func.sum(scored(is_f)).label("ft"),
                       func.count(scored(is_f)).label("fn"), na(is_f).label("fna"))
                .join(Answer, Answer.audit_id == rounds.c.audit_id)
                .group_by(rounds.c.site_id, Answer.item_id)).subquery("per_item")
    # Items are matched by code across checklist versions (a code may even change S or zone): each code is
    # named by a number, its smallest item id, so that the window sorts integers, not text under a collation;
    # the texts (code, S, zone) are joined in after it, so that what the database keeps between is integers.
    codes = select(Item.id, func.min(Item.id).over(partition_by=Item.code).label("code_id")).subquery("codes")
    same_code = (per_item.c.site_id, codes.c.code_id)
    matched = and_(func.sum(per_item.c.bn).over(partition_by=same_code) > 0,
                   func.sum(per_item.c.fn).over(partition_by=same_code) > 0)
    flagged = (select(per_item, case((matched, 1), else_=0).label("matched"))
               .join(codes, codes.c.id == per_item.c.item_id)).cte("flagged")
    c = flagged.c

    def total(column):  # an integer on both databases (PostgreSQL sums bigints into numerics), 0 for none
        return cast(func.coalesce(func.sum(column), 0), Integer)

    def if_matched(column):
        return total(case((c.matched == 1, column)))

    def named(*columns):
        return [column.label(name) for column, name in zip(columns, ROUND_SUMS_COLUMNS, strict=True)]

    rounds_figures = [total(column) for column in (c.ba, c.bt, c.bn, c.bna, c.fa, c.ft, c.fn, c.fna)]
    by_s = (select(*named(c.site_id, cast(literal("s"), String), Item.s, *rounds_figures,
                          if_matched(c.bt), if_matched(c.bn), if_matched(c.ft), if_matched(c.fn),
                          cast(func.aggregate_strings(case((c.matched == 0, Item.code)), EXCLUDED_SEPARATOR), Text)))
            .join(Item, Item.id == c.item_id)
            .group_by(c.site_id, Item.s))
    by_zone = (select(*named(c.site_id, cast(literal("zone"), String), Zone.code, *rounds_figures,
                             *(literal(0) for _ in range(4)), cast(None, Text)))
               .join(Item, Item.id == c.item_id).join(Zone, Zone.id == Item.zone_id)
               .group_by(c.site_id, Zone.code))
    return by_s, by_zone


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def store_round_sums(site_ids: Collection[int] | None = None) -> None:
    """Sum and store the sites' pairs of rounds (`round_pairs`, as every viewer who is kept blind to no audit
    sees them) not stored yet: ONE INSERT ... SELECT, which adds up the answers of those pairs only. Called
    when a consultant's round changes (fivs.audits.services: submit, reopen, void). What it stores is fixed
    by its key (fivs.comparisons.models); two servers storing the same pair at once store it once (ON
    CONFLICT DO NOTHING), and in one order, so that they wait for each other instead of deadlocking."""
    rounds = round_audits(site_ids)
    pairs = round_pairs(rounds)
    todo = select(pairs).where(~exists().where(_stored_under(pairs))).cte("todo")
    todo_rounds = (select(rounds.c.site_id, rounds.c.audit_id, rounds.c.final)
                   .join(todo, todo.c.site_id == rounds.c.site_id).cte("todo_rounds"))
    sums = union_all(*_summed(todo_rounds)).subquery("sums")
    rows = (select(sums.c.site_id, *(todo.c[k] for k in PAIR_KEYS), *(sums.c[name] for name in ROUND_SUMS_COLUMNS[1:]))
            .join(todo, todo.c.site_id == sums.c.site_id)
            .where(true())  # SQLite then reads the ON CONFLICT as the INSERT's, not a join's
            .order_by(sums.c.site_id, sums.c.part, sums.c.key))
    insert = _INSERTS[db.session.get_bind().dialect.name](RoundSum)
    db.session.execute(insert.from_select(["site_id", *PAIR_KEYS, *ROUND_SUMS_COLUMNS[1:]], rows)
                       .on_conflict_do_nothing())


def round_sums(site_ids: Collection[int] | None = None, kind: str = "all", *,
               hidden: Collection[int] = (), province: str | None = None) -> Iterator[tuple]:
    """The sums of the sites' pairs of rounds (`round_audits`: as the viewer, kept blind to `hidden`, sees
    them), as `_summed` makes them: the stored ones where the pair is stored (`store_round_sums`), else
    summed from the answers now (a pair no submission stored: a viewer kept blind to a picked round, data
    loaded around the services). ONE statement, in the order of ROUND_SUMS_COLUMNS, by site id, streamed (a
    server-side cursor: a national programme's rows are not all held at once)."""
    rounds = round_audits(site_ids, kind, hidden=hidden, province=province)
    pairs = round_pairs(rounds)
    stored = (select(*(getattr(RoundSum, name) for name in ROUND_SUMS_COLUMNS))
              .join(pairs, _stored_under(pairs)))
    unstored = select(pairs.c.site_id).where(~exists().where(_stored_under(pairs)))
    live_rounds = (select(rounds.c.site_id, rounds.c.audit_id, rounds.c.final)
                   .where(rounds.c.site_id.in_(unstored)).cte("live_rounds"))
    both = union_all(stored, *_summed(live_rounds)).subquery("sums")
    stmt = (select(both).order_by(both.c.site_id)
            .execution_options(stream_results=True, yield_per=5000))  # this statement's, not the connection's
    yield from db.session.connection().execute(stmt)


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
