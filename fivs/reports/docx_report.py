"""The programme and site reports as editable Word documents (python-docx), for the office to paste into
its closing report ("báo cáo tổng kết"): the same summary sentences and figures as the PDFs, in real Word
tables under Word's own heading styles, with the per-S chart as a PNG (drawn with Pillow in the reports'
Vietnamese font). Every figure comes from fivs.comparisons, formatted as the PDFs print it.
"""
from __future__ import annotations

import io

import fontpkg
from docx import Document
from docx.shared import Cm
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from fivs import labels, scoring
from fivs.comparisons.services import Programme, SiteComparison, load_programme, load_site_comparison
from fivs.reports import charts, pdf
from fivs.reports.fonts import PACKAGE_FAMILY
from fivs.reports.site_report import kind_label, report_title
from fivs.reports.summary import missing_round_names, summary_sentences
from fivs.timeutil import to_local, utcnow

TABLE_STYLE = "Table Grid"
CHART_WIDTH = Cm(15)
CHART_SIZE = (1200, 600)  # pixels: 15 cm wide at ~200 dpi


def build_programme_docx(lang: str) -> bytes:
    with force_locale(lang):
        programme = load_programme()
        doc = _document(_("5S programme report"))
        doc.add_heading(_("Results in brief"), level=1)
        for sentence in summary_sentences(programme, lang):
            doc.add_paragraph(sentence)
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
            doc.add_picture(io.BytesIO(s_chart({s: stats.by_s[s].baseline_mean for s in scoring.S_KEYS},
                                               {s: stats.by_s[s].final_mean for s in scoring.S_KEYS})),
                            width=CHART_WIDTH)
        doc.add_heading(_("Sites"), level=1)
        _table(doc, [_("Site"), _("District"), _("Baseline"), _("Final"), _("Change (points)")],
               [[f"{c.site.code} — {c.site.name}", c.site.former_district or "—",
                 pdf.pct(c.baseline.scores.overall if c.baseline else None, lang),
                 pdf.pct(c.final.scores.overall if c.final else None, lang),
                 pdf.signed(c.change.overall if c.change else None, lang)] for c in programme.sites])
        _missing(doc, programme)
        _method(doc)
        return _bytes(doc)


def build_site_docx(site, lang: str) -> bytes:
    with force_locale(lang):
        c = load_site_comparison(site)
        doc = _document(report_title(c.site))
        doc.add_paragraph(_("District: %(district)s · %(kind)s · code %(code)s", district=c.site.former_district or "—",
                            kind=kind_label(c.site.kind), code=c.site.code))
        doc.add_heading(_("Scores"), level=1)
        _table(doc, [_("Score"), _("Baseline"), _("Final"), _("Change (points)"), _("Band")],
               [_site_row(c, label, s, lang) for label, s in
                [(_("Overall"), None), *((labels.s_label(s), s) for s in scoring.S_KEYS)]])
        if c.baseline or c.final:
            doc.add_picture(io.BytesIO(s_chart(c.baseline.scores.by_s if c.baseline else {},
                                               c.final.scores.by_s if c.final else {})), width=CHART_WIDTH)
        if c.weakest:
            doc.add_heading(_("What to fix next"), level=1)
            _table(doc, [_("Item"), "%"], [[f"{w.item.code}: {w.item.text(lang)}", pdf.pct(w.pct, lang)]
                                          for w in c.weakest])
        _method(doc)
        return _bytes(doc)


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


# ---------------------------------------------------------------- chart
def s_chart(baseline: dict[str, float | None], final: dict[str, float | None]) -> bytes:
    """Per-S baseline and final bars (0-100 %) as a PNG, labelled in the current language."""
    width, height = CHART_SIZE
    image = Image.new("RGB", CHART_SIZE, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(fontpkg.path(PACKAGE_FAMILY, 400)), 24)
    left, right, top, bottom = 80, 30, 60, 90
    plot_h = height - top - bottom
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        draw.line([(left, y), (width - right, y)], fill=charts.GRID, width=1)
        draw.text((left - 10, y), f"{pct}", fill=charts.MUTED, font=font, anchor="rm")
    slot = (width - left - right) / len(scoring.S_KEYS)
    colours = [charts.BASELINE_COLOUR, charts.FINAL_COLOUR]
    for i, s in enumerate(scoring.S_KEYS):
        x = left + i * slot
        for j, value in enumerate((baseline.get(s), final.get(s))):
            if value is None:
                continue
            x0 = x + slot * (0.15 + 0.35 * j)
            draw.rectangle([(x0, top + plot_h * (1 - value / 100)), (x0 + slot * 0.33, top + plot_h)],
                           fill=colours[j])
        draw.text((x + slot / 2, height - bottom + 12), labels.s_label(s), fill=charts.INK, font=font, anchor="ma")
    for j, name in enumerate((_("Baseline"), _("Final"))):
        x = left + j * 220
        draw.rectangle([(x, 18), (x + 24, 42)], fill=colours[j])
        draw.text((x + 32, 30), name, fill=charts.INK, font=font, anchor="lm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
