"""The admin's form for one window of the programme calendar (the rules are in fivs.calendar.services)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from fivs.audits.forms import PHASE_CHOICES
from fivs.calendar.services import YEARS
from fivs.formfields import ChoiceField, FlaskForm


class WindowForm(FlaskForm):
    phase = ChoiceField(_l("Round"), choices=PHASE_CHOICES)
    year = IntegerField(_l("Programme year"), validators=[
        InputRequired(_l("Give the programme year.")),
        NumberRange(YEARS[0], YEARS[1], _l("The programme year must be from %(min)s to %(max)s."))])
    opens = DateField(_l("Opens"), validators=[InputRequired(_l("Give the day the round opens."))])
    closes = DateField(_l("Closes"), validators=[InputRequired(_l("Give the day the round closes."))])
