"""The event log in words: each logged value field by field, the field named and its codes (status,
role, round, kind, priority) in the reader's language, dates as the reader writes them (dd/mm/yyyy
in Vietnamese). The admin reads what happened, not a JSON payload."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fivs import labels
from fivs.i18n import format_day
from fivs.sites.models import SITE_KINDS

FIELD_NAMES = {
    "score": _l("Score"), "na": _l("N/A"), "note": _l("Note"), "status": _l("Status"),
    "full_name": _l("Full name"), "role": _l("Role"), "site": _l("Site"), "active": _l("Active"),
    "assigned": _l("Assigned sites"), "phase": _l("Round"), "kind": _l("Kind"), "date": _l("Audit date"),
    "template": _l("Checklist"), "item": _l("Item"), "zone_instance": _l("Room"), "photo": _l("Photo"),
    "sha256": _l("Checksum (SHA-256)"), "title": _l("What to do"), "responsible": _l("Responsible person"),
    "due_date": _l("Due date"), "priority": _l("Priority"), "year": _l("Year"), "opens": _l("Opens"),
    "closes": _l("Closes"), "name": _l("Name"), "token_id": _l("Token"), "revoked": _l("Tokens revoked"),
    "province": _l("Province"), "commune": _l("Commune"), "former_province": _l("Former province"),
    "former_district": _l("Former district"), "address": _l("Address"), "head_name": _l("Head of the site"),
}
DATE_FIELDS = ("date", "due_date", "opens", "closes")
# An audit's events whose target names a part of it (the item and room, the zone); the others' target is the
# audit's or the photo's id, which the page replaces by a link to the audit's history.
SUBJECT_ACTIONS = ("answer.change", "audit.zone_add", "audit.zone_remove")
SHORT_HASH = 12  # characters of a checksum shown: enough to tell two photos apart


@dataclass(frozen=True)
class Change:
    field: str  # the field's name in words ("" for a plain value)
    old: str
    new: str


def changes(action: str, old, new) -> list[Change]:
    """Field by field for dict values (only the fields that differ); one line otherwise."""
    if isinstance(old, dict) or isinstance(new, dict):
        old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
        fields = list(old) + [k for k in new if k not in old]
        return [Change(field_name(k), value_words(action, k, old.get(k)), value_words(action, k, new.get(k)))
                for k in fields if old.get(k) != new.get(k)]
    if old is None and new is None:
        return []
    return [Change("", value_words(action, "", old), value_words(action, "", new))]


def field_name(field: str) -> str:
    name = FIELD_NAMES.get(field)
    return str(name) if name is not None else field


def value_words(action: str, field: str, value) -> str:
    """One logged value as people read it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_name(k)}: {value_words(action, k, v)}" for k, v in value.items())
    if field == "status":
        if value == "voided":
            return _("Voided")
        return labels.action_status_label(value) if action.startswith("action.") else labels.status_label(value)
    words = {"role": labels.role_label, "phase": labels.phase_label, "kind": _kind_words,
             "priority": labels.priority_label}.get(field)
    if words is not None:
        return words(str(value))
    if field in DATE_FIELDS:
        try:
            return format_day(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if field == "sha256":
        return str(value)[:SHORT_HASH] + "…"
    return str(value)


def _kind_words(kind: str) -> str:
    """A site's kind (school, clinic) or an audit's (consultant, self, calibration)."""
    return labels.site_kind_label(kind) if kind in SITE_KINDS else labels.kind_label(kind)
