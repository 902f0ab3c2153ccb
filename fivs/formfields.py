"""Shared form pieces whose messages follow the reader's language (WTForms' own are English only)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import DataRequired, Length, ValidationError

from fivs.text import clean_text


def clean(value):
    """A filter: the value as stored (NFC, no control characters, spaces collapsed), so a name of
    control characters only is empty."""
    return clean_text(value, multiline=False) if isinstance(value, str) else value


def required() -> DataRequired:
    return DataRequired(_l("This field is required."))


def at_most(n: int) -> Length:
    return Length(max=n, message=_l("At most %(n)d characters.", n=n))


def _one_of(_value, allowed: list[str]) -> str:
    return _("Must be one of: %(choices)s.", choices=", ".join(allowed))


class ChoiceField(SelectField):
    """A select that refuses a value outside its choices in the reader's language (WTForms' own
    "Not a valid choice." is English only). `refusal(value, allowed)` words the message; by
    default it lists the allowed values."""

    def __init__(self, *args, refusal=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusal = refusal or _one_of

    def pre_validate(self, form):
        allowed = [choice.value for choice in self.choices]
        if self.data not in allowed:
            raise ValidationError(self.refusal(self.data, allowed))


class ChoicesField(SelectMultipleField):
    """ChoiceField for several values: the first one outside the choices is refused."""

    def __init__(self, *args, refusal=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusal = refusal or _one_of

    def pre_validate(self, form):
        allowed = [choice.value for choice in self.choices]
        for value in self.data or []:
            if value not in allowed:
                raise ValidationError(self.refusal(value, allowed))
