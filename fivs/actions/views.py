"""Pages of corrective actions: raise (from an answer), a site's list, one action with its
done / verify / reopen forms and history. Every rule lives in fivs.actions.services."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from fivs import labels
from fivs.actions import queries, services
from fivs.actions.forms import ActionForm, DoneForm, EditActionForm, ReopenActionForm, VerifyForm
from fivs.actions.models import OPEN_STATUSES
from fivs.audits.models import Audit
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.auth.access import get_action_or_404, get_audit_or_404, site_scope_required
from fivs.extensions import db
from fivs.photos.queries import finding_photos, photos_of_actions
from fivs.photos.services import PhotoRefused
from fivs.services_errors import ConflictError, ValidationError

actions_bp = Blueprint("actions", __name__)


@actions_bp.app_context_processor
def _template_helpers():
    return {"action_status_label": labels.action_status_label, "action_priority_label": labels.priority_label,
            "action_overdue": services.is_overdue, "can_raise_action": _can_raise,
            "actions_on_items": _actions_on_items, "home_actions": _home_actions,
            "action_counts": queries.counts_by_site}


# ---------------------------------------------------------------- list and raise
@actions_bp.get("/sites/<code>/actions")
@site_scope_required
def index(site):
    return render_template("actions/index.html", site=site,
                           actions=queries.site_actions(site.id, hidden=hidden_audits(current_user)))


@actions_bp.route("/sites/<code>/actions/new", methods=["GET", "POST"])
@site_scope_required
def new(site):
    if not policy.can_raise_action(current_user, site.id):
        abort(403)
    audit = get_audit_or_404(request.args["audit"]) if request.args.get("audit") else None
    item_code, room = request.args.get("item"), request.args.get("zone_instance")
    form = ActionForm()
    if form.validate_on_submit():
        try:
            action, _created = services.raise_action(
                current_user, site, title=form.title.data, responsible=form.responsible.data,
                due_date=form.due_date.data, priority=form.priority.data, audit=audit, item_code=item_code,
                room=room, action_uuid=uuid.UUID(form.client_uuid.data))
        except ValidationError as exc:
            db.session.rollback()
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(_("Action raised."), "info")
            return redirect(url_for(".detail", action_uuid=action.uuid))
    form.ensure_uuid()
    item = _item(audit, item_code)
    return render_template("actions/new.html", site=site, form=form, audit=audit, item=item,
                           room=room), 422 if form.errors else 200


# ---------------------------------------------------------------- one action
@actions_bp.get("/actions/<action_uuid>")
@login_required
def detail(action_uuid):
    return _detail(get_action_or_404(action_uuid))


@actions_bp.route("/actions/<action_uuid>/edit", methods=["GET", "POST"])
@login_required
def edit(action_uuid):
    action = get_action_or_404(action_uuid)
    if not policy.can_raise_action(current_user, action.site_id):
        abort(403)
    form, message, status = EditActionForm(obj=action), None, 200
    if form.validate_on_submit():
        changes = {name: getattr(form, name).data for name in services.EDITABLE_FIELDS}
        try:
            services.edit_action(action, current_user, changes, row_version=form.row_version.data)
        except ValidationError as exc:
            db.session.rollback()
            _show_problems(form, exc)
        except ConflictError as exc:
            db.session.rollback()
            form.row_version.data, message, status = exc.details["row_version"], exc.message, 409
        else:
            db.session.commit()
            flash(_("Saved."), "info")
            return redirect(url_for(".detail", action_uuid=action.uuid))
    return render_template("actions/edit.html", action=action, form=form, message=message), (
        422 if form.errors else status)


@actions_bp.post("/actions/<action_uuid>/done")
@login_required
def done(action_uuid):
    """Done with a note and optional "after" photos: all of it, or (a photo refused) nothing."""
    action, form = get_action_or_404(action_uuid), DoneForm()
    photos = [f.read() for f in request.files.getlist("photos") if f.filename]  # none chosen: one empty part
    return _change(action, form,
                   lambda: services.mark_done(action, current_user, form.note.data, photos=photos),
                   _("Marked done."), form.note)


@actions_bp.post("/actions/<action_uuid>/verify")
@login_required
def verify(action_uuid):
    action, form = get_action_or_404(action_uuid), VerifyForm()
    return _change(action, form, lambda: services.verify(action, current_user), _("Verified."))


@actions_bp.post("/actions/<action_uuid>/reopen")
@login_required
def reopen(action_uuid):
    action, form = get_action_or_404(action_uuid), ReopenActionForm()
    return _change(action, form, lambda: services.reopen(action, current_user, form.reason.data),
                   _("Reopened."), form.reason)


def _change(action, form, change, message, field=None):
    if not form.validate_on_submit():
        abort(400)
    try:
        change()
    except (ValidationError, PhotoRefused) as exc:
        db.session.rollback()
        (form.photos if isinstance(exc, PhotoRefused) else field).errors = [exc.message]
        return _detail(action, exc.status, **{form.__class__.__name__: form})
    db.session.commit()
    flash(message, "info")
    return redirect(url_for(".detail", action_uuid=action.uuid))


def _detail(action, status: int = 200, **forms):
    return render_template(
        "actions/detail.html", action=action, events=queries.action_events(action),
        done_form=forms.get("DoneForm") or DoneForm(), verify_form=VerifyForm(),
        reopen_form=forms.get("ReopenActionForm") or ReopenActionForm(),
        can_mark_done=policy.can_mark_action_done(current_user, action),
        can_verify=policy.can_verify_action(current_user, action),
        after_photos=photos_of_actions([action.id]).get(action.id, []),
        before_photos=finding_photos(action)), status


# ---------------------------------------------------------------- helpers
def _item(audit: Audit | None, code: str | None):
    return next((i for z in audit.template.zones for i in z.items if i.code == code), None) if audit else None


def _show_problems(form, exc: ValidationError) -> None:
    for problem in exc.details or [{"field": "title", "message": exc.message}]:
        field = getattr(form, problem["field"], None) or form.title
        field.errors = [*field.errors, problem["message"]]


def _can_raise(site) -> bool:
    return current_user.is_authenticated and policy.can_raise_action(current_user, site.id)


def _actions_on_items(audit) -> dict:
    """For the zone page of a final audit, loaded once per request."""
    if audit.phase != "final":
        return {}
    if "actions_on_items" not in g:
        g.actions_on_items = queries.actions_since_baseline(audit)
    return g.actions_on_items


def _home_actions() -> list:
    if not current_user.is_authenticated or not policy.is_site_head(current_user):
        return []
    return queries.site_actions(current_user.site_id, statuses=OPEN_STATUSES + ("done",))
