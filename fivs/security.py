"""Per-request hooks: session checks, remembered language, security headers."""
from __future__ import annotations

from flask import Flask, g, request, session
from flask_login import current_user, logout_user

from fivs.i18n import LANG_COOKIE

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def register(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_headers)


def _before() -> None:
    session.permanent = True  # inactivity timeout: PERMANENT_SESSION_LIFETIME, refreshed per request
    lang = request.args.get("lang")
    if lang in ("vi", "en"):
        session["lang"] = lang
        g.set_lang_cookie = lang
    if current_user.is_authenticated and not current_user.is_active:
        logout_user()


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    lang = g.get("set_lang_cookie")
    if lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
