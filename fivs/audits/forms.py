"""Capture forms: start an audit, rooms, a zone's answers, reopen, ask for a second rater.

The forms only carry and convert input; every rule (score range, N/A, note length, room names,
reasons) is checked once, by fivs.audits.services.
"""
from __future__ import annotations

import uuid

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import UUID, DataRequired, InputRequired

from fivs.formfields import ChoiceField, FlaskForm
from fivs.labels import PHASE_NAMES
from fivs.text import clean_text

PHASE_CHOICES = [SelectChoice(phase, name) for phase, name in PHASE_NAMES.items()]  # PHASES' order and keys


def _unknown_phase(phase, _allowed) -> str:
    return _("Unknown phase: %(phase)s", phase=phase)


class AuditDateField(DateField):
    """WTForms says "Not a valid date value." in English only."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Must be a date written YYYY-MM-DD.")) from None


class StartAuditForm(FlaskForm):
    site = SelectField(_l("Site"), choices=[])
    phase = ChoiceField(_l("Phase"), choices=PHASE_CHOICES, refusal=_unknown_phase)
    audit_date = AuditDateField(_l("Date"), validators=[InputRequired(_l("Give the date of the audit."))])
    # Made when the form is rendered: a double submit starts the same audit once.
    client_uuid = HiddenField(validators=[DataRequired(), UUID(_l("Reload the page and try again."))])

    def ensure_uuid(self) -> None:
        if not self.client_uuid.data:
            self.client_uuid.data = str(uuid.uuid4())


class RoomForm(FlaskForm):
    zone = HiddenField(validators=[DataRequired()])
    label = StringField(_l("Room name"))


class ZoneForm(FlaskForm):
    """The zone page's form; the answers themselves are read by `answer_entries`."""

    row_version = IntegerField(validators=[InputRequired(_l("The form has no version number; reload the page."))])


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Reason for reopening"))


class VoidForm(FlaskForm):
    """A reviewer voids an audit: the reason is required (checked by the service)."""
    reason = TextAreaField(_l("Reason for voiding"))


class CalibrationForm(FlaskForm):
    """A reviewer names the second rater of a consultant audit (choices: the site's other consultants)."""

    rater = ChoiceField(_l("Second rater"), validators=[InputRequired()], choices=[],
                        refusal=lambda _value, _allowed: _("Choose one of the consultants of this site."))

class AcknowledgeForm(FlaskForm):
    comment = TextAreaField(_l("Comment (optional; you may disagree)"))


def score_field(item) -> str:
    return f"score-{item.code}"


def note_field(item) -> str:
    return f"note-{item.code}"


def base_fields(item) -> tuple[str, str]:
    """The hidden fields holding an item's answer as the page showed it: (choice, note)."""
    return f"base-{item.code}", f"base-note-{item.code}"


def _score(choice: str):
    """'' and 'na' -> None; digits -> int; anything else is passed on for the service to reject."""
    if choice in ("", "na"):
        return None
    return int(choice) if choice.isascii() and choice.isdigit() else choice


def unknown_items(formdata, items) -> list[str]:
    """Codes posted as score-X / note-X that are not items of this zone (a stale or forged form)."""
    known = {name for item in items for name in (score_field(item), note_field(item))}
    return sorted({key.split("-", 1)[1] for key in formdata
                   if key.startswith(("score-", "note-")) and key not in known})


def any_choice(formdata, items) -> bool:
    """Whether the form holds a score (or N/A) for any of these items."""
    return any(formdata.get(score_field(item), "").strip() for item in items)


def answer_entries(formdata, items, room: str, answered: dict) -> list[dict]:
    """Service entries for a zone form: items with a new choice or a changed note.

    `answered` maps item id -> the earlier Answer in this room. A radio cannot be cleared, so an
    item posted without a choice keeps its earlier score (a partial post never wipes answers).
    With the page's bases (base_fields), an item left as the page showed it is not sent, and the
    others carry their base: a colleague's changes made meanwhile are kept or shown, never undone.
    """
    entries = []
    for item in items:
        choice = formdata.get(score_field(item), "").strip()
        note = formdata.get(note_field(item))
        base = _base(formdata, item)
        if base is not None and (choice or base[0]) == base[0] and (note is None or clean_text(note) == base[1]):
            continue  # untouched since the page was shown: a colleague's change meanwhile stays
        earlier = answered.get(item.id)
        if choice:
            score, na = _score(choice), choice == "na"
        elif earlier is not None:
            if note is None or clean_text(note) == (earlier.note or ""):
                continue  # nothing changed for this item (notes are compared as they are stored)
            score, na = earlier.score, bool(earlier.na)
        elif clean_text(note):  # a note of control characters only is no note
            score, na = None, False
        else:
            continue
        entry = {"item": item.code, "zone_instance": room or None, "score": score, "na": na, "note": note}
        if base is not None:
            entry["base"] = {"score": _score(base[0]), "na": base[0] == "na", "note": base[1]}
        entries.append(entry)
    return entries


def _base(formdata, item) -> tuple[str, str] | None:
    """(choice, note) as the page showed them, or None for a form without them (older pages)."""
    choice_name, note_name = base_fields(item)
    if choice_name not in formdata:
        return None
    return formdata.get(choice_name, "").strip(), clean_text(formdata.get(note_name, ""))
