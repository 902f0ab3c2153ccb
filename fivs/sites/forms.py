from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional, Regexp

from fivs.formfields import ChoiceField, FlaskForm, at_most, clean, required

KIND_CHOICES = [SelectChoice("school", _l("Primary school")), SelectChoice("clinic", _l("Clinic"))]


class SiteForm(FlaskForm):
    code = StringField(_l("Code"), filters=[clean], validators=[
        required(), at_most(32), Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name = StringField(_l("Name"), filters=[clean], validators=[required(), at_most(200)])
    kind = ChoiceField(_l("Kind"), choices=KIND_CHOICES)
    province = StringField(_l("Province (now)"), validators=[Optional(), at_most(120)])
    commune = StringField(_l("Commune (now)"), validators=[Optional(), at_most(120)])
    former_province = StringField(_l("Former province (before 2025)"), validators=[Optional(), at_most(120)])
    former_district = StringField(_l("Former district (before 2025, as recorded)"),
                                  validators=[Optional(), at_most(120)])
    address = StringField(_l("Address"), validators=[Optional(), at_most(300)])
    head_name = StringField(_l("Head (principal / clinic head)"), validators=[Optional(), at_most(200)])
    active = BooleanField(_l("Active"), default=True)


class SiteFilterForm(FlaskForm):
    """The site list's filters, from the query string (GET: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Code or name contains"), filters=[clean], validators=[Optional(), at_most(200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice("", "—"), *KIND_CHOICES], default="")
    province = SelectField(_l("Province (now)"), choices=[], default="")
    commune = StringField(_l("Commune (now)"), filters=[clean], validators=[Optional(), at_most(120)])
