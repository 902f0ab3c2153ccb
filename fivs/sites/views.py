from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from fivs.audits.queries import hidden_audits, site_audits
from fivs.audits.services import audit_scores
from fivs.auth.access import admin_required, site_scope_required
from fivs.extensions import db
from fivs.sites.forms import SiteFilterForm, SiteForm
from fivs.sites.models import Site
from fivs.sites.queries import SiteFilters, provinces, site_page
from fivs.sites.services import SITE_FIELDS, create_site, update_site

sites_bp = Blueprint("sites", __name__)


@sites_bp.get("/sites/<code>")
@site_scope_required
def detail(site: Site):
    audits = [(audit, audit_scores(audit)) for audit in site_audits(site, hidden_audits(current_user))]
    return render_template("sites/detail.html", site=site, audits=audits)


@sites_bp.get("/admin/sites/")
@admin_required
def admin_index():
    form = SiteFilterForm(request.args)
    form.province.choices = [("", "—")] + [(p, p) for p in provinces()]
    if request.args and not form.validate():
        return render_template("sites/admin_list.html", form=form, page=None), 422
    filters = SiteFilters.of(form.q.data, form.kind.data, form.province.data, form.commune.data)
    page = site_page(select(Site), filters, request.args.get("page", 1, type=int))
    return render_template("sites/admin_list.html", form=form, page=page)


@sites_bp.route("/admin/sites/new", methods=["GET", "POST"])
@admin_required
def admin_new():
    form = SiteForm()
    if form.validate_on_submit():
        if db.session.scalar(select(Site).where(Site.code == form.code.data.strip().upper())):
            form.code.errors.append(_("This code is taken."))
        else:
            site = create_site(form.data, current_user)
            db.session.commit()
            flash(_("Site created."), "info")
            return redirect(url_for(".admin_edit", site_id=site.id))
    return render_template("sites/admin_form.html", form=form, site=None), 422 if form.errors else 200


@sites_bp.route("/admin/sites/<int:site_id>", methods=["GET", "POST"])
@admin_required
def admin_edit(site_id: int):
    site = db.session.get(Site, site_id) or abort(404)
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        update_site(site, {f: form.data[f] for f in SITE_FIELDS}, current_user)
        db.session.commit()
        flash(_("Saved."), "info")
        return redirect(url_for(".admin_edit", site_id=site.id))
    return render_template("sites/admin_form.html", form=form, site=site), 422 if form.errors else 200
