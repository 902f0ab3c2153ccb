"""Home, health check, language switch."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from fivs.auth.access import visible_sites_query
from fivs.auth.urls import safe_next
from fivs.extensions import db
from fivs.sites.queries import PER_PAGE, SiteFilters, site_page

main_bp = Blueprint("main", __name__)


@main_bp.get("/")
@login_required
def home():
    filters = SiteFilters.of(request.args.get("q"))
    page = site_page(visible_sites_query(current_user), filters, request.args.get("page", 1, type=int))
    return render_template("main/home.html", page=page, q=filters.q, per_page=PER_PAGE)


@main_bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@main_bp.get("/lang/<lang>")
def set_language(lang: str):
    """Switch the interface language, remember it, and go back (inside the app only)."""
    if lang in ("vi", "en"):
        session["lang"] = lang
        g.set_lang_cookie = lang
    return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
