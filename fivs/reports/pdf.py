"""What the PDF reports share: the A4 document with its header and footer ("page n of m", drawn
in a second pass), paragraph and table styles, text cleaning, figure formatting and the radar
chart (the geometry of fivs.reports.charts, drawn with reportlab.graphics).

Build a report under flask_babel.force_locale(lang): its texts and the names of fivs.labels
(S, bands, method note) come from gettext, and the builders take the same `lang` for figures.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from xml.sax.saxutils import escape

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from reportlab import rl_config
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from fivs import labels, scoring
from fivs.reports import charts
from fivs.reports.fonts import BOLD, register_fonts
from fivs.text import nfc

MARGIN = 16 * mm
PAGE_WIDTH, PAGE_HEIGHT = A4
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
INK = colors.HexColor(charts.INK)
MUTED = colors.HexColor(charts.MUTED)
GRID = colors.HexColor(charts.GRID)
HEADER_FILL = colors.HexColor("#e8edf2")


# ---------------------------------------------------------------- text and figures
def styles() -> dict[str, ParagraphStyle]:
    font = register_fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12.5, textColor=INK,
                          spaceAfter=3)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0),
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=17, leading=21,
                                spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=body, fontName=BOLD, fontSize=12.5, leading=16,
                             spaceBefore=8, spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=body, fontName=BOLD, fontSize=10.5, leading=13,
                             spaceBefore=4, spaceAfter=2),
    }


def para(text: str | None, style: ParagraphStyle) -> Paragraph:
    """Plain text (NFC, escaped for Paragraph markup)."""
    return Paragraph(escape(nfc(text or "")), style)


def lines(texts: Sequence[str], style: ParagraphStyle) -> Paragraph:
    """Several plain texts, one per line."""
    return Paragraph("<br/>".join(escape(nfc(t)) for t in texts) or "—", style)


def pct(value: float | None, lang: str) -> str:
    return scoring.format_pct(value, lang)


def signed(value: float | None, lang: str) -> str:
    """A change in percentage points: '+12,5' / '−3,0' / '—' (no sign when it shows as zero)."""
    if value is None:
        return "—"
    number = scoring.format_pct(abs(value), lang).rstrip(" %")
    if set(number) <= set("0.,"):
        return number
    return ("+" if value > 0 else "−") + number


def points(value: float | None) -> str:
    """A signed difference in points of the 0-4 scale: '+0,35' / '−1,20' / '0,00' / '—'."""
    if value is None:
        return "—"
    number = format_decimal(abs(value), format="0.00")
    if set(number) <= set("0.,"):
        return number
    return ("+" if value > 0 else "−") + number


def fraction(value: float | None, lang: str) -> str:
    """A share (0..1) as a percentage."""
    return "—" if value is None else scoring.format_pct(100 * value, lang)


def kappa(agreement) -> str:
    """Kappa with its interval, or why there is none (fivs.stats.Agreement)."""
    if agreement.kappa_quadratic is None:
        return labels.kappa_missing_label(agreement.kappa_missing) or "—"
    text = format_decimal(agreement.kappa_quadratic, format="0.00")
    if agreement.kappa_ci:
        low, high = (format_decimal(v, format="0.00") for v in agreement.kappa_ci)
        text += f" ({low} … {high})"
    return text


def band_text(value: float | None) -> str:
    return labels.band_label(value) or "—"


def day(value) -> str:
    return format_date(value, "dd/MM/yyyy") if value else "—"


def method_note(style: ParagraphStyle) -> list[Paragraph]:
    return [para(block, style) for block in labels.method_note()]


def table(rows: Sequence[Sequence], col_widths: Sequence[float], cell: ParagraphStyle, *,
          header_rows: int = 1, align_right_from: int | None = None) -> Table:
    """A grid table; strings become Paragraphs (wrapped, escaped, NFC), the first rows bold."""
    bold = ParagraphStyle("cell-bold", parent=cell, fontName=BOLD)
    data = [[para(v, bold if r < header_rows else cell) if isinstance(v, str) else v for v in row]
            for r, row in enumerate(rows)]
    commands = [("FONTNAME", (0, 0), (-1, -1), register_fonts()),
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEADER_FILL)]
    if align_right_from is not None:
        commands.append(("ALIGN", (align_right_from, 0), (-1, -1), "RIGHT"))
    t = Table(data, colWidths=col_widths, repeatRows=header_rows)
    t.setStyle(TableStyle(commands))
    return t


def layout(rows: Sequence[Sequence], col_widths: Sequence[float]) -> Table:
    """A borderless table that places flowables side by side."""
    t = Table(rows, colWidths=col_widths)
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), register_fonts()),
                           ("VALIGN", (0, 0), (-1, -1), "TOP"),
                           ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return t


# ---------------------------------------------------------------- radar
def radar(series: Sequence[charts.Series], size: float, *, with_labels: bool = True,
          title: str | None = None) -> Drawing:
    """Rings, axes and one polygon per series (values 0..100), with the S labels around it."""
    font = register_fonts()
    pad = size * (0.2 if with_labels else 0.04)
    top = 12 if title else 0
    d = Drawing(size, size + top, initialFontName=font)
    cx = cy = size / 2
    radius = size / 2 - pad

    def flipped(points):  # charts' screen coordinates (y down) -> PDF (y up)
        return [(x, size - y) for x, y in points]

    for ring in (20, 40, 60, 80, 100):
        ring_points = flipped(charts.radar_points([ring] * 5, cx, cy, radius))
        d.add(Polygon(_flat(ring_points), fillColor=None, strokeColor=GRID, strokeWidth=0.5))
    for x, y in flipped(charts.radar_points([100] * 5, cx, cy, radius)):
        d.add(Line(cx, size - cy, x, y, strokeColor=GRID, strokeWidth=0.5))
    if with_labels:
        for (x, y), s in zip(flipped(charts.radar_points([100] * 5, cx, cy, radius * 1.15)),
                             scoring.S_KEYS):
            anchor = "middle" if abs(x - cx) < 2 else ("start" if x > cx else "end")
            d.add(String(x, y - 3, labels.s_label(s), fontName=font, fontSize=7.5, fillColor=INK,
                         textAnchor=anchor))
    for s in series:
        points = [p for p in charts.radar_points(s.values, cx, cy, radius) if p is not None]
        colour = colors.HexColor(s.colour)
        if len(points) >= 3:
            d.add(Polygon(_flat([(x, size - y) for x, y in points]),
                          fillColor=colors.Color(colour.red, colour.green, colour.blue, alpha=0.15),
                          strokeColor=colour, strokeWidth=1.5,
                          strokeDashArray=[4, 3] if s.dash else None))
        for x, y in points:
            d.add(Circle(x, size - y, 1.8, fillColor=colour, strokeColor=None))
    if title:
        d.add(String(size / 2, size + 2, nfc(title), fontName=font, fontSize=7.5, fillColor=INK,
                     textAnchor="middle"))
    return d


def _flat(points) -> list[float]:
    return [v for point in points for v in point]


def legend(series: Sequence[charts.Series], width: float) -> Drawing:
    font = register_fonts()
    d = Drawing(width, 14 * len(series), initialFontName=font)
    for i, s in enumerate(series):
        y = 14 * (len(series) - i) - 8
        colour = colors.HexColor(s.colour)
        d.add(Line(0, y, 24, y, strokeColor=colour, strokeWidth=2,
                   strokeDashArray=[4, 3] if s.dash else None))
        d.add(String(30, y - 3, nfc(s.label), fontName=font, fontSize=8.5, fillColor=INK))
    return d


def round_styles() -> list[charts.Series]:
    """Baseline and final as they are drawn (label, colour, dash), without values."""
    return [charts.Series(_("Baseline"), (), charts.BASELINE_COLOUR, "4 3"),
            charts.Series(_("Final"), (), charts.FINAL_COLOUR, None)]


def round_series(baseline, final) -> list[charts.Series]:
    """Radar series of the rounds that exist (a comparisons.Round or None each)."""
    return [replace(style, values=[r.scores.by_s[s] for s in scoring.S_KEYS])
            for style, r in zip(round_styles(), (baseline, final)) if r is not None]


# ---------------------------------------------------------------- document
def page_label(page: int, pages: int) -> str:
    return _("Page %(page)d of %(pages)d", page=page, pages=pages)


def numbered_canvas(title: str, generated: datetime):
    """A canvas class that keeps every page until the end, then draws each page's header and
    footer knowing the page count (two passes over the pages, one over the content)."""
    header = nfc(title)
    stamp = _("Generated %(time)s (Vietnam time)", time=generated.strftime("%d/%m/%Y %H:%M"))

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            font = register_fonts()
            self.saveState()
            self.setFillColor(MUTED)
            self.setStrokeColor(GRID)
            self.setFont(font, 8)
            top = PAGE_HEIGHT - MARGIN + 6 * mm
            self.drawString(MARGIN, top, header)
            self.drawRightString(PAGE_WIDTH - MARGIN, top, stamp)
            self.line(MARGIN, top - 2 * mm, PAGE_WIDTH - MARGIN, top - 2 * mm)
            self.drawCentredString(PAGE_WIDTH / 2, MARGIN - 8 * mm, page_label(number, total))
            self.restoreState()

    return NumberedCanvas


def render(story: list, *, title: str, generated: datetime, lang: str) -> bytes:
    """Lay out `story` on A4 and return the PDF's bytes."""
    rl_config.useA85 = 0  # ReportLab's pure-Python ASCII85 would dominate image pages
    register_fonts()
    out = _Output()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=nfc(title),
                            author="fivs", lang=lang,
                            initialFontName=register_fonts())  # else pages start in Helvetica
    doc.build(story, canvasmaker=numbered_canvas(title, generated))
    return b"".join(out.chunks)


class _Output:
    """Keeps what ReportLab writes (one bytes object) without BytesIO's copies: a report with
    many photos is hundreds of megabytes."""

    name = "report.pdf"

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(data)
        return len(data)
