"""A site's home page for its principal or clinic head (and its staff): the latest round's score
and band, the change since the baseline, per S, what improved and what to fix next, before/after
photos of the items that changed most, the open corrective actions and the submitted consultant
audits.

Every figure comes from fivs.comparisons (the comparison page's own); the page words them.
"""
from __future__ import annotations

from dataclasses import dataclass

from fivs import scoring
from fivs.actions.models import OPEN_STATUSES, CorrectiveAction
from fivs.actions.queries import site_actions
from fivs.actions.services import is_overdue
from fivs.audits.models import CONSULTANT_AUDIT, Audit
from fivs.audits.queries import site_audits
from fivs.audits.services import audit_scores, current_acknowledgement
from fivs.comparisons.photos import Highlights, highlights
from fivs.comparisons.services import Round, SiteComparison, load_site_comparison


@dataclass(frozen=True)
class SubmittedAudit:
    """A submitted consultant audit of the site, with how many of its answers carry a finding (a note)."""
    audit: Audit
    scores: scoring.AuditScores
    findings: int
    acknowledged: bool


@dataclass(frozen=True)
class SLeaders:
    """The S that share the top (or bottom) figure, in S order: the summary names them all, and says
    "every S" when all five are level, instead of crowning the first of a tie."""

    keys: tuple[str, ...]
    value: float

    @property
    def every_s(self) -> bool:
        return len(self.keys) == len(scoring.S_KEYS)


LEVEL = 1e-9  # two S figures closer than this are level (percentages are kept at full precision)


def _leaders(figures: dict[str, float], pick) -> SLeaders | None:
    if not figures:
        return None
    value = pick(figures.values())
    return SLeaders(tuple(s for s in scoring.S_KEYS if s in figures and abs(figures[s] - value) < LEVEL), value)


@dataclass(frozen=True)
class SiteHome:
    comparison: SiteComparison
    highlights: Highlights
    actions: list[CorrectiveAction]  # open and reopened, overdue first
    audits: list[SubmittedAudit]  # newest first

    @property
    def latest(self) -> Round | None:
        return self.comparison.final or self.comparison.baseline

    @property
    def best_s(self) -> SLeaders | None:
        """The S that rose most since the baseline (over matched items), all of them when several rose
        as much, when one rose."""
        change = self.comparison.change
        rises = {s: v for s, v in (change.by_s.items() if change else ()) if v is not None and v > 0}
        return _leaders(rises, max)

    @property
    def weakest_s(self) -> SLeaders | None:
        """The S of the latest round with the lowest percentage (all of them when several are as low),
        when it is below 100 %."""
        if self.latest is None:
            return None
        return _leaders({s: v for s, v in self.latest.scores.by_s.items() if v is not None and v < 100}, min)

    @property
    def overdue(self) -> int:
        return sum(1 for a in self.actions if is_overdue(a))


def site_home(site) -> SiteHome:
    """The home page's data for `site` (a constant number of queries, plus one per submitted audit
    for its acknowledgement)."""
    comparison = load_site_comparison(site)
    audits = [SubmittedAudit(a, audit_scores(a), sum(1 for ans in a.answers if ans.note),
                             current_acknowledgement(a) is not None)
              for a in site_audits(site) if a.kind == CONSULTANT_AUDIT and a.status == "submitted"]
    return SiteHome(comparison=comparison, highlights=highlights(comparison),
                    actions=site_actions(site.id, statuses=OPEN_STATUSES), audits=audits)
