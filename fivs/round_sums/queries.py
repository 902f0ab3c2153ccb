"""The sums each comparison is made of: a site's baseline and final, added up in the database.

`round_sums` gives them (stored where stored, else summed from the answers, in one statement) to
fivs.comparisons; `store_round_sums` stores them when a consultant's round changes (fivs.audits.services):
the one concept both rooms need, so it is a room of its own (see models.py for why storing is safe).
"""
from __future__ import annotations

from collections.abc import Collection, Iterator

from sqlalchemy import Integer, String, Text, and_, case, cast, exists, func, literal, select, true, union_all
from sqlalchemy.dialects import postgresql, sqlite

from fivs.audits.models import CONSULTANT_AUDIT, Answer, Audit
from fivs.audits.queries import counted, without_hidden
from fivs.checklists.models import Item, Zone
from fivs.extensions import db
from fivs.round_sums.models import FIGURES, RoundSum
from fivs.sites.models import Site
from fivs.sites.queries import filter_sites

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
            .where(Audit.kind == CONSULTANT_AUDIT, Audit.status == "submitted", Audit.phase.in_(ROUNDS)))
    ranked = without_hidden(filter_sites(counted(stmt), site_ids, kind, active_only=True, province=province),
                            hidden).subquery()
    return (select(ranked.c.site_id, ranked.c.phase, ranked.c.audit_id, ranked.c.row_version,
                   case((ranked.c.phase == "final", 1), else_=0).label("final"))
            .where(ranked.c.rank == 1).cte("rounds"))


PAIR_KEYS = ("baseline_id", "baseline_version", "final_id", "final_version")


def round_pairs(rounds):
    """A CTE (site_id, *PAIR_KEYS) of `round_audits`' rows: each site's pair of rounds, the key its stored sums
    are kept under (fivs.round_sums.models), 0 for a round the site does not have."""
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
    by its key (fivs.round_sums.models); two servers storing the same pair at once store it once (ON
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


def stored_rows() -> int:
    """How many rows of round sums are stored (the statement's own row count is not to be had on SQLite,
    whose driver counts no rows of a statement that starts with WITH)."""
    return db.session.scalar(select(func.count()).select_from(RoundSum))


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
