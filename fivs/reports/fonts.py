"""The PDF reports' font: Be Vietnam Pro (PyPI fontpkg-be-vietnam-pro), which covers Vietnamese.

ReportLab's built-in fonts cannot draw Vietnamese. The TTF files come from the installed
package (found through its fontpkg API), are registered once as a regular + bold family, and
ReportLab embeds only the glyphs a document uses (a subset).
"""
from __future__ import annotations

import threading

import fontpkg
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

PACKAGE_FAMILY = "Be Vietnam Pro"
REGULAR = "BeVietnamPro"
BOLD = "BeVietnamPro-Bold"

_lock = threading.Lock()


def register_fonts() -> str:
    """Register the family (idempotent) and return the regular font's name."""
    with _lock:
        if REGULAR not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(REGULAR, str(fontpkg.path(PACKAGE_FAMILY, 400))))
            pdfmetrics.registerFont(TTFont(BOLD, str(fontpkg.path(PACKAGE_FAMILY, 700))))
            pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR,
                                          boldItalic=BOLD)
    return REGULAR
