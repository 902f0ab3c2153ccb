"""Corrective actions: raise from a finding, mark done (site), verify or reopen (consultant/reviewer).

Every change is in the event log (old -> new). Edits and transitions bump row_version atomically;
a stale row_version is a 409. "Today" is the sites' local date (fivs.timeutil.local_today).
"""
from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Sequence
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select, update

from fivs.actions.models import OPEN_STATUSES, PRIORITIES, CorrectiveAction
from fivs.audits.models import Audit
from fivs.audits.services import normalise_room
from fivs.auth import policy
from fivs.dates import date_problem
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.labels import action_status_label
from fivs.photos.services import attach_action_photo
from fivs.services_errors import ConflictError, PermissionDenied, ValidationError
from fivs.text import clean_text
from fivs.timeutil import local_today, utcnow

TITLE_MAX, RESPONSIBLE_MAX, NOTE_MAX = 2000, 200, 4000
EDITABLE_FIELDS = ("title", "responsible", "due_date", "priority")


# ---------------------------------------------------------------- state
def is_overdue(action: CorrectiveAction, now: datetime | None = None) -> bool:
    """Open (or reopened) and due before today at the sites; `now` (UTC) for tests."""
    today = local_today(now)
    return action.status in OPEN_STATUSES and action.due_date is not None and action.due_date < today


# ---------------------------------------------------------------- raise and edit
def raise_action(user, site, *, title, responsible, due_date, priority, audit: Audit | None = None,
                 item_code: str | None = None, room: str | None = None,
                 action_uuid: uuid_mod.UUID | None = None) -> tuple[CorrectiveAction, bool]:
    """Create an action (idempotent on action_uuid): (action, created)."""
    if not policy.can_raise_action(user, site.id):
        raise PermissionDenied(_("You may not raise an action at this site."))
    if action_uuid is not None:
        existing = db.session.scalar(select(CorrectiveAction).where(CorrectiveAction.uuid == action_uuid))
        if existing is not None:
            if existing.site_id != site.id or existing.title != clean_text(title):
                raise ConflictError(_("This id is taken by another action."), code="id_taken")
            return existing, False
    values = _valid_fields({"title": title, "responsible": responsible, "due_date": due_date,
                            "priority": priority}, required=("title", "due_date", "priority"))
    item, room = _finding(site, audit, item_code, room)
    action = CorrectiveAction(uuid=action_uuid or uuid_mod.uuid4(), site_id=site.id,
                              audit_id=audit.id if audit else None, item_id=item.id if item else None,
                              room=room, status="open", row_version=1,
                              created_by_id=user.id, **values)
    db.session.add(action)
    db.session.flush()
    _log("action.create", user, action, None, _state(action))
    return action, True


def _finding(site, audit, item_code, room):
    """The answer an action comes from: an item of the audit (and its room), or nothing."""
    if audit is None:
        if item_code:
            raise _invalid("item", _("An item needs the audit it was scored in."))
        return None, ""
    if audit.site_id != site.id:
        raise _invalid("audit", _("This audit is not of this site."))
    if not item_code:
        return None, ""
    item = next((i for z in audit.template.zones for i in z.items if i.code == item_code), None)
    if item is None:
        raise _invalid("item", _("No such item in this audit's checklist."))
    room = normalise_room(room)
    if not any(r.zone_id == item.zone_id and r.name == room for r in audit.rooms):
        raise _invalid("zone_instance", _("No such room for this item in the audit."))
    return item, room


def edit_action(action: CorrectiveAction, user, changes: dict, *, row_version: int | None) -> CorrectiveAction:
    """Change title, responsible, due date or priority (who may raise here may edit)."""
    if not policy.can_raise_action(user, action.site_id):
        raise PermissionDenied(_("You may not change this action."))
    values = _valid_fields(changes, required=())
    changed = {k: v for k, v in values.items() if getattr(action, k) != v}
    if not changed:
        return action
    old = {k: _json(getattr(action, k)) for k in changed}
    _bump(action, row_version)
    for name, value in changed.items():
        setattr(action, name, value)
    _log("action.edit", user, action, old, {k: _json(v) for k, v in changed.items()})
    return action


def _valid_fields(data: dict, *, required) -> dict:
    problems, values = [], {}
    for name in EDITABLE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name in ("title", "responsible"):
            value = clean_text(value, multiline=name == "title")
            limit = TITLE_MAX if name == "title" else RESPONSIBLE_MAX
            if len(value) > limit:
                problems.append({"field": name, "message": _("At most %(n)d characters.", n=limit)})
        elif name == "priority" and value not in PRIORITIES:
            problems.append({"field": name, "message": _("Must be one of: %(choices)s.",
                                                         choices=", ".join(PRIORITIES))})
        elif name == "due_date" and value is not None and not isinstance(value, date):
            problems.append({"field": name, "message": _("Must be a date written YYYY-MM-DD.")})
        elif name == "due_date" and (problem := date_problem(value)) is not None:
            problems.append({"field": name, "message": problem})
        if name in required and not value:
            problems.append({"field": name, "message": _("This field is required.")})
        values[name] = value
    if problems:
        raise ValidationError(_("Some fields are not valid; nothing was changed."), details=problems)
    return values


# ---------------------------------------------------------------- the workflow
def mark_done(action: CorrectiveAction, user, note: str, *, photos: Sequence[bytes] = (),
              row_version: int | None = None, now: datetime | None = None) -> CorrectiveAction:
    """Done, with what was done and optional "after" photos (the uploaded bytes of each).

    The photos go through fivs.photos like any other; one it refuses raises its error (4xx), and
    the caller's rollback then undoes the status change too: done with all the photos, or nothing.
    """
    if not policy.can_mark_action_done(user, action):
        raise PermissionDenied(_("Only the site, its consultant or an admin can mark this action done."))
    note = _required_text("note", note, _("Say what was done."))
    _transition(action, user, "done", OPEN_STATUSES, row_version, note=note)
    action.done_note, action.done_at, action.done_by_id = note, now or utcnow(), user.id
    if photos:
        for data in photos:
            attach_action_photo(action, user, data, photo_uuid=uuid_mod.uuid4())
    return action


def verify(action: CorrectiveAction, user, *, row_version: int | None = None,
           now: datetime | None = None) -> CorrectiveAction:
    if not policy.can_verify_action(user, action):
        raise PermissionDenied(_("Only the site's consultant, a reviewer or an admin can verify an action."))
    _transition(action, user, "verified", ("done",), row_version)
    action.verified_at, action.verified_by_id = now or utcnow(), user.id
    return action


def reopen(action: CorrectiveAction, user, reason: str, *, row_version: int | None = None) -> CorrectiveAction:
    if not policy.can_verify_action(user, action):
        raise PermissionDenied(_("Only the site's consultant, a reviewer or an admin can reopen an action."))
    reason = _required_text("reason", reason, _("Give a reason for reopening."))
    _transition(action, user, "reopened", ("done", "verified"), row_version, note=reason)
    action.verified_at = action.verified_by_id = None
    return action


def _transition(action, user, status: str, allowed_from, row_version, *, note: str = "") -> None:
    if action.status not in allowed_from:
        raise ConflictError(_("This action is %(status)s; it cannot change that way now.",
                              status=action_status_label(action.status)), code="invalid_transition",
                            details={"status": action.status})
    old = action.status
    _bump(action, row_version)
    action.status = status
    _log("action.status", user, action, {"status": old}, {"status": status}, detail=note)


def _required_text(field: str, value, message: str) -> str:
    value = clean_text(value)
    if not value:
        raise _invalid(field, message)
    if len(value) > NOTE_MAX:
        raise _invalid(field, _("At most %(n)d characters.", n=NOTE_MAX))
    return value


def _bump(action: CorrectiveAction, expected: int | None) -> None:
    """Atomic compare-and-increment: a stale `expected` raises ConflictError (409)."""
    stmt = update(CorrectiveAction).where(CorrectiveAction.id == action.id)
    if expected is not None:
        stmt = stmt.where(CorrectiveAction.row_version == expected)
    result = db.session.execute(stmt.values(row_version=CorrectiveAction.row_version + 1)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(action)
        raise ConflictError(
            _("Someone else changed this action in the meantime (version %(current)d, yours %(yours)d). "
              "Reload and try again.", current=action.row_version, yours=expected),
            code="stale_row_version", details={"row_version": action.row_version})
    db.session.refresh(action, ["row_version"])


# ---------------------------------------------------------------- events and labels
def _log(name: str, user, action, old, new, detail: str = "") -> None:
    log_event(name, user=user, site_id=action.site_id, target=action.event_target, old=old, new=new, detail=detail)


def _state(action: CorrectiveAction) -> dict:
    return {"title": action.title, "responsible": action.responsible, "due_date": _json(action.due_date),
            "priority": action.priority, "status": action.status}


def _json(value):
    return value.isoformat() if isinstance(value, date) else value


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError(message, details=[{"field": field, "message": message}])


