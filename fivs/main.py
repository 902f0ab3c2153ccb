"""Home (each role's own: the programme board, the site's page, the list of sites), health check,
language switch. The data of each home is gathered by its service; the view only picks which."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.auth.access import visible_sites_query
from fivs.auth.roles import CONSULTANT
from fivs.auth.urls import safe_next
from fivs.calendar.board import board_page, programme_board
from fivs.extensions import db
from fivs.home.consultant import consultant_home
from fivs.home.services import site_home
from fivs.sites.queries import PER_PAGE, SiteFilters, site_page
from fivs.timeutil import local_today

main_bp = Blueprint("main", __name__)


@main_bp.get("/")
@login_required
def home():
    """Each role's own home: the consultant's work list, the programme board (reviewers and admins),
    the site's page (its principal and staff); anyone else the list of their sites."""
    if current_user.role == CONSULTANT:
        return render_template("main/consultant_home.html", home=consultant_home(current_user, local_today()))
    if policy.can_see_programme(current_user):
        board = programme_board(policy.visible_site_ids(current_user), local_today(), hidden_audits(current_user))
        args = request.args
        filters = SiteFilters.of(args.get("q"), args.get("kind"), args.get("province"), args.get("commune"))
        state = args.get("state", "")
        return render_template("main/board.html", board=board, filters=filters, state=state,
                               rows=board_page(board, args.get("page", 1, type=int), filters, state))
    if policy.works_at_a_site(current_user):
        return render_template("main/site_home.html", site=current_user.site, home=site_home(current_user.site))
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
