from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, StringField
from wtforms.validators import Optional, Regexp

from fivs.formfields import ChoiceField, FlaskForm, at_most, clean, required

KIND_CHOICES = [SelectChoice("school", _l("Primary school")), SelectChoice("clinic", _l("Clinic"))]


class SiteForm(FlaskForm):
    code = StringField(_l("Code"), filters=[clean], validators=[
        required(), at_most(32), Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name = StringField(_l("Name"), filters=[clean], validators=[required(), at_most(200)])
    kind = ChoiceField(_l("Kind"), choices=KIND_CHOICES)
    district = StringField(_l("District (as recorded)"), validators=[Optional(), at_most(120)])
    commune = StringField(_l("Commune"), validators=[Optional(), at_most(120)])
    province = StringField(_l("Province"), validators=[Optional(), at_most(120)])
    address = StringField(_l("Address"), validators=[Optional(), at_most(300)])
    head_name = StringField(_l("Head (principal / clinic head)"), validators=[Optional(), at_most(200)])
    active = BooleanField(_l("Active"), default=True)
