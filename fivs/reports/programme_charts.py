"""The programme report's charts (ReportLab vector drawings): every site's overall score from baseline to
final as a dumbbell, sorted by change; the per-S baseline and final means as bars; the per-S mean change
with its 95 % interval (already cut at ±100 points by fivs.comparisons, and drawn within ±100 here too).
"""
from __future__ import annotations

from flask_babel import gettext as _
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.lib import colors

from fivs import labels, scoring
from fivs.comparisons.services import Programme
from fivs.reports import charts, pdf
from fivs.reports.fonts import register_fonts
from fivs.text import nfc

BASELINE = colors.HexColor(charts.BASELINE_COLOUR)
FINAL = colors.HexColor(charts.FINAL_COLOUR)
NEGATIVE = colors.HexColor(charts.NEGATIVE_COLOUR)
ROW = 14
LABEL_W = 150
MAX_HEIGHT = 560  # points: the chart fits on page one's remainder whatever the number of sites (rows get thinner)
MIN_LABELLED_ROW = 6  # rows thinner than this go without their site code (120 sites: the codes would overlap)


def dumbbell(programme: Programme, width: float = pdf.CONTENT_WIDTH) -> Drawing | None:
    """One row per site with both rounds: a dot at the baseline and at the final overall %, joined."""
    rows = [c for c in programme.ranking_by_change() if c.baseline and c.baseline.scores.overall is not None]
    if not rows:
        return None
    font = register_fonts()
    row = min(ROW, (MAX_HEIGHT - 30) / len(rows))
    height = row * len(rows) + 30
    radius = min(3.0, row / 2.5)
    d = Drawing(width, height)
    x0, x1 = LABEL_W, width - 10

    def x(pct):
        return x0 + (x1 - x0) * pct / 100

    for pct in (0, 25, 50, 75, 100):
        d.add(Line(x(pct), 18, x(pct), height - 4, strokeColor=pdf.GRID, strokeWidth=0.4))
        d.add(String(x(pct), 6, f"{pct}", fontName=font, fontSize=7, fillColor=pdf.MUTED, textAnchor="middle"))
    for i, c in enumerate(rows):
        y = height - 10 - i * row
        b, f = c.baseline.scores.overall, c.final.scores.overall
        # the code: the pilot's names all begin "Trường Tiểu học thí điểm huyện", so a cut name says nothing
        if row >= MIN_LABELLED_ROW:
            d.add(String(x0 - 6, y - 3, nfc(c.site.code), fontName=font, fontSize=7, fillColor=pdf.INK,
                         textAnchor="end"))
        d.add(Line(x(b), y, x(f), y, strokeColor=FINAL if f >= b else NEGATIVE, strokeWidth=1.5))
        d.add(Circle(x(b), y, radius, fillColor=BASELINE, strokeColor=BASELINE))
        d.add(Circle(x(f), y, radius, fillColor=FINAL, strokeColor=FINAL))
    return d


def s_bars(programme: Programme, width: float = pdf.CONTENT_WIDTH / 2 - 6, height: float = 150) -> Drawing:
    """Per-S baseline and final means (0-100 %)."""
    stats = programme.result("all").stats
    font = register_fonts()
    d = Drawing(width, height)
    left, bottom, top = 22, 22, 8
    plot_h = height - bottom - top
    slot = (width - left) / len(scoring.S_KEYS)
    for pct in (0, 50, 100):
        y = bottom + plot_h * pct / 100
        d.add(Line(left, y, width, y, strokeColor=pdf.GRID, strokeWidth=0.4))
        d.add(String(left - 3, y - 2.5, f"{pct}", fontName=font, fontSize=6.5, fillColor=pdf.MUTED, textAnchor="end"))
    for i, s in enumerate(scoring.S_KEYS):
        m = stats.by_s[s]
        for j, (value, colour) in enumerate(((m.baseline_mean, BASELINE), (m.final_mean, FINAL))):
            if value is not None:
                d.add(Rect(left + i * slot + slot * (0.12 + 0.38 * j), bottom, slot * 0.36, plot_h * value / 100,
                           fillColor=colour, strokeColor=None))
        d.add(String(left + (i + 0.5) * slot, 8, labels.s_label(s), fontName=font, fontSize=6.5, fillColor=pdf.INK,
                     textAnchor="middle"))
    return d


def s_change(programme: Programme, width: float = pdf.CONTENT_WIDTH / 2 - 6, height: float = 150) -> Drawing:
    """Per-S mean change (points) with its 95 % interval, on a -100…+100 axis."""
    stats = programme.result("all").stats
    font = register_fonts()
    d = Drawing(width, height)
    left, bottom, top = 26, 22, 8
    plot_h = height - bottom - top

    def y(points):
        return bottom + plot_h * (max(-100.0, min(100.0, points)) + 100) / 200

    for points in (-100, 0, 100):
        d.add(Line(left, y(points), width, y(points), strokeColor=pdf.INK if points == 0 else pdf.GRID,
                   strokeWidth=0.6 if points == 0 else 0.4))
        d.add(String(left - 3, y(points) - 2.5, f"{points:+d}" if points else "0", fontName=font, fontSize=6.5,
                     fillColor=pdf.MUTED, textAnchor="end"))
    slot = (width - left) / len(scoring.S_KEYS)
    for i, s in enumerate(scoring.S_KEYS):
        m = stats.by_s[s]
        cx = left + (i + 0.5) * slot
        if m.mean_change is not None:
            top_y, base_y = sorted((y(m.mean_change), y(0)))
            d.add(Rect(cx - slot * 0.2, top_y, slot * 0.4, base_y - top_y,
                       fillColor=FINAL if m.mean_change >= 0 else NEGATIVE, strokeColor=None))
        if m.ci95 is not None:
            low, high = y(m.ci95[0]), y(m.ci95[1])
            d.add(Line(cx, low, cx, high, strokeColor=pdf.INK, strokeWidth=0.8))
            for end in (low, high):
                d.add(Line(cx - 4, end, cx + 4, end, strokeColor=pdf.INK, strokeWidth=0.8))
        d.add(String(cx, 8, labels.s_label(s), fontName=font, fontSize=6.5, fillColor=pdf.INK, textAnchor="middle"))
    return d


def chart_section(programme: Programme, st: dict) -> list:
    """The three charts with their titles (nothing when no site has both rounds)."""
    line = dumbbell(programme)
    if line is None:
        return []
    return [pdf.para(_("Overall score of every site, baseline (orange) to final (blue), by change"), st["h3"]),
            line,
            pdf.layout([[pdf.para(_("Mean score by S, baseline and final"), st["h3"]),
                         pdf.para(_("Mean change by S (points), with the 95% CI"), st["h3"])],
                        [s_bars(programme), s_change(programme)]],
                       [pdf.CONTENT_WIDTH / 2, pdf.CONTENT_WIDTH / 2])]
