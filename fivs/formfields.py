"""Shared form pieces whose messages follow the reader's language (WTForms' own are English only).

Every form of the app derives from `FlaskForm` here: Flask-WTF's, with WTForms' built-in messages
("Not a valid date value." ...) translated by the app's own catalogue, since WTForms ships no
Vietnamese. WTFORMS_MESSAGES lists those messages so that extraction puts them in the catalogue
(tests/test_i18n.py checks the list against WTForms' own).
"""
from __future__ import annotations

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm as _FlaskForm
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import DataRequired, Length, ValidationError

from fivs.i18n import N_, N_plural
from fivs.text import clean_text


class _CatalogueTranslations:
    """WTForms' gettext/ngettext through the app's catalogue, in the request's language."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


_TRANSLATIONS = _CatalogueTranslations()


class FlaskForm(_FlaskForm):
    """Flask-WTF's form, WTForms' own messages in the reader's language."""

    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS


# WTForms' built-in messages (its locale/wtforms.pot), for extraction into the app's catalogue.
WTFORMS_MESSAGES = (
    N_("Invalid field name '%s'."),
    N_("Field must be equal to %(other_name)s."),
    N_plural("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long."),
    N_plural("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters."),
    N_plural("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Date must be at least %(min)s."),
    N_("Date must be at most %(max)s."),
    N_("Date must be between %(min)s and %(max)s."),
    N_("This field is required."),
    N_("Invalid input."),
    N_("Invalid email address."),
    N_("Invalid IP address."),
    N_("Invalid Mac address."),
    N_("Invalid URL."),
    N_("Invalid UUID."),
    N_("Invalid value, must be one of: %(values)s."),
    N_("Invalid value, can't be any of: %(values)s."),
    N_("This field cannot be edited."),
    N_("This field is disabled and cannot have a value."),
    N_("Invalid CSRF Token."),
    N_("CSRF token missing."),
    N_("CSRF failed."),
    N_("CSRF token expired."),
    N_("Invalid Choice: could not coerce."),
    N_("Choices cannot be None."),
    N_("Not a valid choice."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
    N_plural("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field."),
    N_("Not a valid datetime value."),
    N_("Not a valid date value."),
    N_("Not a valid time value."),
    N_("Not a valid week value."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
)


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
