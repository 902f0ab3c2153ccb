"""Forms of the checklist admin pages: they carry input; the rules are in fivs.checklists.services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from fivs.formfields import FlaskForm


class UploadForm(FlaskForm):
    file = FileField(_l("Revised checklist (XLSX workbook)"),
                     validators=[FileRequired(_l("Choose an XLSX file to upload."))])


class PublishForm(FlaskForm):
    # The version the admin read the differences against: publishing after another version
    # appeared is refused, so nobody publishes changes they have not seen.
    base_version = IntegerField(widget=HiddenInput(), validators=[
        InputRequired(_l("The form lacks the version it was read against: reload the page."))])
