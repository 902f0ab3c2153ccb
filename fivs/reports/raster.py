"""The reports' ReportLab charts as PNG (Pillow), so the Word report carries the very drawings of the PDF.

ReportLab's own bitmap renderer needs a C extension or Cairo, which the project does not install; the charts
(fivs.reports.programme_charts, the radar of fivs.reports.pdf) use only lines, circles, rectangles, polygons
and strings, which Pillow draws directly, in the PDF's font (Be Vietnam Pro, so Vietnamese stays intact).
"""
from __future__ import annotations

import io
from functools import lru_cache

import fontpkg
from PIL import Image, ImageDraw, ImageFont
from reportlab.graphics.shapes import Circle, Drawing, Group, Line, Polygon, Rect, String

from fivs.reports.fonts import BOLD, PACKAGE_FAMILY

SCALE = 3  # pixels per point: a 16 cm chart is ~1500 px wide, ~230 dpi in Word
PAD = 14  # points around the drawing: labels may reach past its bounds (the PDF draws them in the margin)


@lru_cache(maxsize=16)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fontpkg.path(PACKAGE_FAMILY, 700 if name == BOLD else 400)), size)


def _rgba(colour) -> tuple[int, int, int, int] | None:
    if colour is None:
        return None
    alpha = getattr(colour, "alpha", 1)
    return (round(colour.red * 255), round(colour.green * 255), round(colour.blue * 255), round(alpha * 255))


def _dashed(draw, points: list[tuple[float, float]], dash: list[float], fill, width: int) -> None:
    """A polyline drawn in dashes (on, off, ... in pixels)."""
    pattern = [max(1.0, d) for d in dash]
    i, left, on = 0, pattern[0], True
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        done = 0.0
        while done < length:
            step = min(left, length - done)
            if on:
                a, b = done / length, (done + step) / length
                draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                          fill=fill, width=width)
            done += step
            left -= step
            if left <= 0:
                i = (i + 1) % len(pattern)
                left, on = pattern[i], not on


def _outline(draw, points, shape, scale: float, closed: bool) -> None:
    colour = _rgba(shape.strokeColor)
    if colour is None:
        return
    width = max(1, round((shape.strokeWidth or 1) * scale))
    path = [*points, points[0]] if closed else points
    if shape.strokeDashArray:
        _dashed(draw, path, [d * scale for d in shape.strokeDashArray], colour, width)
    else:
        draw.line(path, fill=colour, width=width, joint="curve")


def drawing_png(drawing: Drawing, scale: float = SCALE) -> bytes:
    """The drawing on a white background as PNG bytes (y up, as ReportLab draws)."""
    width, height = round((drawing.width + 2 * PAD) * scale), round((drawing.height + 2 * PAD) * scale)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image, "RGBA")  # blends translucent fills over what is drawn already

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x + PAD) * scale, height - (y + PAD) * scale

    def paint(shapes) -> None:
        for shape in shapes:
            if isinstance(shape, Group):
                paint(shape.contents)
            elif isinstance(shape, Line):
                _outline(draw, [xy(shape.x1, shape.y1), xy(shape.x2, shape.y2)], shape, scale, closed=False)
            elif isinstance(shape, Circle):
                (cx, cy), r = xy(shape.cx, shape.cy), shape.r * scale
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_rgba(shape.fillColor),
                             outline=_rgba(shape.strokeColor))
            elif isinstance(shape, Rect):
                x0, y0 = xy(shape.x, shape.y + shape.height)
                x1, y1 = xy(shape.x + shape.width, shape.y)
                draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)],
                               fill=_rgba(shape.fillColor), outline=_rgba(shape.strokeColor))
            elif isinstance(shape, Polygon):
                points = [xy(shape.points[i], shape.points[i + 1]) for i in range(0, len(shape.points), 2)]
                if shape.fillColor is not None:
                    draw.polygon(points, fill=_rgba(shape.fillColor))
                _outline(draw, points, shape, scale, closed=True)
            elif isinstance(shape, String):
                anchor = {"start": "ls", "middle": "ms", "end": "rs"}.get(shape.textAnchor, "ls")
                draw.text(xy(shape.x, shape.y), shape.text, fill=_rgba(shape.fillColor),
                          font=_font(shape.fontName, round(shape.fontSize * scale)), anchor=anchor)

    paint(drawing.contents)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
