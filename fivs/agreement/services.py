"""Do the raters agree? Self-assessment versus consultant, calibration pairs, rater drift (#23).

Pairs (per site and round)
    self: the round's consultant audit (the one the comparison uses: fivs.comparisons.services.
    pick_round) and the site's latest submitted self-assessment of the same phase.
    calibration: a submitted calibration audit and the submitted consultant audit it calibrates.
    The items of a pair are the answers both sides scored (N/A or unscored on either side left out),
    matched by zone, item code and room, so each room of a repeating zone is its own item pair.
    Differences are `audit` - `other`: self - consultant, second rater - first rater.

Rounds
    Every phase that can hold data: baseline, periodic and final (fivs.audits.models.PHASES). A
    periodic check between the two rounds pairs up like the others (the phase's latest audits), so
    raters who disagree mid-pilot show; only the bias change is baseline versus final.

Programme
    Per phase, the self pairs of every site, and their items pooled into one set of figures. Whether
    self-rating bias shrank: per site with a self pair in both baseline and final, the absolute mean
    difference at baseline and at final, compared with the paired statistics of fivs.stats (the
    same machinery as the score comparison); its sentence is on the programme page and in the
    programme report's appendix.

Rater drift (reviewers and admins only: fivs.auth.policy.can_see_rater_drift)
    Per consultant, their items pooled over their calibration pairs (either side) and, separately,
    over their self pairs: the consultant's score minus the other rater's, and kappa.

Rows come from fivs.agreement.queries and fivs.comparisons.queries; every figure from fivs.stats.
Pages, API and reports read the dataclasses below (or as_dict()), so they show the same numbers.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _

from fivs import stats
from fivs.agreement import queries
from fivs.agreement.queries import RatedAudit
from fivs.audits.models import CALIBRATION, CONSULTANT_AUDIT, PHASES, SELF_ASSESSMENT
from fivs.comparisons.queries import SiteRow
from fivs.comparisons.services import check_kind
from fivs.scoring import S_KEYS
from fivs.services_errors import ValidationError

PAIR_KINDS = (SELF_ASSESSMENT, CALIBRATION)

# One scored answer's place: (zone code, item code, room name) -> score.
Scores = dict[tuple[str, str, str], int]


def _latest(audits: Iterable[RatedAudit]) -> RatedAudit | None:
    return max(audits, key=lambda a: (a.audit_date, a.submitted_at is not None, a.submitted_at, a.id),
               default=None)


def round_audit(audits: Sequence[RatedAudit], phase: str, kind: str) -> RatedAudit | None:
    """The latest submitted audit of a kind and phase (for consultant audits: the comparison's)."""
    return _latest(a for a in audits if a.kind == kind and a.phase == phase)


@dataclass(frozen=True)
class ItemPairs:
    """The common scored items of two audits: parallel scores and each item's S."""

    audit: tuple[int, ...]
    other: tuple[int, ...]
    s: tuple[str, ...]


def item_pairs(first: Scores, other: Scores, items_s: dict[tuple[str, str, str], str]) -> ItemPairs:
    common = sorted(first.keys() & other.keys())
    return ItemPairs(tuple(first[k] for k in common), tuple(other[k] for k in common),
                     tuple(items_s[k] for k in common))


@dataclass(frozen=True)
class Pair:
    """Two raters of one site in one round, and how far they agree."""

    kind: str  # "self" | "calibration"
    site: SiteRow
    phase: str
    audit: RatedAudit  # the self-assessment or the calibration audit
    other: RatedAudit  # the consultant audit
    items: ItemPairs
    overall: stats.Agreement
    by_s: dict[str, stats.Agreement]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "site": self.site.code, "phase": self.phase,
                "audit": self.audit.uuid, "other": self.other.uuid,
                "audit_rater": self.audit.auditor, "other_rater": self.other.auditor,
                **self.overall.as_dict(),
                "by_s": {s: self.by_s[s].as_dict() for s in S_KEYS}}


def _agreement(pairs: ItemPairs) -> tuple[stats.Agreement, dict[str, stats.Agreement]]:
    by_s = {}
    for s in S_KEYS:
        idx = [i for i, item_s in enumerate(pairs.s) if item_s == s]
        by_s[s] = stats.agreement([pairs.audit[i] for i in idx], [pairs.other[i] for i in idx])
    return stats.agreement(pairs.audit, pairs.other), by_s


def make_pair(kind: str, audit: RatedAudit, other: RatedAudit,
              scores: dict[int, Scores], items_s: dict) -> Pair:
    pairs = item_pairs(scores.get(audit.id, {}), scores.get(other.id, {}), items_s)
    overall, by_s = _agreement(pairs)
    return Pair(kind=kind, site=audit.site, phase=audit.phase, audit=audit, other=other, items=pairs,
                overall=overall, by_s=by_s)


def _scores(audit_ids: Collection[int]) -> tuple[dict[int, Scores], dict[tuple[str, str, str], str]]:
    """The scored answers of the audits by place, and each place's S (one query)."""
    scores: dict[int, Scores] = defaultdict(dict)
    items_s = {}
    for audit_id, zone_code, item_code, room, s, score in queries.scored_places(audit_ids):
        key = (zone_code, item_code, room or "")
        scores[audit_id][key] = int(score)
        items_s[key] = s
    return scores, items_s


def site_pairs(audits: Sequence[RatedAudit], phases: Sequence[str],
               with_calibration: bool) -> list[tuple[str, RatedAudit, RatedAudit]]:
    """(kind, audit, other) of a site's pairs in the phases: self pairs first, then calibration."""
    chosen = []
    by_id = {a.id: a for a in audits}
    for phase in phases:
        consultant = round_audit(audits, phase, CONSULTANT_AUDIT)
        own = round_audit(audits, phase, SELF_ASSESSMENT)
        if consultant and own:
            chosen.append((SELF_ASSESSMENT, own, consultant))
    if with_calibration:
        for audit in audits:
            main = by_id.get(audit.calibrates_id)
            if audit.kind == CALIBRATION and audit.phase in phases and main is not None:
                chosen.append((CALIBRATION, audit, main))
    return chosen


def check_phase(phase: str | None) -> tuple[str, ...]:
    """The phases asked for: one of PHASES, or all when none is given."""
    if not phase:
        return PHASES
    if phase not in PHASES:
        raise ValidationError(_("The round must be baseline, periodic or final."), code="bad_phase",
                              details=[{"field": "phase", "allowed": list(PHASES)}])
    return (phase,)


def load_site_agreement(site, phase: str | None = None, *, with_calibration: bool,
                        hidden: Collection[int] = ()) -> list[Pair]:
    """A site's pairs in a round (or both); calibration pairs only when asked (2 queries); none
    with an audit the viewer may not see yet (`hidden`: fivs.audits.queries.hidden_audits)."""
    phases = check_phase(phase)
    audits = queries.rated_audits({site.id}, active_only=False, hidden=hidden)
    chosen = site_pairs(audits, phases, with_calibration)
    scores, items_s = _scores({a.id for _k, a, _o in chosen} | {o.id for _k, _a, o in chosen})
    return [make_pair(kind, audit, other, scores, items_s) for kind, audit, other in chosen]


def site_agreement(site, phase: str | None = None, *, with_calibration: bool,
                   hidden: Collection[int] = ()) -> dict:
    """The site's pairs in the JSON shape of the API."""
    return {"pairs": [p.as_dict() for p in load_site_agreement(
        site, phase, with_calibration=with_calibration, hidden=hidden)]}


# ---------------------------------------------------------------- the programme
def pooled(pairs: Iterable[Pair], *, flip: bool = False) -> stats.Agreement:
    """The items of several pairs as one set (flip: other - audit)."""
    first, other = [], []
    for pair in pairs:
        a, b = (pair.items.other, pair.items.audit) if flip else (pair.items.audit, pair.items.other)
        first.extend(a)
        other.extend(b)
    return stats.agreement(first, other)


@dataclass(frozen=True)
class RaterDrift:
    """One consultant against the other raters of their pairs (their score - the other's)."""

    rater_id: int
    rater: str
    calibration_pairs: int
    calibration: stats.Agreement
    self_pairs: int
    versus_self: stats.Agreement

    def as_dict(self) -> dict:
        return {"rater": self.rater, "calibration_pairs": self.calibration_pairs,
                "calibration": self.calibration.as_dict(), "self_pairs": self.self_pairs,
                "versus_self": self.versus_self.as_dict()}


def rater_drift(pairs: Sequence[Pair]) -> list[RaterDrift]:
    """Per consultant, over every pair they are in (module docstring), by name."""
    calibration: dict[int, list[tuple[Pair, bool]]] = defaultdict(list)
    selfs: dict[int, list[Pair]] = defaultdict(list)
    names = {}
    for pair in pairs:
        names[pair.other.auditor_id] = pair.other.auditor
        if pair.kind == CALIBRATION:
            names[pair.audit.auditor_id] = pair.audit.auditor
            calibration[pair.audit.auditor_id].append((pair, False))
            calibration[pair.other.auditor_id].append((pair, True))
        else:
            selfs[pair.other.auditor_id].append(pair)
    drift = []
    for rater_id, name in names.items():
        cal = calibration.get(rater_id, [])
        first, other = [], []
        for pair, flip in cal:
            first.extend(pair.items.other if flip else pair.items.audit)
            other.extend(pair.items.audit if flip else pair.items.other)
        drift.append(RaterDrift(
            rater_id=rater_id, rater=name, calibration_pairs=len(cal),
            calibration=stats.agreement(first, other),
            self_pairs=len(selfs.get(rater_id, [])),
            versus_self=pooled(selfs.get(rater_id, []), flip=True)))
    return sorted(drift, key=lambda d: (d.rater, d.rater_id))


@dataclass(frozen=True)
class BiasChange:
    """Self-rating bias (absolute mean difference self - consultant) of the sites with a self pair
    in both rounds, baseline versus final (fivs.stats paired statistics)."""

    sites: tuple[str, ...]
    stats: stats.MetricStats

    @property
    def shrank(self) -> bool | None:
        """True / False when the paired test shows a smaller / larger gap (p < 0.05), else None."""
        s = self.stats
        if not s.wilcoxon_informative or s.wilcoxon_p >= 0.05 or not s.mean_change:
            return None
        return s.mean_change < 0

    def sentence(self) -> str:
        s = self.stats
        if s.n < 2:
            return _("Too few sites have a self-assessment beside the consultant audit in both "
                     "rounds to tell whether self-rating bias changed.")
        values = {"n": s.n, "baseline": format_decimal(s.baseline_mean, format="0.00"),  # the reader's decimal mark
                  "final": format_decimal(s.final_mean, format="0.00")}
        if self.shrank is True:
            return _("Across %(n)d sites, the gap between self-assessment and consultant scores "
                     "shrank from %(baseline)s to %(final)s points: staff score more like the "
                     "consultants.", **values)
        if self.shrank is False:
            return _("Across %(n)d sites, the gap between self-assessment and consultant scores "
                     "grew from %(baseline)s to %(final)s points.", **values)
        return _("Across %(n)d sites, the gap between self-assessment and consultant scores went "
                 "from %(baseline)s to %(final)s points, too little or over too few sites for "
                 "the paired test to show a change.", **values)

    def as_dict(self) -> dict:
        return {"sites": list(self.sites), "shrank": self.shrank, **self.stats.as_dict()}


def bias_change(by_round: dict[str, list[Pair]]) -> BiasChange:
    baseline = {p.site.code: p for p in by_round["baseline"] if p.overall.mean_difference is not None}
    final = {p.site.code: p for p in by_round["final"] if p.overall.mean_difference is not None}
    codes = tuple(c for c in baseline if c in final)
    b = [abs(baseline[c].overall.mean_difference) for c in codes]
    f = [abs(final[c].overall.mean_difference) for c in codes]
    return BiasChange(sites=codes, stats=stats.metric_stats(b, f, [y - x for x, y in zip(b, f)],
                                                           BIAS_BOUNDS))


# An absolute mean difference lies in 0..4 points, so its change in -4..4.
BIAS_BOUNDS = (-4.0, 4.0)


@dataclass(frozen=True)
class ProgrammeAgreement:
    """Self pairs per round across the sites (and pooled), the bias change, calibration pairs and
    rater drift."""

    by_round: dict[str, list[Pair]]
    pooled: dict[str, stats.Agreement]
    bias: BiasChange
    calibration: list[Pair]
    drift: list[RaterDrift]

    @property
    def shown_phases(self) -> tuple[str, ...]:
        """The phases the page and the report show: baseline and final always, periodic when it
        has a pair."""
        return tuple(p for p in PHASES if p != "periodic" or self.by_round[p])

    def as_dict(self) -> dict:
        return {
            "rounds": {phase: {"pooled": self.pooled[phase].as_dict(),
                               "pairs": [p.as_dict() for p in self.by_round[phase]]}
                       for phase in PHASES},
            "bias_change": {**self.bias.as_dict(), "sentence": self.bias.sentence()},
            "calibration_pairs": [p.as_dict() for p in self.calibration],
            "rater_drift": [d.as_dict() for d in self.drift],
        }


def load_programme_agreement(kind: str = "all", visible_site_ids: Collection[int] | None = None,
                             hidden: Collection[int] = ()) -> ProgrammeAgreement:
    """Every active site's pairs of every phase, the bias change and rater drift (2 queries)."""
    kind = check_kind(kind)
    audits_by_site: dict[int, list[RatedAudit]] = defaultdict(list)
    for audit in queries.rated_audits(visible_site_ids, kind, hidden=hidden):
        audits_by_site[audit.site.id].append(audit)
    chosen = [pair for audits in audits_by_site.values() for pair in site_pairs(audits, PHASES, True)]
    scores, items_s = _scores({a.id for _k, a, _o in chosen} | {o.id for _k, _a, o in chosen})
    pairs = [make_pair(k, a, o, scores, items_s) for k, a, o in chosen]
    by_round = {phase: [p for p in pairs if p.kind == SELF_ASSESSMENT and p.phase == phase]
                for phase in PHASES}
    return ProgrammeAgreement(
        by_round=by_round,
        pooled={phase: pooled(by_round[phase]) for phase in PHASES},
        bias=bias_change(by_round),
        calibration=[p for p in pairs if p.kind == CALIBRATION],
        drift=rater_drift(pairs),
    )


def programme_agreement(kind: str = "all", *, with_drift: bool, hidden: Collection[int] = ()) -> dict:
    """The programme's agreement in the JSON shape of the API (drift only when asked)."""
    data = load_programme_agreement(kind, hidden=hidden).as_dict()
    if not with_drift:
        del data["rater_drift"]
    return data
