"""Per-request hooks: session checks, remembered language, security headers."""
from __future__ import annotations

import time

from flask import Flask, current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from fivs.i18n import LANG_COOKIE

# The last activity is stamped at most this often: the session cookie (~380 bytes) then goes back
# once a minute, not with every answer save of a tablet on a slow line.
SEEN_EVERY_S = 60

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# A JSON answer is no page: it loads nothing and is framed by nobody. Stricter than CSP and ~190
# bytes shorter on every API response (an answer save on a slow line).
CSP_JSON = "default-src 'none'; frame-ancestors 'none'"


def register(app: Flask) -> None:
    if app.config["PROXY_COUNT"]:
        # Behind nginx: the client's address (for the per-client login limits) and scheme come from the proxy.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
    app.before_request(_before)
    app.after_request(_stamp_activity)
    app.after_request(_headers)


def _before() -> None:
    if "_user_id" in session and _idle_too_long():
        logout_user()
        session.clear()
        flash(_("You were logged out after a period of inactivity. Please log in again."), "info")
    lang = request.args.get("lang")
    if lang in ("vi", "en"):
        session["lang"] = lang
        g.set_lang_cookie = lang
    if current_user.is_authenticated and not current_user.is_active:
        logout_user()


def _idle_too_long() -> bool:
    """Server-side inactivity check: the cookie's own expiry is only advice to the browser."""
    seen = session.get("seen")
    limit = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    return not isinstance(seen, int) or time.time() - seen > limit


def _stamp_activity(response):
    if "_user_id" in session:
        now, seen = int(time.time()), session.get("seen")
        if not isinstance(seen, int) or now - seen >= SEEN_EVERY_S:
            session["seen"] = now
    if session and not session.permanent:
        # A session that holds something lasts PERMANENT_SESSION_LIFETIME from the last activity (the
        # inactivity timeout), stamped to the minute (SEEN_EVERY_S): an unchanged session sends no
        # cookie back (SESSION_REFRESH_EACH_REQUEST off). An empty one (a bearer API call, /healthz)
        # sends no cookie.
        session.permanent = True
    return response


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP_JSON if response.mimetype == "application/json" else CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    lang = g.get("set_lang_cookie")
    if lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
