"""/api/v1 for corrective actions: list and raise per site, read and change one action, add its
"after" photos (POST them, then PATCH the status to done: a refused photo changes nothing).

Authentication and errors are the API's own (fivs.api.auth, JSON error shape); another site's
action is a 404; a stale row_version is a 409 carrying the action as it is now.
"""
from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _

from fivs.actions import queries, services
from fivs.actions.models import PRIORITIES, CorrectiveAction
from fivs.api import schemas
from fivs.api.auth import api_user, authenticate, challenge
from fivs.api.conflicts import current_state_on_conflict
from fivs.api.representations import json_response, photo_dict
from fivs.audits.models import Audit
from fivs.audits.queries import hidden_audits
from fivs.auth.access import get_action_or_404, get_audit_or_404, get_site_or_404
from fivs.extensions import csrf, db
from fivs.photos import services as photos
from fivs.photos.queries import photos_of_actions
from fivs.timeutil import as_utc

actions_api_bp = Blueprint("actions_api", __name__, url_prefix="/api/v1")
csrf.exempt(actions_api_bp)  # bearer requests need no CSRF; cookie requests are checked in authenticate()
actions_api_bp.before_request(authenticate)
actions_api_bp.after_request(challenge)

TRANSITIONS = ("done", "verified", "reopened")


@actions_api_bp.get("/sites/<code>/actions")
def list_actions(code: str):
    site = get_site_or_404(code)
    actions = queries.site_actions(site.id, hidden=hidden_audits(api_user()))
    after = photos_of_actions([a.id for a in actions])
    return json_response({"actions": [action_dict(a, after.get(a.id, [])) for a in actions]})


@actions_api_bp.post("/sites/<code>/actions")
def create_action(code: str):
    """Idempotent on the client's id: 201 first, 200 for a replay."""
    site = get_site_or_404(code)
    fields = schemas.Fields(schemas.json_body())
    action_id = fields.uuid("id") if "id" in fields.data else None
    values = {"title": fields.text("title"), "responsible": fields.text("responsible", required=False) or "",
              "due_date": fields.date("due_date"),
              "priority": fields.choice("priority", PRIORITIES, required=False) or "medium"}
    audit_id, item = fields.text("audit", required=False), fields.text("item", required=False)
    room = fields.text("zone_instance", required=False)
    fields.check()
    audit = get_audit_or_404(audit_id) if audit_id else None
    action, created = services.raise_action(api_user(), site, audit=audit, item_code=item, room=room,
                                            action_uuid=action_id, **values)
    db.session.commit()
    return json_response(action_dict(action), 201 if created else 200,
                         {"Location": url_for(".get_action", action_id=action.uuid)})


@actions_api_bp.get("/actions/<action_id>")
def get_action(action_id: str):
    return json_response(action_dict(get_action_or_404(action_id)))


@actions_api_bp.patch("/actions/<action_id>")
def patch_action(action_id: str):
    """{"status": "done", "note"} / {"status": "verified"} / {"status": "reopened", "reason"},
    or edits of title, responsible, due_date, priority with row_version."""
    action = get_action_or_404(action_id)
    data = schemas.json_body()
    fields = schemas.Fields(data)
    status = fields.choice("status", TRANSITIONS, required=False)
    note, reason = fields.text("note", required=False), fields.text("reason", required=False)
    row_version = fields.integer("row_version", required=status is None)
    changes = _edits(fields, data)
    if status is None and not changes:
        fields.problem("status", _("Send a status change or a field to edit."))
    fields.check()
    user = api_user()
    with current_state_on_conflict(action, "action", action_dict):
        if changes:
            services.edit_action(action, user, changes, row_version=row_version)
            row_version = None  # checked by the edit
        if status == "done":
            services.mark_done(action, user, note or "", row_version=row_version)
        elif status == "verified":
            services.verify(action, user, row_version=row_version)
        elif status == "reopened":
            services.reopen(action, user, reason or "", row_version=row_version)
    db.session.commit()
    return json_response(action_dict(action))


@actions_api_bp.post("/actions/<action_id>/photos")
def upload_action_photo(action_id: str):
    """An "after" photo (multipart: id, file), idempotent on its id: 201 first, 200 for a replay."""
    action = get_action_or_404(action_id)
    upload = schemas.photo_upload()
    photo, created = photos.attach_action_photo(action, api_user(), upload.data, photo_uuid=upload.id)
    db.session.commit()
    return json_response(photo_dict(photo), 201 if created else 200,
                         {"Location": url_for("api.get_photo", photo_id=photo.uuid)})


def _edits(fields, data: dict) -> dict:
    readers = {"title": fields.text, "responsible": fields.text, "due_date": fields.date,
               "priority": lambda name: fields.choice(name, PRIORITIES)}
    return {name: read(name) for name, read in readers.items() if data.get(name) is not None}


def _time(value) -> str | None:
    return as_utc(value).isoformat() if value else None


def action_dict(action: CorrectiveAction, after_photos: list | None = None) -> dict:
    """The action as JSON; `after_photos` when loaded already (a list of actions), else one query."""
    if after_photos is None:
        after_photos = photos_of_actions([action.id]).get(action.id, [])
    return {"id": str(action.uuid), "site": action.site.code,
            "audit": str(db.session.get(Audit, action.audit_id).uuid) if action.audit_id else None,
            "item": action.item.code if action.item else None, "zone_instance": action.room or None,
            "title": action.title, "responsible": action.responsible,
            "due_date": action.due_date.isoformat() if action.due_date else None,
            "priority": action.priority, "status": action.status, "overdue": services.is_overdue(action),
            "done_note": action.done_note or "", "row_version": action.row_version,
            "created_by": action.created_by.username if action.created_by else None,
            "created_at": _time(action.created_at), "done_at": _time(action.done_at),
            "verified_at": _time(action.verified_at),
            "photos": [photo_dict(p) for p in after_photos]}

