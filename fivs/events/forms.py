from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from fivs.formfields import FlaskForm, clean


class EventFilterForm(FlaskForm):
    """Filters from the query string (GET: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], default="")
    user = StringField(_l("User (who, or whom it concerns)"), validators=[Optional(), Length(max=80)])
    site = StringField(_l("Site code"), filters=[clean], validators=[Optional(), Length(max=32)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
