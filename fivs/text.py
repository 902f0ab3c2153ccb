"""Text hygiene shared by forms, API and loaders: NFC, no control characters (C0, DEL and C1)."""
from __future__ import annotations

import re
import unicodedata

# C0 (but tab and newlines), DEL and C1 (U+0080-U+009F: never text, often mis-decoded Windows-1252 bytes).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def nfc(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value) if value is not None else None


def clean_text(value: str | None, *, multiline: bool = True) -> str:
    """NFC-normalise, strip, drop control characters (keeping newlines and tabs in notes)."""
    if value is None:
        return ""
    value = _CONTROL.sub("", nfc(value))
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        value = " ".join(value.split())
    return value.strip()


def has_control_chars(value: str) -> bool:
    return bool(_CONTROL.search(value))


# Old-style ("Hòa") and new-style ("Hoà") tone placement on oa, oe, uy: fold to one form.
_TONE_SHIFT = re.compile("([ou])([\u0300\u0301\u0303\u0309\u0323])([aey])")


def fold(value: str) -> str:
    """Tolerant comparison key: 'Hòa', 'Hoà' and 'HOÀ' fold alike; spacing is collapsed."""
    decomposed = unicodedata.normalize("NFD", " ".join(value.split()).casefold())
    return unicodedata.normalize("NFC", _TONE_SHIFT.sub(r"\1\3\2", decomposed))
