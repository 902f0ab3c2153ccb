"""Who is calling the API: a bearer token, or the app's own session cookie plus a CSRF header.

A bearer request never touches the session. A cookie request that changes something must carry
the session's CSRF token in the X-CSRFToken header (the blueprint is exempt from Flask-WTF's
automatic form check, so the check happens here, and only for cookie requests).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import or_, update
from wtforms import ValidationError as FormValidationError

from fivs.auth.models import ApiToken, User
from fivs.auth.ratelimit import TooManyAttempts, register_failed_token_attempt, token_attempts_blocked
from fivs.auth.services import token_user
from fivs.db import reading
from fivs.extensions import db
from fivs.services_errors import ServiceError
from fivs.timeutil import as_utc, utcnow

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOUCH_EVERY = timedelta(minutes=1)


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


def authenticate() -> None:
    """Make the caller `current_user`, or raise a 401 (400 for a cookie request without CSRF)."""
    header = request.headers.get("Authorization")
    if header is not None:
        _login_with_token(header)
    elif current_user.is_authenticated:
        if request.method in UNSAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            _check_csrf_header()
    else:
        raise Unauthorized(_("Log in, or send an API token in the header Authorization: Bearer <token>."))


def challenge(response):
    """after_request: a 401 names the scheme to use (RFC 9110)."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fivs"'
    return response


def api_user() -> User:
    return current_user._get_current_object()


def _login_with_token(header: str) -> None:
    """Each bad token counts against its address (fivs.auth.ratelimit); past the limit a bad token
    is answered 429 instead of 401. A valid token is always let in, whatever its address sent: a
    token is a long random secret that no rate of guessing finds, and behind a school's shared
    NAT one misconfigured tablet must not lock the others out. The token is read without a write
    transaction (fivs.db.reading): the request's own writes come later, in its one transaction."""
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    with reading():
        found = token_user(token) if scheme.lower() == "bearer" and token else None
    if found is None:
        if token_attempts_blocked():
            raise TooManyAttempts(_("Too many wrong API tokens from this address. Wait a minute and try again."))
        register_failed_token_attempt()
        raise Unauthorized(_("The API token is missing, wrong or revoked."), code="invalid_token")
    user, token_id, last_used_at = found
    if last_used_at is None or as_utc(last_used_at) < utcnow() - TOUCH_EVERY:
        _touch(token_id)
    # Flask-Login keeps the request's user in g._login_user; setting it leaves the session alone.
    g._login_user = user


def _touch(token_id: int) -> None:
    """Record when the token was last used, at most once a minute: one conditional UPDATE, sent
    only when the time read with the token was older, and committed at once (bookkeeping: the
    request's own work comes after it, in a transaction of its own)."""
    now = utcnow()
    db.session.execute(update(ApiToken)
                       .where(ApiToken.id == token_id,
                              or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_EVERY))
                       .values(last_used_at=now)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _check_csrf_header() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except FormValidationError as exc:
        raise CSRFError(exc.args[0] if exc.args else None) from None
