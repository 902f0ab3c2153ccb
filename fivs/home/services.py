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
class SiteHome:
    comparison: SiteComparison
    highlights: Highlights
    actions: list[CorrectiveAction]  # open and reopened, overdue first
    audits: list[SubmittedAudit]  # newest first

    @property
    def latest(self) -> Round | None:
        return self.comparison.final or self.comparison.baseline

    @property
    def best_s(self) -> tuple[str, float] | None:
        """The S that rose most since the baseline (over matched items), when one rose."""
        change = self.comparison.change
        rises = [(s, v) for s, v in (change.by_s.items() if change else ()) if v is not None and v > 0]
        return max(rises, key=lambda sv: sv[1], default=None)

    @property
    def weakest_s(self) -> tuple[str, float] | None:
        """The S of the latest round with the lowest percentage, when it is below 100 %."""
        if self.latest is None:
            return None
        scored = [(s, v) for s, v in self.latest.scores.by_s.items() if v is not None and v < 100]
        return min(scored, key=lambda sv: sv[1], default=None)

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
