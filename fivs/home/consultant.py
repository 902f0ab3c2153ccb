"""The consultant's home, "Việc của tôi": their drafts first, then each assigned site with the state
of each round and the one next step. Read-side only (queries in fivs.audits.queries)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from fivs.audits.models import CONSULTANT_AUDIT
from fivs.audits.presenters import AuditProgress, audit_progress
from fivs.audits.queries import auditable_sites, consultant_work
from fivs.calendar import services as calendar

ROUNDS = ("baseline", "final")  # always shown; a periodic round only when it has an audit
NOT_STARTED, IN_PROGRESS, SUBMITTED = "not_started", "in_progress", "submitted"


@dataclass(frozen=True)
class Draft:
    audit: object
    progress: AuditProgress


@dataclass(frozen=True)
class RoundState:
    phase: str
    state: str  # not_started | in_progress | submitted
    audit: object | None
    late: bool = False  # its window in the programme calendar closed without a submitted audit


@dataclass(frozen=True)
class SiteWork:
    site: object
    rounds: tuple[RoundState, ...]
    next_round: RoundState | None  # the one next step: the first round not submitted


@dataclass(frozen=True)
class ConsultantHome:
    drafts: tuple[Draft, ...]
    sites: tuple[SiteWork, ...]


def round_state(audit) -> str:
    """A round's state from its live consultant audit (None: none yet). The one place a round's
    state is decided: a programme calendar's "late" belongs here."""
    if audit is None:
        return NOT_STARTED
    return SUBMITTED if audit.status == "submitted" else IN_PROGRESS


def late_phases(site_audits: list, all_windows, today: date) -> set[str]:
    """The phases of a site's rounds that are late on the programme board (fivs.calendar), so that
    the consultant's home and the board say the same."""
    cells = calendar.round_cells(site_audits, calendar.columns(all_windows, site_audits), all_windows, today)
    return {c.column.phase for c in cells if c.late}


def consultant_home(user, today: date) -> ConsultantHome:
    sites = auditable_sites(user)
    audits = consultant_work(user, {s.id for s in sites})
    all_windows = calendar.windows()
    drafts = tuple(Draft(a, audit_progress(a)) for a in audits if a.status != "submitted")
    by_site = defaultdict(list)
    for audit in audits:
        if audit.kind == CONSULTANT_AUDIT:
            by_site[audit.site_id].append(audit)
    work = []
    for site in sites:
        live = {a.phase: a for a in sorted(by_site[site.id], key=lambda a: a.id)}
        phases = [p for p in ("baseline", "periodic", "final") if p in ROUNDS or p in live]
        late = late_phases(by_site[site.id], all_windows, today)
        rounds = tuple(RoundState(p, round_state(live.get(p)), live.get(p), p in late) for p in phases)
        work.append(SiteWork(site, rounds, next((r for r in rounds if r.state != SUBMITTED), None)))
    return ConsultantHome(drafts, tuple(work))

