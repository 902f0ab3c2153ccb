"""Pages: a site's baseline-versus-final comparison and the reviewers' programme dashboard."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from flask_babel import format_decimal
from flask_babel import gettext as _

from fivs import labels, scoring
from fivs.agreement.services import load_programme_agreement, load_site_agreement
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.auth.access import requires, site_scope_required
from fivs.comparisons.photos import highlights
from fivs.comparisons.queries import KINDS
from fivs.comparisons.services import SiteComparison, load_programme, load_site_comparison
from fivs.i18n import current_lang
from fivs.reports import charts, pdf

comparisons_bp = Blueprint("comparisons", __name__)

PHOTO_PAIRS = 5  # items shown with their photos and notes in each of the site page's two lists


@comparisons_bp.get("/sites/<code>/comparison")
@site_scope_required
def site(site):
    hidden = hidden_audits(current_user)
    comparison = load_site_comparison(site, hidden)
    pairs = load_site_agreement(site, with_calibration=policy.can_see_rater_drift(current_user), hidden=hidden)
    return render_template("comparisons/site.html", site=site, c=comparison,
                           highlights=highlights(comparison, limit=PHOTO_PAIRS), radar=site_radar(comparison),
                           method_note=labels.method_note(),
                           pairs=pairs, agreement_note=labels.agreement_note())


@comparisons_bp.get("/programme")
@requires(policy.can_see_programme)
def programme():
    hidden = hidden_audits(current_user)
    data = load_programme(hidden=hidden)
    results = {kind: data.result(kind) for kind in KINDS}
    return render_template("comparisons/programme.html", programme=data, results=results,
                           charts={kind: change_chart(r, kind) for kind, r in results.items()},
                           kind_titles=kind_titles(), coverage_labels=coverage_labels(),
                           method_note=labels.method_note(), wilcoxon_note=labels.wilcoxon_note(),
                           no_statistics_note=labels.no_statistics_note(),
                           agreement=load_programme_agreement(hidden=hidden), agreement_note=labels.agreement_note())


# ---------------------------------------------------------------- presentation helpers
def kind_titles() -> dict[str, str]:
    return {"all": _("All sites"), "school": _("Schools"), "clinic": _("Clinics")}


def coverage_labels() -> dict[str, str]:
    return {"missing": _("Missing"), "draft": _("In progress"), "submitted": _("Submitted")}


def _pct(value: float) -> str:
    return scoring.format_pct(value, current_lang())


def site_radar(c: SiteComparison):
    series = [charts.Series(label, [r.scores.by_s[s] for s in scoring.S_KEYS], colour, dash)
              for label, r, colour, dash in (
                  (_("Baseline"), c.baseline, charts.BASELINE_COLOUR, "6 4"),
                  (_("Final"), c.final, charts.FINAL_COLOUR, None)) if r is not None]
    if not series:
        return None
    return charts.radar_svg(
        [labels.s_label(s) for s in scoring.S_KEYS], series,
        title=_("%(site)s: percentage per S, baseline and final", site=c.site.name),
        desc=_("Radar chart; the same figures are in the table beside it."),
        chart_id="radar-" + c.site.code, fmt=_pct)


def change_chart(result, kind: str):
    stats = result.stats.by_s
    if not any(stats[s].n for s in scoring.S_KEYS):
        return None
    bars = [charts.Bar(labels.s_label(s), stats[s].mean_change,
                       *(stats[s].ci95 or (None, None))) for s in scoring.S_KEYS]
    return charts.bar_ci_svg(
        bars, title=_("%(group)s: mean change per S with its 95%% confidence interval",
                      group=kind_titles()[kind]),
        desc=_("Bar chart in percentage points; the same figures are in the table beside it."),
        chart_id="change-" + kind, fmt=signed)


@comparisons_bp.app_template_filter("signed")
def signed(value: float | None) -> str:
    """A change in percentage points: '+12,5' / '−3,0' / '—'."""
    if value is None:
        return "—"
    number = scoring.format_pct(abs(value), current_lang()).rstrip(" %")
    if set(number) <= set("0.,"):  # shows as zero: no sign
        return number
    return ("+" if value > 0 else "−") + number


@comparisons_bp.app_template_filter("magnitude")
def magnitude(value: float | None) -> str:
    """The size of a change in percentage points, without its sign: '12,5' / '—' (the words say which way)."""
    return "—" if value is None else signed(abs(value)).lstrip("+")


@comparisons_bp.app_template_filter("fraction")
def fraction(value: float | None) -> str:
    """A share (0..1) as a percentage: '87,5 %' / '—'."""
    return "—" if value is None else scoring.format_pct(100 * value, current_lang())


# a signed difference in points of the 0-4 scale, as the reports print it
comparisons_bp.add_app_template_filter(pdf.points, "points")


@comparisons_bp.app_template_filter("stat")
def stat(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format="0." + "0" * digits)


@comparisons_bp.app_template_filter("p_value")
def p_value(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.001:
        return "< " + format_decimal(0.001, format="0.000")
    return format_decimal(value, format="0.000")

