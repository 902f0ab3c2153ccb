from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from fivs.audits.queries import hidden_audits
from fivs.auth.access import admin_required
from fivs.events.forms import EventFilterForm
from fivs.events.presenters import SUBJECT_ACTIONS, changes
from fivs.events.queries import Filters, action_label, audit_uuids, events_page, known_actions, site_codes
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import to_local

events_bp = Blueprint("events", __name__, url_prefix="/admin/events")


@events_bp.get("/")
@admin_required
def index():
    form = EventFilterForm(request.args)
    form.action.choices = [("", "—")] + [(a, action_label(a)) for a in known_actions()]
    valid = form.validate() if request.args else True
    site_id = None
    if valid and form.site.data:  # a code, not a list of every site: there may be thousands
        site_id = db.session.scalar(select(Site.id).where(Site.code == form.site.data.upper()))
        if site_id is None:
            form.site.errors = [_("No site has this code.")]
            valid = False
    if not valid:
        return render_template("events/index.html", form=form, page=None), 422
    filters = Filters(action=form.action.data or "", user=(form.user.data or "").strip(),
                      site_id=site_id, date_from=form.date_from.data, date_to=form.date_to.data)
    page = events_page(filters, request.args.get("page", 1, type=int), hidden_audits(current_user))
    return render_template("events/index.html", form=form, page=page, site_codes=site_codes(page.items),
                           audit_uuids=audit_uuids(page.items), SUBJECT_ACTIONS=SUBJECT_ACTIONS,
                           action_label=action_label, changes=changes, to_local=to_local)
