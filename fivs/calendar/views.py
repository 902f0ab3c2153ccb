"""Admin pages of the programme calendar: the list of windows, a new one, changing one."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fivs.auth.access import admin_required
from fivs.calendar.forms import WindowForm
from fivs.calendar.models import RoundWindow
from fivs.calendar.services import save_window, windows
from fivs.extensions import db
from fivs.services_errors import ServiceError

calendar_bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")


@calendar_bp.get("/")
@admin_required
def index():
    return render_template("calendar/index.html", windows=windows())


@calendar_bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    return _edit(None, WindowForm())


@calendar_bp.route("/<int:window_id>", methods=["GET", "POST"])
@admin_required
def edit(window_id: int):
    window = db.session.get(RoundWindow, window_id) or abort(404)
    return _edit(window, WindowForm(obj=window))


def _edit(window: RoundWindow | None, form: WindowForm):
    status = 200
    if form.validate_on_submit():
        try:
            save_window(window, form.data, current_user)
        except ServiceError as exc:
            db.session.rollback()
            fields = [d.get("field") for d in exc.details or [] if isinstance(d, dict)]
            getattr(form, fields[0] if fields and hasattr(form, fields[0]) else "closes").errors.append(exc.message)
            status = exc.status
        else:
            db.session.commit()
            flash(_("Saved."), "info")
            return redirect(url_for(".index"))
    elif form.errors:
        status = 422
    return render_template("calendar/form.html", form=form, window=window), status
