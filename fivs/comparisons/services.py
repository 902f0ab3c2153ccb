"""Baseline-versus-final comparisons of a site and of the programme.

Rows come from `fivs.comparisons.queries` (a constant number of SQL statements), every score
from `fivs.scoring` and every statistic from `fivs.stats`. The pages, the JSON API, the exports
and the PDF reports all read the dataclasses below (or their `as_dict()`), so their figures
cannot disagree.

A site's baseline is its latest submitted consultant audit of phase "baseline" (by audit date,
then submission time, then id); its final likewise. Self-assessments are shown beside them and
never mixed into the comparison or the programme statistics.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from operator import itemgetter
from sys import intern

from flask_babel import gettext as _

from fivs import scoring, stats
from fivs.audits.models import PHASES
from fivs.comparisons import queries
from fivs.comparisons.queries import AuditRow, ItemRow, SiteRow
from fivs.round_sums import queries as round_sums
from fivs.services_errors import ValidationError
from fivs.sites.models import PLACES

ROUNDS = round_sums.ROUNDS  # the two rounds compared
WEAKEST_LIMIT = 10


# ---------------------------------------------------------------- answers -> scoring input
def scored_answers_by_audit(rows: Iterable[tuple], items: dict[int, ItemRow]
                            ) -> dict[int, list[scoring.ScoredAnswer]]:
    """Group answer rows (audit_id, item_id, zone_instance, score, na, ...) per audit.

    ScoredAnswer is an immutable value, so equal answers share one instance.
    """
    shared: dict[tuple, scoring.ScoredAnswer] = {}
    grouped: dict[int, list[scoring.ScoredAnswer]] = defaultdict(list)
    for audit_id, item_id, label, score, na, *_ in rows:
        key = (item_id, label, score, na)
        answer = shared.get(key)
        if answer is None:
            item = items[item_id]
            answer = shared[key] = scoring.ScoredAnswer(
                item_code=item.code, s=item.s, zone_code=item.zone_code, room=label,
                score=score, na=bool(na))
        grouped[audit_id].append(answer)
    return grouped


def scores_by_audit(audit_ids: Sequence[int]) -> dict[int, scoring.AuditScores]:
    """{audit id: its scores} from the database's sums (`queries.audit_sums`); an audit without answers is
    absent (its scores are audit_scores([]))."""
    sums: dict[int, list[dict[str, int]]] = defaultdict(lambda: [defaultdict(int) for _ in range(4)])
    na: dict[int, int] = defaultdict(int)
    for audit_id, s, zone, _answers, total, count, n_na in queries.audit_sums(audit_ids):
        s_totals, s_counts, zone_totals, zone_counts = sums[audit_id]
        s_totals[s] += total
        s_counts[s] += count
        zone_totals[zone] += total
        zone_counts[zone] += count
        na[audit_id] += n_na
    return {audit_id: scoring.scores_from_sums(s_totals, s_counts, na[audit_id], zone_totals, zone_counts)
            for audit_id, (s_totals, s_counts, zone_totals, zone_counts) in sums.items()}


def _round_key(audit: AuditRow):
    # Tuples compare element by element: submitted_at is compared only when both are set.
    return (audit.audit_date, audit.submitted_at is not None, audit.submitted_at, audit.id)


def pick_round(audits: Iterable[AuditRow], phase: str) -> AuditRow | None:
    """The latest submitted consultant audit of `phase`, or None."""
    candidates = [a for a in audits
                  if a.kind == "consultant" and a.status == "submitted" and a.phase == phase]
    return max(candidates, key=_round_key, default=None)


# ---------------------------------------------------------------- one site
@dataclass(frozen=True, slots=True)
class Round:
    """One audit with its scores."""

    audit: AuditRow
    scores: scoring.AuditScores

    def as_dict(self) -> dict:
        return {"audit_id": self.audit.uuid, "date": self.audit.audit_date.isoformat(),
                "overall": self.scores.overall, "by_s": dict(self.scores.by_s),
                "by_zone": dict(self.scores.by_zone)}


@dataclass(frozen=True)
class WeakItem:
    item: ItemRow
    pct: float  # the item's percentage, pooled over its rooms (from fivs.scoring)
    scored: int  # number of scored answers pooled
    notes: tuple[tuple[str, str], ...]  # (room name, note)


@dataclass(frozen=True)
class ItemChange:
    """An item matched in both rounds (by code) whose pooled percentage rose, with the final's notes."""

    item: ItemRow  # the final audit's item
    baseline_pct: float
    final_pct: float
    notes: tuple[tuple[str, str], ...]  # (room name, note) of the final audit

    @property
    def change(self) -> float:
        return self.final_pct - self.baseline_pct


@dataclass(frozen=True)
class ZoneName:
    code: str
    name_vi: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True, slots=True)
class SiteComparison:
    site: SiteRow
    baseline: Round | None
    final: Round | None
    change: scoring.Change | None
    zones: tuple[ZoneName, ...] = ()  # the zones seen in the answers, in checklist order
    zone_change: dict[str, float | None] = field(default_factory=dict)  # matched items only
    self_assessments: tuple[Round, ...] = ()
    weakest: tuple[WeakItem, ...] = ()
    weakest_round: str | None = None  # "final" or "baseline": the audit `weakest` comes from
    improved: tuple[ItemChange, ...] = ()  # the items that rose most (matched items only), largest first
    # The compared audits' answer rows (queries.answer_rows, with notes) and the items they name: read once
    # for the figures and kept for the photo highlights (fivs.comparisons.photos), which need them again.
    answer_rows: tuple[tuple, ...] = field(default=(), repr=False, compare=False)
    items: dict[int, ItemRow] = field(default_factory=dict, repr=False, compare=False)

    @property
    def missing(self) -> list[str]:
        return [phase for phase in ROUNDS if getattr(self, phase) is None]

    @property
    def versions_differ(self) -> bool:
        """Baseline and final pinned different checklist versions: items are matched by code, and
        an item in only one of them is among the excluded items."""
        return bool(self.baseline and self.final
                    and self.baseline.audit.checklist_version != self.final.audit.checklist_version)

    @property
    def pair(self) -> scoring.SitePair | None:
        if self.change is None:
            return None
        return scoring.SitePair(code=self.site.code, baseline=self.baseline.scores,
                                final=self.final.scores, change=self.change)

    def as_dict(self) -> dict:
        change = None
        if self.change is not None:
            change = {"overall": self.change.overall, "by_s": dict(self.change.by_s)}
        return {
            "site": self.site.as_dict(),
            "baseline": self.baseline.as_dict() if self.baseline else None,
            "final": self.final.as_dict() if self.final else None,
            "self_assessments": [{**r.as_dict(), "phase": r.audit.phase}
                                 for r in self.self_assessments],
            "change": change,
            "excluded_items": list(self.change.excluded_items) if self.change else [],
            "checklist_versions": {phase: getattr(self, phase).audit.checklist_version if getattr(self, phase) else None
                                   for phase in ROUNDS},
            "versions_differ": self.versions_differ,
        }


def _compare(site: SiteRow, audits: list[AuditRow], answers: dict[int, list]) -> SiteComparison:
    rounds = {}
    for phase in ROUNDS:
        audit = pick_round(audits, phase)
        rounds[phase] = (Round(audit, scoring.audit_scores(answers.get(audit.id, [])))
                         if audit else None)
    change = None
    if rounds["baseline"] and rounds["final"]:
        change = scoring.compare(answers.get(rounds["baseline"].audit.id, []),
                                 answers.get(rounds["final"].audit.id, []))
    return SiteComparison(site=site, baseline=rounds["baseline"], final=rounds["final"],
                          change=change)


def _self_assessments(audits: list[AuditRow]) -> list[AuditRow]:
    return [a for a in audits if a.kind == "self" and a.status == "submitted"]


def load_site_comparison(site, hidden: Collection[int] = ()) -> SiteComparison:
    """Baseline, final, change, self-assessments and weakest items of one site (3 queries), from
    the audits the viewer may see (`hidden`: fivs.audits.queries.hidden_audits)."""
    site_row = SiteRow(site.id, site.code, site.name, site.kind, site.province, site.commune,
                       site.former_province, site.former_district)
    audits = queries.audits({site.id}, active_only=False, hidden=hidden)
    selfs = _self_assessments(audits)
    chosen = [a for a in (pick_round(audits, p) for p in ROUNDS) if a] + selfs
    items = queries.items()
    rows = queries.answer_rows([a.id for a in chosen], with_notes=True)
    answers = scored_answers_by_audit(rows, items)
    result = _compare(site_row, audits, answers)
    weak_round = result.final or result.baseline
    return replace(
        result,
        zones=_zones(rows, items),
        zone_change=_zone_change(result, answers),
        self_assessments=tuple(Round(a, scoring.audit_scores(answers.get(a.id, []))) for a in selfs),
        weakest=_weakest_items(weak_round.audit.id, rows, items) if weak_round else (),
        weakest_round=weak_round.audit.phase if weak_round else None,
        improved=_improved_items(result, rows, items),
        answer_rows=tuple(rows),
        items=items,
    )


def _zones(rows: list[tuple], items: dict[int, ItemRow]) -> tuple[ZoneName, ...]:
    seen = {items[row[1]] for row in rows}
    ordered = sorted(seen, key=lambda item: (item.sort_key[0], item.zone_code))
    return tuple(dict.fromkeys(ZoneName(i.zone_code, i.zone_name_vi, i.zone_name_en) for i in ordered))


def _zone_change(result: SiteComparison, answers: dict[int, list]) -> dict[str, float | None]:
    """Final minus baseline percentage of each zone, over the matched items only."""
    if result.change is None:
        return {}
    excluded = set(result.change.excluded_items)
    b, f = (scoring.audit_scores([a for a in answers.get(r.audit.id, []) if a.item_code not in excluded])
            for r in (result.baseline, result.final))
    return {zone: None if b.by_zone.get(zone) is None or f.by_zone.get(zone) is None
            else f.by_zone[zone] - b.by_zone[zone]
            for zone in dict.fromkeys([*result.baseline.scores.by_zone, *result.final.scores.by_zone])}


def _item_percentages(audit_id: int, rows: list[tuple], items: dict[int, ItemRow]
                      ) -> dict[str, tuple[ItemRow, float | None, tuple[tuple[str, str], ...]]]:
    """{item code: (item, its percentage pooled over its rooms, its notes)} of one audit's answer rows."""
    per_item: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        if row[0] == audit_id:
            per_item[row[1]].append(row)
    found = {}
    for item_id, item_rows in per_item.items():
        item = items[item_id]
        pct = scoring.audit_scores(scored_answers_by_audit(item_rows, items)[audit_id]).by_s[item.s]
        found[item.code] = (item, pct, tuple((label, note) for _a, _i, label, _s, _na, note in item_rows if note))
    return found


def _improved_items(result: SiteComparison, rows: list[tuple], items: dict[int, ItemRow],
                    limit: int = WEAKEST_LIMIT) -> tuple[ItemChange, ...]:
    """The matched items whose percentage rose from baseline to final, largest rise first."""
    if result.change is None:
        return ()
    excluded = set(result.change.excluded_items)
    before = _item_percentages(result.baseline.audit.id, rows, items)
    after = _item_percentages(result.final.audit.id, rows, items)
    rose = [ItemChange(item, before[code][1], pct, notes) for code, (item, pct, notes) in after.items()
            if code in before and code not in excluded and pct is not None and before[code][1] is not None
            and pct > before[code][1]]
    rose.sort(key=lambda c: (-c.change, c.item.sort_key))
    return tuple(rose[:limit])


def _weakest_items(audit_id: int, rows: list[tuple], items: dict[int, ItemRow],
                   limit: int = WEAKEST_LIMIT) -> tuple[WeakItem, ...]:
    """The items of one audit with the lowest percentage (below 100 %), with their notes."""
    per_item: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        if row[0] == audit_id:
            per_item[row[1]].append(row)
    weak = []
    for item_id, item_rows in per_item.items():
        item = items[item_id]
        answers = scored_answers_by_audit(item_rows, items)[audit_id]
        scores = scoring.audit_scores(answers)
        pct = scores.by_s[item.s]
        if pct is None or pct >= 100:
            continue
        notes = tuple((label, note) for _a, _i, label, _s, _na, note in item_rows if note)
        weak.append(WeakItem(item=item, pct=pct, scored=scores.scored, notes=notes))
    weak.sort(key=lambda w: (w.pct, w.item.sort_key))
    return tuple(weak[:limit])


def site_comparison(site, hidden: Collection[int] = ()) -> dict:
    """The site comparison in the JSON shape of the API."""
    return load_site_comparison(site, hidden).as_dict()


# ---------------------------------------------------------------- the programme
@dataclass(frozen=True)
class ProgrammeStats:
    overall: stats.MetricStats
    by_s: dict[str, stats.MetricStats]

    def as_dict(self) -> dict:
        return {"overall": self.overall.as_dict(),
                "by_s": {s: self.by_s[s].as_dict() for s in scoring.S_KEYS}}


# A change of a percentage, in points, lies within these: no interval of a mean change reaches past them.
CHANGE_BOUNDS = (-100.0, 100.0)


def programme_stats(pairs: Sequence[scoring.SitePair]) -> ProgrammeStats:
    """Every metric's statistics (fivs.stats) over the sites fivs.scoring lets into it."""
    rows = scoring.programme_rows(pairs)

    def of(metric: scoring.MetricRows) -> stats.MetricStats:
        return stats.metric_stats(metric.baselines, metric.finals, metric.changes, CHANGE_BOUNDS)

    return ProgrammeStats(overall=of(rows.overall), by_s={s: of(rows.by_s[s]) for s in scoring.S_KEYS})


@dataclass(frozen=True)
class ProgrammeResult:
    """Programme statistics over one kind of site ("all", "school" or "clinic")."""

    kind: str
    sites_included: list[str]
    sites_missing: list[dict]
    stats: ProgrammeStats

    def as_dict(self) -> dict:
        return {"sites_included": self.sites_included, "sites_missing": self.sites_missing,
                **self.stats.as_dict()}


@dataclass(frozen=True)
class Programme:
    """Every visible site's comparison, coverage and consultant audits, loaded once (3 queries)."""

    sites: list[SiteComparison]
    coverage: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> phase -> state
    audits: dict[int, list[AuditRow]] = field(default_factory=dict)  # site id -> its consultant audits that count

    def of_kind(self, kind: str) -> list[SiteComparison]:
        return [c for c in self.sites if kind == "all" or c.site.kind == kind]

    def result(self, kind: str = "all") -> ProgrammeResult:
        chosen = self.of_kind(kind)
        included = [c for c in chosen if not c.missing]
        return ProgrammeResult(
            kind=kind,
            sites_included=[c.site.code for c in included],
            sites_missing=[{"code": c.site.code, "missing": c.missing} for c in chosen if c.missing],
            stats=programme_stats([c.pair for c in included]),
        )

    def ranking_by_final(self, kind: str = "all") -> list[SiteComparison]:
        ranked = [c for c in self.of_kind(kind) if c.final and c.final.scores.overall is not None]
        return sorted(ranked, key=lambda c: (-c.final.scores.overall, c.site.code))

    def ranking_by_change(self, kind: str = "all") -> list[SiteComparison]:
        ranked = [c for c in self.of_kind(kind) if c.change and c.change.overall is not None]
        return sorted(ranked, key=lambda c: (-c.change.overall, c.site.code))


GROUP_BY = PLACES  # the places a programme is read by


def check_group_by(group_by: str | None) -> str | None:
    """None (no grouping) or one of GROUP_BY."""
    if not group_by:
        return None
    if group_by not in GROUP_BY:
        raise ValidationError(_("group_by must be one of: province, commune, former_district."),
                              code="bad_group_by", details=[{"field": "group_by", "allowed": list(GROUP_BY)}])
    return group_by


def group_stats(sites: Sequence[SiteComparison], group_by: str) -> list[dict]:
    """Per place (the sites' `group_by`: province, commune or former district; None where not recorded,
    listed last), its number of sites, of sites with both rounds, and the programme statistics over those."""
    groups: dict[str | None, list[SiteComparison]] = defaultdict(list)
    for c in sites:
        groups[getattr(c.site, group_by)].append(c)
    found = []
    for place in sorted(groups, key=lambda p: (p is None, p or "")):
        included = [c for c in groups[place] if not c.missing]
        found.append({"place": place, "n_sites": len(groups[place]), "n_included": len(included),
                      **programme_stats([c.pair for c in included]).as_dict()})
    return found


def check_kind(kind: str | None) -> str:
    kind = kind or "all"
    if kind not in queries.KINDS:
        raise ValidationError(_("The kind of site must be one of: all, school, clinic."),
                              code="bad_kind",
                              details=[{"field": "kind", "allowed": list(queries.KINDS)}])
    return kind


def coverage_state(audits: Iterable[AuditRow], phase: str) -> str:
    """'submitted' if a consultant audit of the phase is submitted, 'draft' if one is in
    progress (draft or reopened), else 'missing'."""
    statuses = {a.status for a in audits if a.kind == "consultant" and a.phase == phase}
    if "submitted" in statuses:
        return "submitted"
    return "draft" if statuses else "missing"


def _from_round_sums(site: SiteRow, audits: list[AuditRow], rows: list[tuple]) -> SiteComparison:
    """A site's comparison from its `round_sums.round_sums` rows (ROUND_SUMS_COLUMNS) and audits: the
    figures `_compare` makes of the answers, from fivs.scoring's *_from_sums. The rounds are pick_round's, as
    the database's (tests/test_programme_sums.py holds the two rules equal)."""
    s_totals: list[dict] = [{}, {}, {}, {}]  # baseline, final, matched baseline, matched final
    s_counts: list[dict] = [{}, {}, {}, {}]
    zone_totals: list[dict] = [{}, {}]
    zone_counts: list[dict] = [{}, {}]
    na = [0, 0]
    excluded: list[str] = []
    for (_site, group, key, ba, bt, bn, bna, fa, ft, fn, fna, mbt, mbn, mft, mfn, codes) in rows:
        if group == "s":
            for i, (t, n) in enumerate(((bt, bn), (ft, fn), (mbt, mbn), (mft, mfn))):
                s_totals[i][key], s_counts[i][key] = t, n
            na[0] += bna
            na[1] += fna
            if codes:
                excluded += codes.split(round_sums.EXCLUDED_SEPARATOR)
        else:
            key = intern(key)  # a zone code: one copy for every site's scores, not one per row
            for i, (answered, t, n) in enumerate(((ba, bt, bn), (fa, ft, fn))):
                if answered:
                    zone_totals[i][key], zone_counts[i][key] = t, n
    rounds = {}
    for i, phase in enumerate(ROUNDS):
        audit = pick_round(audits, phase)
        rounds[phase] = audit and Round(audit, scoring.scores_from_sums(
            s_totals[i], s_counts[i], na[i], zone_totals[i], zone_counts[i]))
    change = None
    if rounds["baseline"] and rounds["final"]:
        change = scoring.change_from_sums(s_totals[2], s_counts[2], s_totals[3], s_counts[3], excluded)
    return SiteComparison(site=site, baseline=rounds["baseline"], final=rounds["final"], change=change)


def load_programme(kind: str = "all", visible_site_ids: Collection[int] | None = None,
                   hidden: Collection[int] = (), province: str | None = None) -> Programme:
    """Comparisons of every active site of `kind` (optionally limited to some ids and to one province), from
    the audits the viewer may see (`hidden`); the database sums the answers (`round_sums.round_sums`: the sums
    each submission stored, the rest summed now), so the work in Python grows with the sites, not with their
    answers (3 queries)."""
    kind = check_kind(kind)
    sites = queries.sites(visible_site_ids, kind, province=province)
    audits_by_site: dict[int, list[AuditRow]] = defaultdict(list)
    for audit in queries.audits(visible_site_ids, kind, consultant_only=True, hidden=hidden, province=province):
        audits_by_site[audit.site_id].append(audit)
    by_id = {s.id: s for s in sites}
    compared = {site_id: _from_round_sums(by_id[site_id], audits_by_site[site_id], list(rows))
                for site_id, rows in groupby(round_sums.round_sums(visible_site_ids, kind, hidden=hidden,
                                                                province=province), key=itemgetter(0))}
    return Programme(
        sites=[compared.get(s.id) or _from_round_sums(s, audits_by_site[s.id], []) for s in sites],
        coverage={s.code: {p: coverage_state(audits_by_site[s.id], p) for p in PHASES}
                  for s in sites},
        audits=audits_by_site,
    )


def programme_comparison(kind: str = "all", visible_site_ids: Collection[int] | None = None,
                         hidden: Collection[int] = (), province: str | None = None,
                         group_by: str | None = None) -> dict:
    """The programme comparison in the JSON shape of the API, optionally of one province's sites and with
    the statistics of each place (`group_by`: province, commune or former district)."""
    kind, group_by = check_kind(kind), check_group_by(group_by)
    programme = load_programme(kind, visible_site_ids, hidden, province)
    found = programme.result(kind).as_dict()
    if group_by:
        found.update(group_by=group_by, groups=group_stats(programme.of_kind(kind), group_by))
    return found
