"""The programme report (reviewers and admins): page one "Results in brief" (sentences written from the
figures) with the charts, coverage, the sites missing a round in one table, statistics for all / schools /
clinics, rankings, a small radar per site, corrective actions, then one page per site with both rounds (its
scores and acknowledgement, the most improved and weakest items with notes and photo pairs) and the appendix
on methods and data quality. The site pages and the appendix come from fivs.reports.sections, as in the DOCX."""
from __future__ import annotations

from collections.abc import Collection

from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from reportlab.platypus import PageBreak, Spacer

from fivs import labels, scoring
from fivs.actions.queries import Counts, counts_by_site
from fivs.agreement.services import load_programme_agreement
from fivs.audits.models import PHASES
from fivs.comparisons.queries import KINDS, excluded_audits
from fivs.comparisons.services import Programme, load_programme, load_site_comparison
from fivs.extensions import db
from fivs.reports import pdf
from fivs.reports.programme_charts import chart_section
from fivs.reports.sections import Block, Grid, Heading, Photos, Text, appendix_blocks, site_blocks
from fivs.reports.site_report import kind_label, photo_pairs, photo_section, round_acknowledgements, site_summary
from fivs.reports.summary import missing_round_names, summary_sentences
from fivs.sites.models import Site
from fivs.timeutil import to_local, utcnow

RADARS_PER_ROW = 4


def build_programme_report(lang: str, hidden: Collection[int] = ()) -> bytes:
    """The programme report's PDF bytes, without the audits the reader may not see yet (`hidden`)."""
    with force_locale(lang):
        programme = load_programme(hidden=hidden)
        st = pdf.styles()
        story = [pdf.para(_("5S programme report"), st["title"]),
                 pdf.para(_("%(count)d sites", count=len(programme.sites)), st["body"]),
                 pdf.para(_("Results in brief"), st["h2"]),
                 *(pdf.para(sentence, st["body"]) for sentence in summary_sentences(programme, lang)),
                 *chart_section(programme, st),
                 PageBreak(),
                 *coverage(programme, st), *missing_rounds(programme, st), *statistics(programme, lang, st),
                 *rankings(programme, lang, st), *small_multiples(programme, st),
                 *action_counts(programme, st)]
        acks = round_acknowledgements(programme.sites)
        for c in programme.sites:
            if c.missing:  # listed in the table of sites missing a round: no page of "—"
                continue
            site = db.session.get(Site, c.site.id)
            comparison = load_site_comparison(site, hidden)
            story += [PageBreak(), *site_summary(comparison, acks, lang, st, weak_items=False),
                      *blocks_story(site_blocks(comparison, photo_pairs(site, lang, hidden), lang), st)]
        story += [PageBreak(), *blocks_story(appendix_blocks(programme, excluded_audits(hidden=hidden),
                                                             load_programme_agreement(hidden=hidden), lang), st)]
        return pdf.render(story, title=_("5S programme report"), generated=to_local(utcnow()),
                          lang=lang)


def coverage(programme: Programme, st: dict) -> list:
    labels = {"missing": _("Missing"), "draft": _("In progress"), "submitted": _("Submitted")}
    phases = {"baseline": _("Baseline"), "periodic": _("Periodic"), "final": _("Final")}
    rows = [[_("Site"), _("District"), _("Kind"), *(phases[p] for p in PHASES)]]
    rows += [[f"{c.site.code} — {c.site.name}", c.site.former_district or "—", kind_label(c.site.kind),
              *(labels[programme.coverage[c.site.code][p]] for p in PHASES)] for c in programme.sites]
    return [pdf.para(_("Coverage"), st["h2"]),
            pdf.table(rows, [pdf.CONTENT_WIDTH - 330, 90, 60, 60, 60, 60], st["cell"])]


def missing_rounds(programme: Programme, st: dict) -> list:
    """The sites without both rounds, in one table saying what is missing (they get no page of their own)."""
    missing = [c for c in programme.sites if c.missing]
    if not missing:
        return []
    rows = [[_("Site"), _("District"), _("Missing")]]
    rows += [[f"{c.site.code} — {c.site.name}", c.site.former_district or "—", missing_round_names(c)] for c in missing]
    return [pdf.para(_("Sites missing a round"), st["h2"]),
            pdf.table(rows, [pdf.CONTENT_WIDTH - 250, 110, 140], st["cell"]),
            pdf.para(_("These sites are left out of the statistics and have no page of their own."), st["small"])]


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else format_decimal(value, format="0." + "0" * digits)


def _p_value(value: float | None) -> str:
    if value is None:
        return "—"
    return "< " + _number(0.001, 3) if value < 0.001 else _number(value, 3)


def statistics(programme: Programme, lang: str, st: dict) -> list:
    titles = {"all": _("All sites"), "school": _("Schools"), "clinic": _("Clinics")}
    story = [pdf.para(_("Programme statistics"), st["h2"])]
    header = [_("Score"), "n", _("Baseline mean"), _("Final mean"), _("Mean change"), _("95% CI"),
              _("Up / same / down"), "dz", "p", "r"]
    for kind in KINDS:
        result = programme.result(kind)
        stats = [(_("Overall"), result.stats.overall)]
        stats += [(labels.s_label(s), result.stats.by_s[s]) for s in scoring.S_KEYS]
        rows = [header] + [[label, str(m.n), pdf.pct(m.baseline_mean, lang), pdf.pct(m.final_mean, lang),
                            pdf.signed(m.mean_change, lang),
                            "—" if m.ci95 is None else
                            f"{pdf.signed(m.ci95[0], lang)} … {pdf.signed(m.ci95[1], lang)}",
                            f"{m.improved} / {m.unchanged} / {m.declined}", _number(m.cohens_dz),
                            *((_p_value(m.wilcoxon_p), _number(m.rank_biserial)) if m.wilcoxon_informative
                              else ("—", "—"))] for label, m in stats]
        story.append(pdf.para(f"{titles[kind]} ({len(result.sites_included)})", st["h3"]))
        if not any(m.n for _label, m in stats):
            story.append(pdf.para(labels.no_statistics_note(), st["small"]))
            continue
        story.append(pdf.table(rows, [70, 22, 50, 50, 50, 75, 58, 36, 40, 36], st["cell"], align_right_from=1))
        if not all(m.wilcoxon_informative for _label, m in stats):
            story.append(pdf.para(labels.wilcoxon_note(), st["small"]))
    return story


def rankings(programme: Programme, lang: str, st: dict) -> list:
    story = []
    for title, ranked in ((_("Ranking by final score"), programme.ranking_by_final()),
                          (_("Ranking by change"), programme.ranking_by_change())):
        rows = [["#", _("Site"), _("Kind"), _("Final"), _("Change (points)")]]
        rows += [[str(i), f"{c.site.code} — {c.site.name}", kind_label(c.site.kind),
                  pdf.pct(c.final.scores.overall, lang),
                  pdf.signed(c.change.overall if c.change else None, lang)]
                 for i, c in enumerate(ranked, start=1)]
        story += [pdf.para(title, st["h2"]),
                  pdf.table(rows, [24, pdf.CONTENT_WIDTH - 244, 80, 60, 80], st["cell"],
                            align_right_from=3)]
    return story


PAIR_PHOTO_HEIGHT = 165  # points: a site's page holds its tables and a few pairs


def blocks_story(blocks: list[Block], st: dict) -> list:
    """fivs.reports.sections' blocks as flowables (the DOCX writes the same blocks)."""
    story = []
    for i, block in enumerate(blocks):
        if isinstance(block, Heading):
            if i + 1 < len(blocks) and isinstance(blocks[i + 1], Photos):
                continue  # drawn with the first pair, so it never ends a page alone
            story.append(_heading(block, st))
        elif isinstance(block, Text):
            story.append(pdf.para(block.text, st["small" if block.small else "body"]))
        elif isinstance(block, Grid):
            story += [pdf.table(block.rows, [w * pdf.CONTENT_WIDTH for w in block.widths], st["cell"],
                                align_right_from=block.right_from), Spacer(1, 4)]
        elif isinstance(block, Photos):
            title = _heading(blocks[i - 1], st) if i and isinstance(blocks[i - 1], Heading) else None
            story += photo_section(block.pairs, st, max_height=PAIR_PHOTO_HEIGHT, heading=title)
    return story


def _heading(block: Heading, st: dict):
    return pdf.para(block.text, st["h2" if block.level == 1 else "h3"])


def action_counts(programme: Programme, st: dict) -> list:
    """Corrective actions per site (fivs.actions.queries.counts_by_site: one query)."""
    counts = counts_by_site()
    rows = [[_("Site"), _("Open"), _("Overdue"), _("Done"), _("Verified")]]
    for c in programme.sites:
        n = counts.get(c.site.id, Counts())
        rows.append([f"{c.site.code} — {c.site.name}",
                     *(str(v) for v in (n.open, n.overdue, n.done, n.verified))])
    return [pdf.para(_("Corrective actions per site"), st["h2"]),
            pdf.table(rows, [pdf.CONTENT_WIDTH - 240, 60, 60, 60, 60], st["cell"], align_right_from=1),
            pdf.para(_("Open includes reopened actions; overdue actions are open ones past their due date "
                       "(Vietnam time) and are also counted as open."), st["small"])]


def small_multiples(programme: Programme, st: dict) -> list:
    size = pdf.CONTENT_WIDTH / RADARS_PER_ROW - 6
    cells = [pdf.radar(pdf.round_series(c.baseline, c.final), size, with_labels=False,
                       title=c.site.code) for c in programme.sites]
    if not cells:
        return []
    rows = [cells[i:i + RADARS_PER_ROW] for i in range(0, len(cells), RADARS_PER_ROW)]
    rows[-1] += [""] * (RADARS_PER_ROW - len(rows[-1]))
    grid = pdf.layout(rows, [size + 6] * RADARS_PER_ROW)
    return [pdf.para(_("Every site, baseline and final (axes in S order: %(order)s)",
                       order=", ".join(labels.s_label(s) for s in scoring.S_KEYS)), st["h2"]),
            pdf.legend(pdf.round_styles(), 200), Spacer(1, 4), grid]
