"""The programme board: every visible site's rounds against the calendar, its open and overdue
corrective actions, and one headline over the programme.

The figures come from fivs.comparisons.services.load_programme (the programme page's own: sums the
database makes), the states from fivs.calendar.services.round_cells and the action counts from
fivs.actions.queries.counts_by_site, so the board, its JSON and the programme page agree. A page builds
the rows it shows only; the headline needs no row but for late rounds, once a window has closed.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from flask_babel import gettext as _

from fivs.actions.queries import Counts, counts_by_site
from fivs.calendar import services
from fivs.calendar.services import Column, RoundCell
from fivs.comparisons.services import Programme, ProgrammeResult, SiteComparison, load_programme
from fivs.services_errors import ValidationError
from fivs.sites.models import SITE_KINDS
from fivs.sites.queries import SiteFilters


@dataclass(frozen=True)
class BoardRow:
    comparison: SiteComparison  # the site with its baseline, final and change
    cells: list[RoundCell]
    actions: Counts

    @property
    def site(self):
        return self.comparison.site

    @property
    def late(self) -> bool:
        return any(c.late for c in self.cells)

    def as_dict(self) -> dict:
        change = self.comparison.change
        return {"site": self.site.as_dict(), "rounds": [c.as_dict() for c in self.cells],
                "late": self.late, "change": change.overall if change else None,
                "actions": {"open": self.actions.open, "overdue": self.actions.overdue}}


@dataclass(frozen=True)
class Board:
    """The programme (its sums: fivs.comparisons.services.load_programme), the calendar's columns and the
    action counts; a site's row is built when asked for (`row`), so a page builds the rows it shows."""

    columns: list[Column]
    programme: Programme
    windows: list
    today: date
    counts: dict[int, Counts]

    @cached_property
    def result(self) -> ProgrammeResult:
        """All kinds of site: the programme page's first table."""
        return self.programme.result("all")

    @property
    def sites(self) -> int:
        return len(self.programme.sites)

    @cached_property
    def provinces(self) -> list[str]:
        """The provinces the board's sites are in now, for the province filter's choices."""
        return sorted({c.site.province for c in self.programme.sites if c.site.province})

    @property
    def completed(self) -> int:
        """Sites with both a submitted baseline and a submitted final (the programme's n)."""
        return len(self.result.sites_included)

    def row(self, comparison: SiteComparison) -> BoardRow:
        audits = self.programme.audits.get(comparison.site.id, [])
        return BoardRow(comparison, services.round_cells(audits, self.columns, self.windows, self.today),
                        self.counts.get(comparison.site.id, Counts()))

    @property
    def rows(self) -> list[BoardRow]:
        """Every site's row (what the late rounds are counted over; a page shows `board_page`'s)."""
        return [self.row(c) for c in self.programme.sites]

    @property
    def late_rounds(self) -> int:
        """Rounds late against the calendar, over every site (only windows that have closed can be late)."""
        if not any(col.window is not None and col.window.closes < self.today for col in self.columns):
            return 0
        return sum(c.late for r in self.rows for c in r.cells)

    @property
    def mean_change(self) -> float | None:
        return self.result.stats.overall.mean_change

    def as_dict(self, page: RowsPage) -> dict:
        """The headline over every site and the rows of one page (board_page's)."""
        return {"sites": self.sites, "completed_both_rounds": self.completed,
                "mean_change": self.mean_change, "late_rounds": self.late_rounds,
                "rounds": [{"phase": c.phase, "year": c.year} for c in self.columns],
                "rows": [r.as_dict() for r in page.items]}


def programme_board(visible_site_ids: Collection[int] | None, today: date, hidden: Collection[int] = ()) -> Board:
    """The board of the visible sites (None: all active sites) on `today` (the sites' day), without the
    audits the viewer may not see yet (`hidden`: fivs.audits.queries.hidden_audits)."""
    programme = load_programme("all", visible_site_ids, hidden)
    all_windows = services.windows()
    cols = services.columns(all_windows, [a for rows in programme.audits.values() for a in rows])
    return Board(columns=cols, programme=programme, windows=all_windows, today=today, counts=counts_by_site())


@dataclass(frozen=True)
class RowsPage:
    """One page of the board's rows (the pager macro's shape, like Flask-SQLAlchemy's Pagination), so that
    no page renders every site of a national programme."""

    items: list[BoardRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


# What the board can be narrowed to: the sites with a late round, those that have both rounds submitted
# (the programme's n) and those that have not yet.
BOARD_STATES = ("late", "complete", "incomplete")


def check_state(state: str | None) -> str:
    """"" (every site) or one of BOARD_STATES; anything else is a 422 that names the allowed values."""
    state = (state or "").strip()
    if state and state not in BOARD_STATES:
        raise ValidationError(_("Show must be one of: late, complete, incomplete."), code="bad_state",
                              details=[{"field": "state", "allowed": list(BOARD_STATES)}])
    return state


def check_filters(filters: SiteFilters) -> SiteFilters:
    """The board's site filters, the kind one of SITE_KINDS or none; another kind is a 422 that names them.
    A province or commune no site is in is no error: it shows no row."""
    if filters.kind and filters.kind not in SITE_KINDS:
        raise ValidationError(_("The kind of site must be one of: school, clinic."), code="bad_kind",
                              details=[{"field": "kind", "allowed": list(SITE_KINDS)}])
    return filters


def board_page(board: Board, page: int, filters: SiteFilters | None = None, state: str = "",
               per_page: int = 50) -> RowsPage:
    """The rows of page `page` (from 1) of the sites that pass `filters` (code or name, kind, province,
    commune: the site list's) and are in `state` (check_state's); only those rows are built (and, for
    "late", every matching site's round cells: no answer is read for them)."""
    state, filters = check_state(state), check_filters(filters or SiteFilters())
    chosen = [c for c in board.programme.sites
              if filters.admits(c.site)
              and (state != "complete" or not c.missing) and (state != "incomplete" or c.missing)]
    if state == "late":
        chosen = [c for c in chosen if board.row(c).late]
    page = max(page, 1)  # past the last page: no row, as the other lists
    return RowsPage([board.row(c) for c in chosen[(page - 1) * per_page:page * per_page]], page, per_page,
                    len(chosen))
