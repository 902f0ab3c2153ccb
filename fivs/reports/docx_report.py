"""The programme and site reports as editable Word documents (python-docx), for the office to paste into
its closing report ("báo cáo tổng kết"): the same summary sentences and figures as the PDFs, in real Word
tables under Word's own heading styles, the PDF's charts as PNG (fivs.reports.raster), and, in the programme
report, the page of each site with both rounds and the appendix on methods and data quality, written from the
same blocks as the PDF (fivs.reports.sections). Every figure comes from fivs.comparisons, formatted as the PDFs
print it.
"""
from __future__ import annotations

import io
from collections.abc import Collection

from docx import Document
from docx.shared import Cm, Pt
from flask_babel import force_locale
from flask_babel import gettext as _

from fivs import labels, scoring
from fivs.agreement.services import load_programme_agreement
from fivs.comparisons.queries import excluded_audits
from fivs.comparisons.services import Programme, SiteComparison, load_programme, load_site_comparison
from fivs.extensions import db
from fivs.reports import pdf
from fivs.reports.programme_charts import dumbbell, s_bars, s_change
from fivs.reports.raster import drawing_png
from fivs.reports.sections import (
    Block,
    Grid,
    Heading,
    Photos,
    PhotoPair,
    Text,
    appendix_blocks,
    rounds_rows,
    site_blocks,
)
from fivs.reports.site_report import kind_label, photo_pairs, report_title, round_acknowledgements
from fivs.reports.summary import missing_round_names, summary_sentences
from fivs.sites.models import Site
from fivs.timeutil import to_local, utcnow

TABLE_STYLE = "Table Grid"
CHART_WIDTH = Cm(16)
HALF_CHART_WIDTH = Cm(8)
RADAR_WIDTH = Cm(6)
LEGEND_WIDTH = Cm(4)
PHOTO_WIDTH = Cm(7.5)  # the print derivative (800 px) at ~270 dpi


def build_programme_docx(lang: str, hidden: Collection[int] = ()) -> bytes:
    """The programme report as a Word file, without the audits the reader may not see yet (`hidden`)."""
    with force_locale(lang):
        programme = load_programme(hidden=hidden)
        doc = _document(_("5S programme report"))
        doc.add_heading(_("Results in brief"), level=1)
        for sentence in summary_sentences(programme, lang):
            doc.add_paragraph(sentence)
        _charts(doc, programme)
        stats = programme.result("all").stats
        if stats.overall.n:
            doc.add_heading(_("Programme statistics"), level=1)
            rows = [(_("Overall"), stats.overall)] + [(labels.s_label(s), stats.by_s[s]) for s in scoring.S_KEYS]
            _table(doc, [_("Score"), "n", _("Baseline mean"), _("Final mean"), _("Mean change"), _("95% CI"),
                         _("Up / same / down")],
                   [[label, str(m.n), pdf.pct(m.baseline_mean, lang), pdf.pct(m.final_mean, lang),
                     pdf.signed(m.mean_change, lang),
                     "—" if m.ci95 is None else f"{pdf.signed(m.ci95[0], lang)} … {pdf.signed(m.ci95[1], lang)}",
                     f"{m.improved} / {m.unchanged} / {m.declined}"] for label, m in rows])
        doc.add_heading(_("Sites"), level=1)
        _table(doc, [_("Site"), _("District"), _("Baseline"), _("Final"), _("Change (points)")],
               [[f"{c.site.code} — {c.site.name}", c.site.former_district or "—",
                 pdf.pct(c.baseline.scores.overall if c.baseline else None, lang),
                 pdf.pct(c.final.scores.overall if c.final else None, lang),
                 pdf.signed(c.change.overall if c.change else None, lang)] for c in programme.sites])
        _missing(doc, programme)
        acks = round_acknowledgements(programme.sites)
        for c in programme.sites:
            if c.missing:  # in the table of sites missing a round, as in the PDF
                continue
            site = db.session.get(Site, c.site.id)
            comparison = load_site_comparison(site, hidden)
            doc.add_page_break()
            doc.add_heading(f"{c.site.code} — {c.site.name}", level=1)
            _site_scores(doc, comparison, acks, lang, level=2)
            _blocks(doc, site_blocks(comparison, photo_pairs(site, lang, hidden), lang))
        doc.add_page_break()
        _blocks(doc, appendix_blocks(programme, excluded_audits(hidden=hidden), load_programme_agreement(hidden=hidden),
                                     lang))
        return _bytes(doc)


def build_site_docx(site, lang: str, hidden: Collection[int] = ()) -> bytes:
    """The site report as a Word file, without the audits the reader may not see yet (`hidden`)."""
    with force_locale(lang):
        c = load_site_comparison(site, hidden)
        doc = _document(report_title(c.site))
        _site_scores(doc, c, round_acknowledgements([c]), lang, level=1)
        if c.baseline and c.final:  # as on the programme report's site pages: items, notes and photo pairs
            _blocks(doc, site_blocks(c, photo_pairs(site, lang, hidden), lang))
        elif c.weakest:
            doc.add_heading(_("What to fix next"), level=1)
            _table(doc, [_("Item"), "%"], [[f"{w.item.code}: {w.item.text(lang)}", pdf.pct(w.pct, lang)]
                                          for w in c.weakest])
        _method(doc)
        return _bytes(doc)


def _site_scores(doc, c: SiteComparison, acks: dict, lang: str, *, level: int) -> None:
    """A site's district, scores (a heading of `level`), rounds with the site's acknowledgement, and the
    PDF's radar with its legend."""
    doc.add_paragraph(_("District: %(district)s · %(kind)s · code %(code)s", district=c.site.former_district or "—",
                        kind=kind_label(c.site.kind), code=c.site.code))
    doc.add_heading(_("Scores"), level=level)
    _table(doc, [_("Score"), _("Baseline"), _("Final"), _("Change (points)"), _("Band")],
           [_site_row(c, label, s, lang) for label, s in
            [(_("Overall"), None), *((labels.s_label(s), s) for s in scoring.S_KEYS)]])
    rows = rounds_rows(c, acks)
    _table(doc, rows[0], rows[1:])
    series = pdf.round_series(c.baseline, c.final)
    if series:
        doc.add_picture(io.BytesIO(drawing_png(pdf.radar(series, 180))), width=RADAR_WIDTH)
        doc.add_picture(io.BytesIO(drawing_png(pdf.legend(series, 120))), width=LEGEND_WIDTH)


def _site_row(c: SiteComparison, label: str, s: str | None, lang: str) -> list[str]:
    def score(r):
        return None if r is None else (r.scores.overall if s is None else r.scores.by_s[s])

    change = None if c.change is None else (c.change.overall if s is None else c.change.by_s[s])
    final = score(c.final)
    return [label, pdf.pct(score(c.baseline), lang), pdf.pct(final, lang), pdf.signed(change, lang),
            pdf.band_text(final if final is not None else score(c.baseline))]


# ---------------------------------------------------------------- pieces
def _document(title: str):
    doc = Document()
    doc.core_properties.title = title
    doc.core_properties.author = "fivs"
    doc.add_heading(title, level=0)
    doc.add_paragraph(_("Generated %(time)s (Vietnam time)", time=to_local(utcnow()).strftime("%d/%m/%Y %H:%M")))
    return doc


def _table(doc, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = TABLE_STYLE
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row):
            cell.text = text


def _missing(doc, programme: Programme) -> None:
    missing = [c for c in programme.sites if c.missing]
    if missing:
        doc.add_heading(_("Sites missing a round"), level=1)
        _table(doc, [_("Site"), _("District"), _("Missing")],
               [[f"{c.site.code} — {c.site.name}", c.site.former_district or "—", missing_round_names(c)] for c in missing])


def _method(doc) -> None:
    doc.add_heading(_("Method"), level=1)
    for block in labels.method_note():
        doc.add_paragraph(block)


def _bytes(doc) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- charts, blocks, photos
def _charts(doc, programme: Programme) -> None:
    """The PDF's three charts (fivs.reports.programme_charts) as PNG, under the same titles."""
    line = dumbbell(programme)
    if line is None:
        return
    doc.add_paragraph(_("Overall score of every site, baseline (orange) to final (blue), by change"))
    doc.add_picture(io.BytesIO(drawing_png(line)), width=CHART_WIDTH)
    for title, drawing in ((_("Mean score by S, baseline and final"), s_bars(programme)),
                           (_("Mean change by S (points), with the 95% CI"), s_change(programme))):
        doc.add_paragraph(title)
        doc.add_picture(io.BytesIO(drawing_png(drawing)), width=HALF_CHART_WIDTH)


def _blocks(doc, blocks: list[Block]) -> None:
    """fivs.reports.sections' blocks as Word headings (below the site's Heading 1), paragraphs, tables and
    photo pairs (the PDF lays out the same blocks)."""
    for block in blocks:
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Text):
            paragraph = doc.add_paragraph(block.text)
            if block.small:
                for run in paragraph.runs:
                    run.font.size = Pt(8)
        elif isinstance(block, Grid):
            _table(doc, block.rows[0], block.rows[1:])
        elif isinstance(block, Photos):
            for pair in block.pairs:
                _photo_pair(doc, pair)


def _photo_pair(doc, pair: PhotoPair) -> None:
    """The item's caption, then its baseline and final print derivatives side by side."""
    doc.add_paragraph(pair.caption)
    table = doc.add_table(rows=2, cols=2)
    for cell, text in zip(table.rows[0].cells, (_("Before (baseline)"), _("After (final)"))):
        cell.text = text
    for cell, (jpeg, (w, h)) in zip(table.rows[1].cells, ((pair.before, pair.before_size),
                                                          (pair.after, pair.after_size))):
        run = cell.paragraphs[0].add_run()
        if h > w:  # portrait: as tall as a landscape photo is wide at most
            run.add_picture(io.BytesIO(jpeg), height=PHOTO_WIDTH)
        else:
            run.add_picture(io.BytesIO(jpeg), width=PHOTO_WIDTH)
