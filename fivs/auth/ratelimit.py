"""Brute-force limits: only failures count, so successful logins and ordinary work are never throttled.

More than FAILURES failed logins from one client (remote address) or for one username, or failed
API token attempts from one client, within the last minute (a moving window): further attempts get
429 until fewer remain in it (for tokens: further wrong tokens; a valid token is never refused). Counters live in the Flask-Limiter storage (memory by default, Redis
via FIVS_RATELIMIT_URL); if it does not answer, nothing is counted and nobody is blocked (a warning
is logged).
"""
from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse

from fivs.extensions import limiter
from fivs.services_errors import ServiceError
from fivs.text import clean_text

FAILURES = parse("10/minute")


class TooManyAttempts(ServiceError):
    """429: the app's error handler answers with a page, or JSON under /api/."""

    status = 429
    code = "too_many_attempts"
    retry_after = int(FAILURES.get_expiry())  # seconds: at most one window


def _keys(kind: str, username: str | None = None) -> list[tuple[str, str]]:
    keys = [(f"fivs-{kind}-ip", get_remote_address() or "-")]
    if username is not None:
        keys.append((f"fivs-{kind}-user", clean_text(username, multiline=False).lower()[:80]))
    return keys


def _blocked(keys) -> bool:
    if not limiter.enabled:
        return False
    try:
        return not all(limiter.limiter.test(FAILURES, *key) for key in keys)
    except Exception:  # noqa: BLE001 (storage down: see _storage_failed)
        _storage_failed()
        return False


def _hit(keys) -> None:
    if not limiter.enabled:
        return
    try:
        for key in keys:
            limiter.limiter.hit(FAILURES, *key)
    except Exception:  # noqa: BLE001
        _storage_failed()


def _storage_failed() -> None:
    """The counters' storage (Redis) does not answer. Logins and API calls go on unlimited rather
    than every one of them failing: the limits guard against guessing, the work must not stop."""
    current_app.logger.warning("rate-limit storage unavailable; failed attempts are not counted", exc_info=True)


def login_blocked(username: str) -> bool:
    """True when this client or this username has used up its failed logins for now."""
    return _blocked(_keys("login", username))


def register_failed_login(username: str) -> None:
    _hit(_keys("login", username))


def token_attempts_blocked() -> bool:
    """True when this client has sent too many bad API tokens: its next wrong token is answered 429."""
    return _blocked(_keys("token"))


def register_failed_token_attempt() -> None:
    _hit(_keys("token"))
