"""Scoring rules for 5S audits (method note, scoring part).

Item scores
    Every checklist item is scored from 0 to 4. Items marked N/A and items
    left unscored are left out of every calculation.

Percentages for one audit
    The percentage for an S (Seiri, Seiton, Seiso, Seiketsu, Shitsuke) is the
    sum of the scores of that S's scored items divided by 4 x the number of
    scored items of that S, times 100, pooled over all zones and over all
    rooms of a repeating zone (e.g. several classrooms). A zone's
    percentage is computed the same way over that zone's items, pooled over
    the zone's rooms. The overall score is the plain mean of the five S
    percentages; it is not computed, and the audit is flagged as incomplete,
    when any S has no scored item. Full precision is kept in all
    calculations; figures are rounded to one decimal only when shown.

Bands
    below 60 % poor; 60 % up to (not including) 80 % fair; 80 % up to (not
    including) 90 % good; 90 % and above excellent.

Change between two audits of a site (comparability guard)
    The change is computed on matched items only: item codes that are scored
    (not N/A, not unscored) in both the baseline and the final audit. An item
    code that appears in several rooms is matched when it has at
    least one scored answer in each audit, and all of its scored answers are
    pooled. For each S the change is the final S percentage over the matched
    items minus the baseline S percentage over the same items (none when that
    S has no matched item); the overall change is the mean of the five S
    changes (none when any of them is missing). Items scored in one audit but
    not in the other, or N/A or unscored in either, are left out and listed.

Programme (sites that have both rounds)
    For each S and for the overall score, a site enters only when its change
    for that metric is available; its baseline and final scores are then
    those of its audits over all their scored items, its change that over
    matched items. The statistics of these figures are fivs.stats'; the names
    people read for the codes (the S, the bands) and this note in words are
    fivs.labels'.

This module is pure standard-library Python (no Flask, database or numpy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "S_KEYS",
    "MAX_SCORE",
    "ScoredAnswer",
    "AuditScores",
    "audit_scores",
    "scores_from_sums",
    "band",
    "format_pct",
    "Change",
    "compare",
    "change_from_sums",
    "SitePair",
    "MetricRows",
    "ProgrammeRows",
    "programme_rows",
]

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

S_KEYS: tuple[str, ...] = ("seiri", "seiton", "seiso", "seiketsu", "shitsuke")

MAX_SCORE = 4


# ---------------------------------------------------------------------------
# One audit
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredAnswer:
    """One answer of an audit checklist."""

    item_code: str
    s: str  # one of S_KEYS
    zone_code: str
    room: str  # "" for non-repeating zones
    score: int | None  # 0..4 or None (unscored)
    na: bool = False

    def __post_init__(self) -> None:
        if self.s not in S_KEYS:
            raise ValueError(f"unknown S key {self.s!r} (item {self.item_code!r})")
        if self.score is not None and not self.na:
            if isinstance(self.score, bool) or not (0 <= self.score <= MAX_SCORE):
                raise ValueError(
                    f"score must be 0..{MAX_SCORE} or None, got {self.score!r} "
                    f"(item {self.item_code!r})"
                )

    @property
    def is_scored(self) -> bool:
        """True when the answer counts: not N/A and has a score."""
        return not self.na and self.score is not None


@dataclass(frozen=True, slots=True)
class AuditScores:
    by_s: dict[str, float | None]  # all five keys always present
    by_zone: dict[str, float | None]  # zone_code -> pct; zones seen in the answers
    overall: float | None
    incomplete_s: tuple[str, ...]  # S keys with no scored item (the "flag")
    scored: int  # number of scored answers
    na: int  # number of N/A answers

    @property
    def complete(self) -> bool:
        return not self.incomplete_s


def _pct(total: int, count: int) -> float | None:
    if count == 0:
        return None
    return total / (MAX_SCORE * count) * 100.0


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = list(values)
    if not vals or any(v is None for v in vals):
        return None
    return math.fsum(vals) / len(vals)


def _s_percentages(answers: Iterable[ScoredAnswer]) -> dict[str, float | None]:
    totals = {s: 0 for s in S_KEYS}
    counts = {s: 0 for s in S_KEYS}
    for a in answers:
        score = a.score
        if score is not None and not a.na:  # is_scored, inlined: this is the hot loop
            totals[a.s] += score
            counts[a.s] += 1
    return {s: _pct(totals[s], counts[s]) for s in S_KEYS}


def audit_scores(answers: Iterable[ScoredAnswer]) -> AuditScores:
    """Percentages for one audit (see the module docstring for the rules)."""
    s_totals = {s: 0 for s in S_KEYS}
    s_counts = {s: 0 for s in S_KEYS}
    zone_totals: dict[str, int] = {}
    zone_counts: dict[str, int] = {}
    scored = na = 0
    for a in answers:  # one pass: S and zone sums together
        zone = a.zone_code
        if zone not in zone_totals:
            zone_totals[zone] = zone_counts[zone] = 0
        if a.na:
            na += 1
        elif a.score is not None:
            scored += 1
            zone_totals[zone] += a.score
            zone_counts[zone] += 1
            s_totals[a.s] += a.score
            s_counts[a.s] += 1
    return _from_sums(s_totals, s_counts, zone_totals, zone_counts, scored, na)


def _from_sums(s_totals: dict[str, int], s_counts: dict[str, int], zone_totals: dict[str, int],
               zone_counts: dict[str, int], scored: int, na: int) -> AuditScores:
    by_s = {s: _pct(s_totals[s], s_counts[s]) for s in S_KEYS}
    by_zone = {z: _pct(zone_totals[z], zone_counts[z]) for z in zone_totals}
    incomplete = tuple(s for s in S_KEYS if by_s[s] is None)
    overall = None if incomplete else _mean_or_none(by_s[s] for s in S_KEYS)
    return AuditScores(
        by_s=by_s,
        by_zone=by_zone,
        overall=overall,
        incomplete_s=incomplete,
        scored=scored,
        na=na,
    )


def scores_from_sums(totals: dict[str, int], counts: dict[str, int], na: int = 0,
                     zone_totals: dict[str, int] | None = None, zone_counts: dict[str, int] | None = None
                     ) -> AuditScores:
    """An audit's percentages from the sums of its scored answers, as a database aggregates them: per S
    (`totals`: sum of the scores, `counts`: number of scored answers; an S absent counts 0) and per zone
    seen in its answers (absent: by_zone is empty); the same figures as audit_scores over those answers."""
    s_totals = {s: totals.get(s) or 0 for s in S_KEYS}
    s_counts = {s: counts.get(s) or 0 for s in S_KEYS}
    zone_totals = dict(zone_totals or {})
    zone_counts = {z: (zone_counts or {}).get(z) or 0 for z in zone_totals}
    return _from_sums(s_totals, s_counts, zone_totals, zone_counts, sum(s_counts.values()), na)


def band(pct: float | None) -> str | None:
    """'poor' (< 60), 'fair' (60 to < 80), 'good' (80 to < 90), 'excellent' (>= 90)."""
    if pct is None:
        return None
    if pct < 60:
        return "poor"
    if pct < 80:
        return "fair"
    if pct < 90:
        return "good"
    return "excellent"


def format_pct(pct: float | None, lang: str = "vi") -> str:
    """One decimal (half up): vi "62,5 %", en "62.5%"; None -> "—"."""
    if pct is None:
        return "—"
    if math.isnan(pct) or math.isinf(pct):
        return "—"
    # Decimal(str(x)) rounds the shortest decimal representation, so 62.25
    # shows as 62.3 (as a person would round it) rather than 62.2.
    d = Decimal(str(pct)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if d == 0:
        d = Decimal("0.0")  # never "-0.0"
    text = f"{d:.1f}"
    if lang == "vi":
        return text.replace(".", ",") + " %"
    return text + "%"


# ---------------------------------------------------------------------------
# Baseline vs final of one site
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    by_s: dict[str, float | None]
    overall: float | None
    baseline_matched: dict[str, float | None]  # S% of baseline over matched items
    final_matched: dict[str, float | None]
    excluded_items: tuple[str, ...]


def compare(baseline: Iterable[ScoredAnswer], final: Iterable[ScoredAnswer]) -> Change:
    """Change from baseline to final on matched items only (comparability guard)."""
    baseline = list(baseline)
    final = list(final)
    scored_b = {a.item_code for a in baseline if a.is_scored}
    scored_f = {a.item_code for a in final if a.is_scored}
    matched = scored_b & scored_f
    all_codes = {a.item_code for a in baseline} | {a.item_code for a in final}
    excluded = tuple(sorted(all_codes - matched))

    b_pct = _s_percentages(a for a in baseline if a.item_code in matched)
    f_pct = _s_percentages(a for a in final if a.item_code in matched)
    return _change(b_pct, f_pct, excluded)


def change_from_sums(baseline_totals: dict[str, int], baseline_counts: dict[str, int],
                     final_totals: dict[str, int], final_counts: dict[str, int],
                     excluded_items: Iterable[str] = ()) -> Change:
    """The change from the sums per S of the matched items' scored answers (totals and counts of the
    baseline's and of the final's; an S absent counts 0) and the codes left out, as a database
    aggregates them: the same figures as compare over those answers."""
    b_pct = {s: _pct(baseline_totals.get(s) or 0, baseline_counts.get(s) or 0) for s in S_KEYS}
    f_pct = {s: _pct(final_totals.get(s) or 0, final_counts.get(s) or 0) for s in S_KEYS}
    return _change(b_pct, f_pct, tuple(sorted(set(excluded_items))))


def _change(b_pct: dict[str, float | None], f_pct: dict[str, float | None],
            excluded: tuple[str, ...]) -> Change:
    by_s: dict[str, float | None] = {}
    for s in S_KEYS:
        b, f = b_pct[s], f_pct[s]
        by_s[s] = None if b is None or f is None else f - b
    overall = _mean_or_none(by_s[s] for s in S_KEYS)
    return Change(
        by_s=by_s,
        overall=overall,
        baseline_matched=b_pct,
        final_matched=f_pct,
        excluded_items=excluded,
    )


# ---------------------------------------------------------------------------
# The programme: which sites enter each metric
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SitePair:
    """One site's input to the programme statistics."""

    code: str
    baseline: AuditScores
    final: AuditScores
    change: Change

    @classmethod
    def from_answers(
        cls,
        code: str,
        baseline: Iterable[ScoredAnswer],
        final: Iterable[ScoredAnswer],
    ) -> SitePair:
        baseline = list(baseline)
        final = list(final)
        return cls(
            code=code,
            baseline=audit_scores(baseline),
            final=audit_scores(final),
            change=compare(baseline, final),
        )


@dataclass(frozen=True)
class MetricRows:
    """One metric's figures over the sites whose matched change is available."""

    baselines: tuple[float, ...]  # each such site's baseline score over all its scored items
    finals: tuple[float, ...]  # its final score over all its scored items
    changes: tuple[float, ...]  # its change over matched items


@dataclass(frozen=True)
class ProgrammeRows:
    overall: MetricRows
    by_s: dict[str, MetricRows]  # all five keys, in S order


def _metric_rows(rows: Iterable[tuple[float | None, float | None, float | None]]) -> MetricRows:
    """rows: (baseline score, final score, matched change) per site; sites without a change are
    left out."""
    kept = [row for row in rows if row[2] is not None]
    return MetricRows(
        baselines=tuple(b for b, _, _ in kept if b is not None),
        finals=tuple(f for _, f, _ in kept if f is not None),
        changes=tuple(c for _, _, c in kept),
    )


def programme_rows(pairs: Iterable[SitePair]) -> ProgrammeRows:
    """The figures the programme statistics are computed from, per metric (module docstring)."""
    pairs = list(pairs)
    return ProgrammeRows(
        overall=_metric_rows((p.baseline.overall, p.final.overall, p.change.overall) for p in pairs),
        by_s={s: _metric_rows((p.baseline.by_s.get(s), p.final.by_s.get(s), p.change.by_s.get(s))
                              for p in pairs)
              for s in S_KEYS},
    )
