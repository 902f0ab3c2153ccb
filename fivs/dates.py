"""The window of plausible dates: an audit's date and an action's due date must fall in it.

A typo such as 0001-01-01 or 0078-05-01 is refused (422 with a message) instead of being stored and
printed as "1/1/01". The window runs from EARLIEST_DATE (FIVS_EARLIEST_DATE, default 2020-01-01,
before the pilot) to LATEST_DAYS_AHEAD days after today at the sites (FIVS_LATEST_DAYS_AHEAD,
default 366: a due date a year ahead).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _

from fivs.timeutil import local_today


def date_window(today: date | None = None) -> tuple[date, date]:
    """(earliest, latest) allowed date, both included."""
    config = current_app.config
    today = today or local_today()
    return config["EARLIEST_DATE"], today + timedelta(days=config["LATEST_DAYS_AHEAD"])


def date_problem(value: date | None) -> str | None:
    """Why `value` is refused, in the reader's language; None when it is in the window (or absent)."""
    if value is None:
        return None
    earliest, latest = date_window()
    if earliest <= value <= latest:
        return None
    return _("The date must be from %(earliest)s to %(latest)s.",
             earliest=earliest.isoformat(), latest=latest.isoformat())
