from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

KIND_CHOICES = [("school", _l("Primary school")), ("clinic", _l("Clinic"))]


class SiteForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32),
                                                Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    district = StringField(_l("District (as recorded)"), validators=[Optional(), Length(max=120)])
    commune = StringField(_l("Commune"), validators=[Optional(), Length(max=120)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    head_name = StringField(_l("Head (principal / clinic head)"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Active"), default=True)
