"""Forms of the action pages: they carry input; the rules are in fivs.actions.services."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, UUID

from fivs.formfields import FlaskForm

PRIORITY_CHOICES = [SelectChoice("low", _l("Low")), SelectChoice("medium", _l("Medium")),
                    SelectChoice("high", _l("High"))]


class _ActionFields(FlaskForm):
    title = TextAreaField(_l("What to do"))
    responsible = StringField(_l("Responsible person at the site"))
    due_date = DateField(_l("Due date"), validators=[InputRequired(_l("Give a due date."))])
    priority = SelectField(_l("Priority"), choices=PRIORITY_CHOICES, default="medium")


class ActionForm(_ActionFields):
    # Made when the form is rendered: a double submit raises the action once.
    client_uuid = HiddenField(validators=[DataRequired(), UUID(_l("Reload the page and try again."))])

    def ensure_uuid(self) -> None:
        if not self.client_uuid.data:
            self.client_uuid.data = str(uuid.uuid4())


class EditActionForm(_ActionFields):
    row_version = IntegerField(validators=[InputRequired(_l("The form has no version number; reload the page."))])


class DoneForm(FlaskForm):
    note = TextAreaField(_l("What was done"))
    # Read from request.files by the view; the field gives the label and carries the errors.
    photos = MultipleFileField(_l("Photos after the work (optional)"), id="done-photos")  # "photos": the section


class ReopenActionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for reopening"))


class VerifyForm(FlaskForm):
    pass
