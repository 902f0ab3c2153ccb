from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional, Regexp, ValidationError

from fivs.formfields import at_most, clean, required

KIND_CHOICES = [SelectChoice("school", _l("Primary school")), SelectChoice("clinic", _l("Clinic"))]


class KindField(SelectField):
    def pre_validate(self, form):
        kinds = [choice.value for choice in KIND_CHOICES]
        if self.data not in kinds:  # WTForms' "Not a valid choice." is in English only
            raise ValidationError(_("Must be one of: %(choices)s.", choices=", ".join(kinds)))


class SiteForm(FlaskForm):
    code = StringField(_l("Code"), filters=[clean], validators=[
        required(), at_most(32), Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name = StringField(_l("Name"), filters=[clean], validators=[required(), at_most(200)])
    kind = KindField(_l("Kind"), choices=KIND_CHOICES)
    district = StringField(_l("District (as recorded)"), validators=[Optional(), at_most(120)])
    commune = StringField(_l("Commune"), validators=[Optional(), at_most(120)])
    province = StringField(_l("Province"), validators=[Optional(), at_most(120)])
    address = StringField(_l("Address"), validators=[Optional(), at_most(300)])
    head_name = StringField(_l("Head (principal / clinic head)"), validators=[Optional(), at_most(200)])
    active = BooleanField(_l("Active"), default=True)
