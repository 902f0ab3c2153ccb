"""Home, health check, language switch."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from fivs.auth.access import visible_sites_query
from fivs.auth.roles import CONSULTANT
from fivs.auth.urls import safe_next
from fivs.extensions import db
from fivs.home.consultant import consultant_home, round_state_label

main_bp = Blueprint("main", __name__)


@main_bp.get("/")
@login_required
def home():
    """Each role's own home: the consultant's work list; everyone else the list of their sites."""
    if current_user.role == CONSULTANT:
        return render_template("main/consultant_home.html", home=consultant_home(current_user),
                               round_state_label=round_state_label)
    sites = db.session.scalars(visible_sites_query(current_user)).all()
    return render_template("main/home.html", sites=sites)


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
