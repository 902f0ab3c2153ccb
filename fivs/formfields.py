"""Shared form pieces whose messages follow the reader's language (WTForms' own are English only)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired, Length

from fivs.text import clean_text


def clean(value):
    """A filter: the value as stored (NFC, no control characters, spaces collapsed), so a name of
    control characters only is empty."""
    return clean_text(value, multiline=False) if isinstance(value, str) else value


def required() -> DataRequired:
    return DataRequired(_l("This field is required."))


def at_most(n: int) -> Length:
    return Length(max=n, message=_l("At most %(n)d characters.", n=n))
