"""Language choice: ?lang= on any page switches and is remembered (session + cookie)."""
from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale

LANG_COOKIE = "fivs_lang"


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, background work: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    if wanted in langs:
        return wanted
    for candidate in (session.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in langs:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_lang() -> str:
    locale = get_locale()
    return locale.language if locale else "vi"
