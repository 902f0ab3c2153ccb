"""The programme calendar's rules: saving a window (closes on or after opens, one per phase and
year), seeding the 2023 pilot's windows, and the state of each site's round against its window.

A consultant audit counts for the window of its phase whose programme year is the latest one not
after the audit's date (the earliest window when the audit is older than all of them), so an audit
done a little outside its window still fills it. A round is late when its window has closed and
the site has no submitted consultant audit for it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from fivs.audits.models import CONSULTANT_AUDIT, PHASES
from fivs.calendar.models import RoundWindow
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.services_errors import ConflictError, ValidationError
from fivs.timeutil import utcnow

# The pilot's calendar (2023): baseline in April-May, final in November.
PILOT_WINDOWS = ((2023, "baseline", date(2023, 4, 1), date(2023, 5, 31)),
                 (2023, "final", date(2023, 11, 1), date(2023, 11, 30)))
YEARS = (2020, 2100)  # a programme year outside these is a typo
NOT_STARTED, IN_PROGRESS, SUBMITTED = "not_started", "in_progress", "submitted"


def windows() -> list[RoundWindow]:
    """Every window, by programme year then in round order (baseline, periodic, final)."""
    rows = db.session.scalars(select(RoundWindow)).all()
    return sorted(rows, key=lambda w: (w.year, PHASES.index(w.phase), w.opens))


def save_window(window: RoundWindow | None, data: dict, user) -> RoundWindow:
    """Create (window None) or change a window from `data` (phase, year, opens, closes); logged."""
    phase, year, opens, closes = data.get("phase"), data.get("year"), data.get("opens"), data.get("closes")
    if phase not in PHASES:
        raise ValidationError(_("The round must be one of: %(phases)s.", phases=", ".join(PHASES)),
                              code="bad_phase", details=[{"field": "phase"}])
    if not isinstance(year, int) or not YEARS[0] <= year <= YEARS[1]:
        raise ValidationError(_("The programme year must be from %(first)d to %(last)d.",
                                first=YEARS[0], last=YEARS[1]), code="bad_year", details=[{"field": "year"}])
    if not isinstance(opens, date) or not isinstance(closes, date):
        raise ValidationError(_("Give the day the round opens and the day it closes."), code="bad_dates",
                              details=[{"field": "opens"}, {"field": "closes"}])
    if closes < opens:
        raise ValidationError(_("The round cannot close before it opens."), code="closes_before_opens",
                              details=[{"field": "closes"}])
    clash = db.session.scalar(select(RoundWindow).where(RoundWindow.year == year, RoundWindow.phase == phase))
    if clash is not None and clash is not window:
        raise ConflictError(_("This round of this year already has a window: change that one."),
                            code="window_exists", details=[{"field": "phase", "id": clash.id}])
    old = None if window is None else _state(window)
    if window is None:
        window = RoundWindow()
        db.session.add(window)
    window.phase, window.year, window.opens, window.closes = phase, year, opens, closes
    window.updated_at = utcnow()
    db.session.flush()
    log_event("calendar.window", user=user, target=f"{year} {phase}", old=old, new=_state(window))
    return window


def _state(window: RoundWindow) -> dict:
    return {"phase": window.phase, "year": window.year, "opens": window.opens.isoformat(),
            "closes": window.closes.isoformat()}


def seed_pilot_calendar() -> int:
    """Add the pilot's windows that are missing (never changes one an admin set); returns how many."""
    have = set(db.session.execute(select(RoundWindow.year, RoundWindow.phase)).tuples())
    added = 0
    for year, phase, opens, closes in PILOT_WINDOWS:
        if (year, phase) not in have:
            db.session.add(RoundWindow(year=year, phase=phase, opens=opens, closes=closes))
            added += 1
    db.session.flush()
    return added


# ---------------------------------------------------------------- a site's rounds against the calendar
@dataclass(frozen=True)
class Column:
    """One round of the board: a window, or (no calendar yet) a bare phase."""
    phase: str
    window: RoundWindow | None = None

    @property
    def year(self) -> int | None:
        return self.window.year if self.window else None


@dataclass(frozen=True)
class RoundCell:
    """A site's round: its state, the date of the audit that decides it, and whether it is late."""
    column: Column
    state: str  # not_started | in_progress | submitted
    audit_uuid: str | None
    audit_date: date | None
    late: bool

    def as_dict(self) -> dict:
        w = self.column.window
        return {"phase": self.column.phase, "year": self.column.year,
                "opens": w.opens.isoformat() if w else None, "closes": w.closes.isoformat() if w else None,
                "state": self.state, "late": self.late, "audit_id": self.audit_uuid,
                "audit_date": self.audit_date.isoformat() if self.audit_date else None}


def columns(all_windows: Sequence[RoundWindow], audits: Iterable = ()) -> list[Column]:
    """The board's rounds: one per window, then a bare phase (never late) for a round with no
    window: baseline and final always when the calendar is empty, periodic when some audit is."""
    windowed = {w.phase for w in all_windows}
    phases = {a.phase for a in audits}
    bare = [Column(p) for p in PHASES if p not in windowed
            and (p in phases or (not all_windows and p != "periodic"))]
    return [Column(w.phase, w) for w in all_windows] + bare


def window_for(audit_date: date, phase: str, all_windows: Sequence[RoundWindow]) -> RoundWindow | None:
    """The window an audit of `phase` on `audit_date` counts for (see the module's docstring)."""
    of_phase = sorted((w for w in all_windows if w.phase == phase), key=lambda w: w.year)
    if not of_phase:
        return None
    started = [w for w in of_phase if w.year <= audit_date.year]
    return started[-1] if started else of_phase[0]


def _round_key(audit):
    return (audit.audit_date, audit.submitted_at is not None, audit.submitted_at, audit.id)


def round_cells(audits: Iterable, cols: Sequence[Column], all_windows: Sequence[RoundWindow],
                today: date) -> list[RoundCell]:
    """One site's rounds: `audits` are its audits (rows with kind, phase, status, audit_date,
    submitted_at, id, uuid); only consultant audits count."""
    mine = [a for a in audits if a.kind == CONSULTANT_AUDIT]
    cells = []
    for col in cols:
        counted = [a for a in mine if a.phase == col.phase
                   and (col.window is None or window_for(a.audit_date, a.phase, all_windows) is col.window)]
        submitted = [a for a in counted if a.status == "submitted"]
        chosen = max(submitted or counted, key=_round_key, default=None)
        state = SUBMITTED if submitted else IN_PROGRESS if counted else NOT_STARTED
        late = col.window is not None and col.window.closes < today and state != SUBMITTED
        cells.append(RoundCell(col, state, str(chosen.uuid) if chosen else None,
                               chosen.audit_date if chosen else None, late))
    return cells
