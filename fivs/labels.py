"""Names people read for the codes the app uses: the five S, the score bands, and the method
note that says how every figure is computed (the rules of fivs.scoring, the statistics of
fivs.stats).

English is the source (msgid); Babel gives the reader's language: the request's, or the one a
report forces with flask_babel.force_locale. The Japanese names of the S are the method's own
and are not translated.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fivs.scoring import MAX_SCORE, band
from fivs.stats import (AGREEMENT_MIN_ITEMS, BOOTSTRAP_RESAMPLES, EXACT_MAX_N, ONE_LEVEL, TOO_FEW_ITEMS,
                        WILCOXON_MIN_N)

JAPANESE_NAMES: dict[str, str] = {
    "seiri": "Seiri", "seiton": "Seiton", "seiso": "Seiso", "seiketsu": "Seiketsu", "shitsuke": "Shitsuke",
}


def site_place(site) -> str:
    """Where a site is, as people read it: the commune and province now and, where recorded, the
    district and province before the 2025 reform ("xã An Lạc, Bắc Ninh (before 2025: Sơn Động, Bắc Giang)").
    `site` is a Site or any row with the same four attributes."""
    now = ", ".join(p for p in (site.commune, site.province) if p)
    before = ", ".join(p for p in (site.former_district, site.former_province) if p)
    if now and before:
        return _("%(now)s (before 2025: %(before)s)", now=now, before=before)
    if before:
        return _("before 2025: %(before)s", before=before)
    return now


def s_names() -> dict[str, str]:
    """The five S, in S order, in the current language ("Sort" / "Sàng lọc", ...)."""
    return {"seiri": _("Sort"), "seiton": _("Set in order"), "seiso": _("Shine"),
            "seiketsu": _("Standardise"), "shitsuke": _("Sustain")}


def s_label(s: str) -> str:
    """One S's name in the current language."""
    return s_names()[s]


def role_names() -> dict[str, str]:
    """The roles of fivs.auth.roles, in the current language."""
    return {"admin": _("Administrator"), "reviewer": _("Reviewer (Chi cục)"), "consultant": _("Consultant"),
            "principal": _("Principal or clinic head"), "staff": _("Site staff")}


def role_label(role: str) -> str:
    """One role's name in the current language (the code itself for an unknown one)."""
    return role_names().get(role, role)


def site_kind_label(kind: str) -> str:
    """A site's kind (fivs.sites.models.SITE_KINDS) in the current language."""
    return {"school": _("Primary school"), "clinic": _("Clinic")}.get(kind, kind)


# An audit's rounds (fivs.audits.models.PHASES), lazily translated: the start form's choices are these too.
PHASE_NAMES = {"baseline": _l("Baseline"), "periodic": _l("Periodic"), "final": _l("Final")}


def phase_label(phase: str) -> str:
    """An audit's round in the current language (the code for an unknown one)."""
    return str(PHASE_NAMES.get(phase, phase))


def kind_label(kind: str) -> str:
    """An audit's kind in the current language."""
    return {"consultant": _("Consultant audit"), "self": _("Self-assessment"),
            "calibration": _("Second rater")}.get(kind, kind)


def status_label(status: str) -> str:
    """An audit's status in the current language."""
    return {"draft": _("Draft"), "submitted": _("Submitted"), "reopened": _("Reopened")}.get(status, status)


def action_status_label(status: str) -> str:
    """A corrective action's status (fivs.actions.models.ACTION_STATUSES) in the current language."""
    return {"open": _("open"), "done": _("done"), "verified": _("verified"),
            "reopened": _("reopened")}.get(status, status)


def priority_label(priority: str) -> str:
    """A corrective action's priority in the current language."""
    return {"low": _("low"), "medium": _("medium"), "high": _("high")}.get(priority, priority)


def round_state_names() -> dict[str, str]:
    """The states of a site's round on the programme board (fivs.calendar.services), in the current language."""
    return {"not_started": _("Not started"), "in_progress": _("In progress"), "submitted": _("Submitted"),
            "late": _("Late")}


def round_state_label(state: str) -> str:
    return round_state_names().get(state, state)


def band_names() -> dict[str, str]:
    """The four bands of fivs.scoring.band, in the current language."""
    return {"poor": _("Poor"), "fair": _("Fair"), "good": _("Good"), "excellent": _("Excellent")}


def band_label(pct: float | None) -> str | None:
    """The band of a percentage in the current language; None when there is no percentage."""
    key = band(pct)
    return None if key is None else band_names()[key]


def method_note() -> list[str]:
    """The method note in the current language, one string per paragraph: scores, bands, the
    change of a site, the programme statistics. Its numbers that are rules come from the code."""
    return [
        _("Each item is scored from 0 to %(max_score)d. Items marked N/A and unscored items are left out.",
          max_score=MAX_SCORE),
        _(
            "The percentage for each S = sum of the scores of that S's scored items "
            "÷ (%(max_score)d × number of scored items of that S) × 100, pooled over all zones and all instances of a "
            "repeated zone (e.g. several classrooms). A zone's percentage is computed the same way "
            "over that zone's items. The overall score is the plain mean of the five S percentages; "
            "when any S has no scored item the overall score is not computed and the audit is "
            "flagged as incomplete. Calculations keep full precision; figures are rounded to one "
            "decimal only for display. Bands: below 60 %% Poor; 60 %% to below 80 %% Fair; 80 %% to "
            "below 90 %% Good; 90 %% and above Excellent.",
            max_score=MAX_SCORE,
        ),
        _(
            "A site's change is computed on matched items only: items scored (not N/A, not left "
            "blank) in both the baseline and the final audit. An item that appears in several zone "
            "instances is matched when it has at least one scored answer in each audit, and all of "
            "its scored answers are pooled. The change for each S = final S percentage minus "
            "baseline S percentage, both over the matched items; the overall change is the mean of "
            "the five S changes. Items scored in only one audit, or N/A or blank in either, are "
            "left out of the comparison and listed."
        ),
        _(
            "Programme statistics (sites with both rounds), for each S and for the overall score: "
            "number of sites n; mean baseline and mean final score (over all scored items of each "
            "audit); mean change (over matched items) with its 95 %% confidence interval (Student t, "
            "n − 1 degrees of freedom; not computed when n < 2; cut at ±100 points, the most a "
            "percentage can change); numbers of sites improved / "
            "unchanged / declined; Cohen's dz (mean change ÷ sample standard deviation of the "
            "changes); Wilcoxon signed-rank test: zero changes are dropped, absolute changes are "
            "ranked (mid-ranks for ties), W+ is the sum of the ranks of the positive changes; the "
            "two-sided p value is exact for up to %(exact_max)d non-zero changes and from the normal "
            "approximation with tie correction (no continuity correction) above that; the effect "
            "size is the rank-biserial correlation r = (W+ − W−) / (W+ + W−). W+, p and r are "
            "shown only with at least %(wilcoxon_min)d non-zero changes.",
            exact_max=EXACT_MAX_N, wilcoxon_min=WILCOXON_MIN_N,
        ),
    ]


def wilcoxon_note() -> str:
    """Why W+, p and r are left out of a programme table (fivs.stats.MetricStats.wilcoxon_informative)."""
    return _("The Wilcoxon test (W+, p, r) is shown only with at least %(n)d sites whose score changed: with "
             "fewer, even a change in the same direction at every site gives a p value of at least 0.0625, so "
             "the test cannot show anything.", n=WILCOXON_MIN_N)


def no_statistics_note() -> str:
    """Said instead of a programme table when no site has both rounds."""
    return _("No site has both rounds yet: there are no statistics to show.")


def kappa_missing_label(reason: str | None) -> str:
    """Why an agreement shows no kappa (fivs.stats.TOO_FEW_ITEMS / ONE_LEVEL), in the current language."""
    if reason == TOO_FEW_ITEMS:
        return _("No kappa: fewer than %(n)d items scored by both raters.", n=AGREEMENT_MIN_ITEMS)
    if reason == ONE_LEVEL:
        return _("No kappa: one rater gave every item the same score, so kappa cannot measure agreement.")
    return ""


def agreement_note() -> list[str]:
    """How the agreement figures are computed (fivs.stats, fivs.agreement.services), in words."""
    return [
        _("Items scored by both raters are compared (N/A or unscored on either side left out); each room "
          "of a repeating zone is its own item. The difference is the self-assessment (or second rater) "
          "minus the consultant, in points on the 0 to 4 scale: a positive difference is over-rating."),
        _("Kappa is Cohen's quadratic-weighted kappa (1 is perfect agreement, 0 no better than chance), "
          "with a 95 %% bootstrap interval over the items (%(n)d resamples, fixed seed). It is not "
          "shown with fewer than %(min)d items, nor when a rater gave every item the same score.",
          n=BOOTSTRAP_RESAMPLES, min=AGREEMENT_MIN_ITEMS),
    ]
