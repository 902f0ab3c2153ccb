"""The programme board: every visible site's rounds against the calendar, its open and overdue
corrective actions, and one headline over the programme.

The figures come from fivs.comparisons.services.load_programme (the programme page's own), the
states from fivs.calendar.services.round_cells and the action counts from
fivs.actions.queries.counts_by_site, so the board, its JSON and the programme page agree.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from fivs.actions.queries import Counts, counts_by_site
from fivs.calendar import services
from fivs.calendar.services import Column, RoundCell
from fivs.comparisons import queries
from fivs.comparisons.services import ProgrammeResult, SiteComparison, load_programme


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
    columns: list[Column]
    rows: list[BoardRow]
    result: ProgrammeResult  # all kinds of site: the programme page's first table

    @property
    def completed(self) -> int:
        """Sites with both a submitted baseline and a submitted final (the programme's n)."""
        return len(self.result.sites_included)

    @property
    def late_rounds(self) -> int:
        return sum(c.late for r in self.rows for c in r.cells)

    @property
    def mean_change(self) -> float | None:
        return self.result.stats.overall.mean_change

    def as_dict(self) -> dict:
        return {"sites": len(self.rows), "completed_both_rounds": self.completed,
                "mean_change": self.mean_change, "late_rounds": self.late_rounds,
                "rounds": [{"phase": c.phase, "year": c.year} for c in self.columns],
                "rows": [r.as_dict() for r in self.rows]}


def programme_board(visible_site_ids: Collection[int] | None, today: date, hidden: Collection[int] = ()) -> Board:
    """The board of the visible sites (None: all active sites) on `today` (the sites' day), without the
    audits the viewer may not see yet (`hidden`: fivs.audits.queries.hidden_audits)."""
    programme = load_programme("all", visible_site_ids, hidden)
    audits_by_site = defaultdict(list)
    for audit in queries.audits(visible_site_ids, consultant_only=True, hidden=hidden):
        audits_by_site[audit.site_id].append(audit)
    all_windows = services.windows()
    cols = services.columns(all_windows, [a for rows in audits_by_site.values() for a in rows])
    counts = counts_by_site()
    rows = [BoardRow(c, services.round_cells(audits_by_site[c.site.id], cols, all_windows, today),
                     counts.get(c.site.id, Counts()))
            for c in programme.sites]
    return Board(columns=cols, rows=rows, result=programme.result("all"))


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


def board_page(board: Board, page: int, q: str = "", per_page: int = 50) -> RowsPage:
    """The rows of page `page` (from 1) of the sites whose code or name contains `q`."""
    needle = q.strip().casefold()
    rows = [r for r in board.rows if not needle or needle in r.site.code.casefold() or needle in r.site.name.casefold()]
    page = min(max(page, 1), max(1, -(-len(rows) // per_page)))
    return RowsPage(rows[(page - 1) * per_page:page * per_page], page, per_page, len(rows))

