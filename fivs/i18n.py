"""Language choice: ?lang= on any page switches and is remembered (session + cookie)."""
from __future__ import annotations

import os

from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale

from fivs.timeutil import as_utc

LANG_COOKIE = "fivs_lang"


def N_(msgid: str) -> str:
    """Marks a message for extraction; it is translated where it is shown, in the reader's language."""
    return msgid


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural form for extraction (keyword N_plural:1,2)."""
    return singular, plural


# Flask-Login's own flashes (it translates them through login_manager.localize_callback).
LOGIN_MESSAGE = N_("Please log in to see this page.")
REFRESH_MESSAGE = N_("Please log in again to see this page.")


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


def environment_language() -> str:
    """The language of the command line: the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is
    set, when it names one of the app's languages ("vi_VN.UTF-8": vi); otherwise English, the
    messages' source, as gettext does for C or POSIX."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            lang = value.split(":")[0].split(".")[0].split("_")[0].lower()
            return lang if lang in current_app.config["LANGUAGES"] else "en"
    return "en"


# How people read a day and a moment: Vietnamese writes dd/mm/yyyy (01/04/2023), English keeps
# Babel's own ("Apr 1, 2023"). The pages' |d and |dt filters use these, and nothing else formats dates.
DAY_PATTERNS = {"vi": "dd/MM/yyyy"}
MOMENT_PATTERNS = {"vi": "dd/MM/yyyy HH:mm"}


def format_day(value) -> str:
    """A date in the reader's language; "—" when there is none."""
    return format_date(value, DAY_PATTERNS.get(current_lang(), "medium")) if value else "—"


def format_moment(value) -> str:
    """A time (UTC in the database) at the sites' clock, in the reader's language; "—" when there is none."""
    return format_datetime(as_utc(value), MOMENT_PATTERNS.get(current_lang(), "MMM d, y, HH:mm")) if value else "—"
