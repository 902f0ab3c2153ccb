"""Capture pages: start an audit, zone list, zone forms, submit, summary, reopen, history.

Without JavaScript every page works as plain forms; static/js/autosave.js adds saving per answer
through the JSON API. Every rule lives in fivs.audits.services.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from fivs.audits import presenters
from fivs.audits.forms import (AcknowledgeForm, CalibrationForm, ReopenForm, RoomForm, StartAuditForm, VoidForm,
                               ZoneForm, answer_entries, any_choice, unknown_items)
from fivs.audits.queries import audit_events, auditable_sites, second_rater_candidates
from fivs.audits import services
from fivs.audits.services import (acknowledge_audit, audit_scores, current_acknowledgement, ensure_editable,
                                  missing_items, normalise_room, reopen_audit, save_answers, start_audit,
                                  start_calibration, submit_audit, void_audit)
from fivs.auth import policy
from fivs.auth.access import get_audit_or_404, requires
from fivs.extensions import db
from fivs.i18n import current_lang
from fivs.services_errors import ConflictError, NotFoundError, ValidationError
from fivs.timeutil import local_today

audits_bp = Blueprint("audits", __name__, url_prefix="/audits")


@audits_bp.app_context_processor
def _template_helpers():
    return {"can_audit_site": lambda user, site: policy.can_audit_site(user, site.id), **presenters.LABELS}


# ---------------------------------------------------------------- start
@audits_bp.route("/new", methods=["GET", "POST"])
@requires(policy.can_start_audits)
def new():
    sites = {s.code: s for s in auditable_sites(current_user)}
    kind = policy.audit_kind_for(current_user)
    chosen = {k: request.args[k] for k in ("site", "phase") if request.args.get(k)}  # from a home page link
    form = StartAuditForm(audit_date=local_today(), **chosen)
    form.site.choices = [SelectChoice(code, s.name) for code, s in sites.items()]
    if form.site.data and form.site.data not in sites:
        abort(404)  # another site: not yours to audit
    existing = None
    if form.validate_on_submit():
        try:
            audit, _created = start_audit(current_user, sites[form.site.data], form.phase.data,
                                          form.audit_date.data, kind=kind,
                                          audit_uuid=uuid.UUID(form.client_uuid.data))
        except ValidationError as exc:
            db.session.rollback()
            if not any(d.get("field") == "date" for d in exc.details or ()):
                raise
            form.audit_date.errors = [*form.audit_date.errors, exc.message]  # shown at the field
        except ConflictError as exc:
            db.session.rollback()
            if exc.code != "audit_exists":
                raise
            existing = get_audit_or_404(exc.details["audit_id"])  # shown with a link to it
            form.phase.errors = [*form.phase.errors, exc.message]
        else:
            db.session.commit()
            return redirect(url_for(".zones", audit_uuid=audit.uuid))
    form.ensure_uuid()
    status = 409 if existing else 422 if form.errors else 200
    return render_template("audits/new.html", form=form, kind=kind, existing=existing), status


# ---------------------------------------------------------------- zone list and rooms
@audits_bp.get("/<audit_uuid>")
@login_required
def zones(audit_uuid):
    return _zone_list(get_audit_or_404(audit_uuid))


@audits_bp.post("/<audit_uuid>/rooms")
@login_required
def add_room(audit_uuid):
    audit = get_audit_or_404(audit_uuid)
    form = RoomForm()
    zone = _zone_or_404(audit, form.zone.data)
    try:
        room = services.add_room(audit, zone, form.label.data, current_user)
    except ValidationError as exc:
        db.session.rollback()
        return _room_refused(audit, zone, exc)
    db.session.commit()
    return redirect(url_for(".zone", audit_uuid=audit.uuid, zone_code=zone.code, room=room.name))


@audits_bp.post("/<audit_uuid>/rooms/remove")
@login_required
def remove_room(audit_uuid):
    audit = get_audit_or_404(audit_uuid)
    form = RoomForm()
    zone = _zone_or_404(audit, form.zone.data)
    try:
        services.remove_room(audit, zone, form.label.data, current_user)
    except ValidationError as exc:
        db.session.rollback()
        return _room_refused(audit, zone, exc)
    db.session.commit()
    flash(_("Room removed."), "info")
    return redirect(url_for(".zones", audit_uuid=audit.uuid))


def _room_refused(audit, zone, exc: ValidationError):
    """A refused room: the message beside the zone's room form, or at the top for a zone without one."""
    if zone.repeats:
        return _zone_list(audit, 422, room_error=(zone.code, exc.message))
    return _zone_list(audit, 422, message=exc.message)


def _zone_list(audit, status: int = 200, *, room_error=None, missing=None, message=None):
    return render_template(
        "audits/zones.html", audit=audit, groups=presenters.zone_groups(audit), scores=audit_scores(audit),
        editable=_editable(audit), room_error=room_error,
        missing=presenters.missing_groups(missing) if missing else None, message=message), status


# ---------------------------------------------------------------- one room of a zone
@audits_bp.route("/<audit_uuid>/zones/<zone_code>", methods=["GET", "POST"])
@login_required
def zone(audit_uuid, zone_code):
    audit = get_audit_or_404(audit_uuid)
    zone = _zone_or_404(audit, zone_code)
    room = _room_or_404(audit, zone, request.args.get("room", ""))
    form = ZoneForm()
    if request.method == "GET":
        form.row_version.data = audit.row_version
        return _zone_page(audit, zone, room, form)
    ensure_editable(audit, current_user)
    if not form.validate():
        return _zone_page(audit, zone, room, form, 422, posted=True, message=form.row_version.errors[0])
    if unknown_items(request.form, zone.items):
        return _zone_page(audit, zone, room, form, 422, posted=True, message=_("Unknown item for this checklist."))
    answered = {a.item_id: a for a in audit.answers if a.room == room}
    entries = answer_entries(request.form, zone.items, room, answered)
    if not entries and request.form.get("go") == "next":
        return redirect(_next_url(audit, zone, room))  # nothing changed: straight on
    if not entries and not any_choice(request.form, zone.items):
        return _zone_page(audit, zone, room, form, 422, posted=True,
                          message=_("Nothing to save yet: choose a score first."))
    return _save_zone(audit, zone, room, form, entries)


def _save_zone(audit, zone, room, form, entries):
    """Saves the changed answers (none: every answer is as the page showed it) and goes back."""
    try:
        if entries:
            save_answers(audit, current_user, entries, row_version=form.row_version.data)
    except ValidationError as exc:
        db.session.rollback()
        return _zone_page(audit, zone, room, form, 422, posted=True, message=exc.message,
                          problems=exc.details or [])
    except ConflictError as exc:
        if exc.code not in ("stale_row_version", "answer_changed"):
            raise
        db.session.rollback()
        form.row_version.data = exc.details["row_version"]  # saving again keeps the user's inputs
        changed = {a["item"] for a in exc.details.get("answers", ())} if exc.code == "answer_changed" else True
        return _zone_page(audit, zone, room, form, 409, posted=True, message=exc.message, conflict=changed)
    db.session.commit()
    flash(_("Saved."), "info")
    return redirect(_next_url(audit, zone, room) if request.form.get("go") == "next" else request.url)


def _next_url(audit, zone, room) -> str:
    """Where "Next zone" leads: the next room in checklist order, after the last one the submit step."""
    _previous, following = presenters.neighbours(audit, zone, room)
    if following is not None:
        return url_for(".zone", audit_uuid=audit.uuid, zone_code=following.zone.code, room=following.room or None)
    return url_for(".confirm_submit" if _editable(audit) else ".summary", audit_uuid=audit.uuid)


def _zone_page(audit, zone, room, form, status: int = 200, *, posted=False, message=None, problems=(),
               conflict=False):
    rows = presenters.item_rows(audit, zone, room, request.form if posted else None, problems, conflict)
    previous, following = presenters.neighbours(audit, zone, room)
    return render_template(
        "audits/zone.html", audit=audit, zone=zone, room=room, rows=rows, form=form,
        scores=audit_scores(audit), editable=_editable(audit), previous=previous, following=following,
        progress=presenters.audit_progress(audit), next_url=_next_url(audit, zone, room),
        message=message, conflict=conflict), status


# ---------------------------------------------------------------- submit, summary, reopen, history
@audits_bp.get("/<audit_uuid>/submit")
@login_required
def confirm_submit(audit_uuid):
    """The step before submitting: what will lock, and what is not answered yet (with links)."""
    audit = get_audit_or_404(audit_uuid)
    if not _editable(audit):
        return redirect(url_for(".summary", audit_uuid=audit.uuid))
    return _confirm_page(audit)


def _confirm_page(audit, status: int = 200, message=None):
    groups = presenters.zone_groups(audit)
    return render_template("audits/submit.html", audit=audit, scores=audit_scores(audit),
                           progress=presenters.audit_progress(audit, groups),
                           missing=presenters.missing_groups(missing_items(audit)), message=message), status


@audits_bp.post("/<audit_uuid>/submit")
@login_required
def submit(audit_uuid):
    audit = get_audit_or_404(audit_uuid)
    try:
        submit_audit(audit, current_user)
    except ValidationError as exc:
        db.session.rollback()
        return _confirm_page(audit, 422, exc.message)
    db.session.commit()
    flash(_("The audit is submitted and locked."), "info")
    return redirect(url_for(".summary", audit_uuid=audit.uuid))


@audits_bp.get("/<audit_uuid>/summary")
@login_required
def summary(audit_uuid):
    return _summary(get_audit_or_404(audit_uuid), ReopenForm())


@audits_bp.post("/<audit_uuid>/reopen")
@requires(policy.can_reopen)
def reopen(audit_uuid):
    audit = get_audit_or_404(audit_uuid)
    form = ReopenForm()
    try:
        reopen_audit(audit, current_user, form.reason.data or "")
    except ValidationError as exc:
        db.session.rollback()
        form.reason.errors = [exc.message]
        return _summary(audit, form, 422)
    db.session.commit()
    flash(_("The audit is reopened; each change to it is recorded in its history."), "info")
    return redirect(url_for(".zones", audit_uuid=audit.uuid))


@audits_bp.post("/<audit_uuid>/void")
@requires(policy.can_void)
def void(audit_uuid):
    """A reviewer voids the audit with a reason: it stays readable and counts nowhere."""
    audit = get_audit_or_404(audit_uuid)
    form = VoidForm()
    try:
        void_audit(audit, current_user, form.reason.data or "")
    except (ValidationError, ConflictError) as exc:
        db.session.rollback()
        form.reason.errors = [exc.message]
        return _summary(audit, ReopenForm(formdata=None), exc.status, void_form=form)
    db.session.commit()
    flash(_("The audit is voided: it counts nowhere now, and a new audit of this site and round may start."), "info")
    return redirect(url_for(".summary", audit_uuid=audit.uuid))


@audits_bp.post("/<audit_uuid>/calibration")
@requires(policy.can_request_calibration)
def request_calibration(audit_uuid):
    """A reviewer asks a second consultant to score the audit's site and round independently."""
    audit = get_audit_or_404(audit_uuid)
    form = _calibration_form(audit)
    if not form.validate_on_submit():
        return _summary(audit, ReopenForm(), 422, calibration_form=form)
    raters = {str(u.id): u for u in second_rater_candidates(audit)}
    second = start_calibration(current_user, audit, raters.get(form.rater.data))
    db.session.commit()
    flash(_("%(name)s is asked to score this site again; neither rater sees the other's answers until "
            "both are submitted.", name=second.auditor.full_name or second.auditor.username), "info")
    return redirect(url_for(".summary", audit_uuid=audit.uuid))


def _calibration_form(audit) -> CalibrationForm:
    form = CalibrationForm()
    form.rater.choices = [SelectChoice(str(u.id), u.full_name or u.username)
                          for u in second_rater_candidates(audit)]
    return form



@audits_bp.post("/<audit_uuid>/acknowledge")
@login_required
def acknowledge(audit_uuid):
    """The site head's sign-off of the submitted consultant audit, with an optional comment."""
    audit = get_audit_or_404(audit_uuid)
    form = AcknowledgeForm()
    try:
        acknowledge_audit(audit, current_user, form.comment.data or "")
    except (ValidationError, ConflictError) as exc:
        db.session.rollback()
        form.comment.errors = [exc.message]
        return _summary(audit, ReopenForm(formdata=None), 422 if isinstance(exc, ValidationError) else 409,
                        ack_form=form)
    db.session.commit()
    flash(_("You have acknowledged the audit."), "info")
    return redirect(url_for(".summary", audit_uuid=audit.uuid))



def _summary(audit, form, status: int = 200, *, calibration_form=None, ack_form=None, void_form=None):
    if calibration_form is None and audit.kind == "consultant" and policy.can_request_calibration(current_user):
        calibration_form = _calibration_form(audit)
    if void_form is None and not audit.voided and policy.can_void(current_user):
        void_form = VoidForm(formdata=None)
    ack = current_acknowledgement(audit)
    can_acknowledge = (ack is None and audit.locked and audit.kind == "consultant"
                       and policy.can_acknowledge(current_user, audit))
    return render_template(
        "audits/summary.html", audit=audit, scores=audit_scores(audit), groups=presenters.zone_groups(audit),
        answers=presenters.answer_map(audit), form=form, calibration_form=calibration_form, acknowledgement=ack,
        ack_form=ack_form or AcknowledgeForm(formdata=None), can_acknowledge=can_acknowledge,
        void_form=void_form, can_reopen=audit.locked and not audit.voided and policy.can_reopen(current_user)), status


@audits_bp.get("/<audit_uuid>/history")
@login_required
def history(audit_uuid):
    audit = get_audit_or_404(audit_uuid)
    return render_template("audits/history.html", audit=audit,
                           lines=presenters.history_lines(audit, audit_events(audit), current_lang()))


# ---------------------------------------------------------------- helpers
def _editable(audit) -> bool:
    return not audit.locked and not audit.voided and policy.can_edit_audit(current_user, audit)


def _zone_or_404(audit, code):
    return next((z for z in audit.template.zones if z.code == code), None) or abort(404)


def _room_or_404(audit, zone, name: str) -> str:
    name = normalise_room(name)
    if not any(r.zone_id == zone.id and r.name == name for r in audit.rooms):
        raise NotFoundError(_("No such room in this audit."))
    return name
