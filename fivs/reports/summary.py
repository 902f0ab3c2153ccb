"""The programme's results in a few plain sentences ("Tóm tắt kết quả"), written from the figures of
the programme comparison (the same as /api/v1/programme/comparison), for page one of the report.

Call under flask_babel.force_locale(lang). Every number is formatted as the report prints figures
(fivs.reports.pdf), so a reader finds the same figure in the tables further on.
"""
from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

from fivs import labels, scoring
from fivs.comparisons.services import Programme, SiteComparison
from fivs.reports import pdf
from fivs.stats import WILCOXON_MIN_N

SIGNIFICANCE = 0.05
# Per-S figures closer than this (percentage points, largest minus smallest) are "alike": naming one S the
# strongest and another the weakest would read a rounding difference as a finding.
ALIKE_POINTS = 1.0


def p_text(p: float) -> str:
    """'p = 0,002' / 'p < 0,001' in the report's language."""
    if p < 0.001:
        return "p < " + format_decimal(0.001, format="0.000")
    return "p = " + format_decimal(p, format="0.000")


def missing_round_names(c: SiteComparison) -> str:
    names = {"baseline": _("Baseline"), "final": _("Final")}
    return ", ".join(names[m] for m in c.missing)


def summary_sentences(programme: Programme, lang: str) -> list[str]:
    """4 to 6 sentences: completion, improvement, mean change overall and per S, strongest and weakest S,
    and the paired test stated plainly (or why there is none)."""
    total = len(programme.sites)
    complete = [c for c in programme.sites if not c.missing]
    missing = [c for c in programme.sites if c.missing]
    first = _("%(done)d of %(total)d sites completed both rounds (baseline and final).", done=len(complete),
              total=total)
    if missing:
        named = [_("%(site)s (missing: %(rounds)s)", site=c.site.name, rounds=missing_round_names(c))
                 for c in missing]
        first += " " + _("Not yet complete: %(sites)s.", sites="; ".join(named))
    sentences = [first]
    stats = programme.result("all").stats
    overall = stats.overall
    if overall.n == 0:
        sentences.append(labels.no_statistics_note())
        return sentences
    sentences.append(_("Of the %(n)d sites with both rounds, %(up)d improved their overall score, %(same)d stayed "
                       "the same and %(down)d declined.", n=overall.n, up=overall.improved, same=overall.unchanged,
                       down=overall.declined))
    per_s = ", ".join(f"{labels.s_label(s)} {pdf.signed(stats.by_s[s].mean_change, lang)}" for s in scoring.S_KEYS)
    sentences.append(_("The mean overall score went from %(baseline)s to %(final)s: a mean change of %(change)s "
                       "percentage points (by S: %(per_s)s).", baseline=pdf.pct(overall.baseline_mean, lang),
                       final=pdf.pct(overall.final_mean, lang), change=pdf.signed(overall.mean_change, lang),
                       per_s=per_s))
    changes = [(stats.by_s[s].mean_change, s) for s in scoring.S_KEYS if stats.by_s[s].mean_change is not None]
    if changes:
        sentences.append(change_spread_sentence(changes, lang))
    finals = [(stats.by_s[s].final_mean, s) for s in scoring.S_KEYS if stats.by_s[s].final_mean is not None]
    if finals:
        (low, weak), (high, strong) = min(finals), max(finals)
        if high - low < ALIKE_POINTS:
            sentences.append(_("At the final audit the five S stand at about the same level (%(low)s to "
                               "%(high)s).", low=pdf.pct(low, lang), high=pdf.pct(high, lang)))
        else:
            sentences.append(_("At the final audit the strongest S is %(strong)s (%(high)s) and the weakest is "
                               "%(weak)s (%(low)s).", strong=labels.s_label(strong), high=pdf.pct(high, lang),
                               weak=labels.s_label(weak), low=pdf.pct(low, lang)))
    sentences.append(test_sentence(overall))
    return sentences


def change_spread_sentence(changes: list[tuple[float, str]], lang: str) -> str:
    """Which S moved most and least, or, when their mean changes lie within ALIKE_POINTS, that they moved
    alike (no S is named: the difference is negligible)."""
    (low, least), (high, most) = min(changes), max(changes)
    if high - low < ALIKE_POINTS:
        return _("The five S moved alike: their mean changes lie between %(low)s and %(high)s points.",
                 low=pdf.signed(low, lang), high=pdf.signed(high, lang))
    return _("%(most)s changed most (%(high)s points) and %(least)s least (%(low)s points).",
             most=labels.s_label(most), high=pdf.signed(high, lang), least=labels.s_label(least),
             low=pdf.signed(low, lang))


def test_sentence(m) -> str:
    """The Wilcoxon signed-rank test on the overall change in words, or why it is not given."""
    if not m.wilcoxon_informative:
        return _("With %(n)d sites whose overall score changed, too few for a statistical test (at least "
                 "%(min)d are needed), no p value is given.", n=m.improved + m.declined, min=WILCOXON_MIN_N)
    args = {"p": p_text(m.wilcoxon_p), "n": m.n}
    if m.wilcoxon_p >= SIGNIFICANCE:
        return _("The change is not statistically significant: %(p)s, Wilcoxon signed-rank test, %(n)d sites.",
                 **args)
    if (m.mean_change or 0) >= 0:
        return _("The increase is statistically significant: %(p)s, Wilcoxon signed-rank test, %(n)d sites.",
                 **args)
    return _("The decrease is statistically significant: %(p)s, Wilcoxon signed-rank test, %(n)d sites.", **args)
