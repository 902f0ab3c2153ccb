"""The site list, paged and filtered in the database: one page of rows and one count per request,
however many sites there are (the programme may grow from 12 to ~30,000)."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, or_, select

from fivs.extensions import db
from fivs.sites.models import Site
from fivs.text import clean_text

PER_PAGE = 50
MAX_PER_PAGE = 100


def filter_sites(stmt, site_ids: Collection[int] | None, kind: str, *, active_only: bool,
                 province: str | None = None):
    """`stmt` (joined to Site) limited to the visible sites (None: all), one kind ("all" or a kind), the active
    ones and one province (now; None: every province)."""
    if province is not None:
        stmt = stmt.where(Site.province == province)
    if site_ids is not None:
        stmt = stmt.where(Site.id.in_(sorted(site_ids) or [-1]))
    if kind != "all":
        stmt = stmt.where(Site.kind == kind)
    if active_only:
        stmt = stmt.where(Site.active.is_(True))
    return stmt


@dataclass(frozen=True)
class SiteFilters:
    """q: part of the code or name (case-insensitive for Latin letters); kind, province, commune: exact
    (text NFC-normalised and trimmed, as stored)."""
    q: str = ""
    kind: str = ""
    province: str = ""
    commune: str = ""

    @classmethod
    def of(cls, q=None, kind=None, province=None, commune=None) -> "SiteFilters":
        return cls(*(clean_text(v, multiline=False) for v in (q, kind, province, commune)))

    @property
    def any(self) -> bool:
        """Whether any filter is set."""
        return bool(self.q or self.kind or self.province or self.commune)

    def admits(self, site) -> bool:
        """Whether `site` (anything with code, name, kind, province and commune: a Site or a comparison's
        SiteRow) passes the filters: filtered_sites' rule, for the sites a page already holds (the board)."""
        needle = self.q.casefold()
        return ((not needle or needle in site.code.casefold() or needle in site.name.casefold())
                and all(not getattr(self, name) or getattr(site, name) == getattr(self, name)
                        for name in ("kind", "province", "commune")))


def filtered_sites(stmt: Select, filters: SiteFilters) -> Select:
    """`stmt` (selecting from Site) limited by the filters."""
    if filters.q:
        stmt = stmt.where(or_(Site.code.icontains(filters.q, autoescape=True),
                              Site.name.icontains(filters.q, autoescape=True)))
    for name in ("kind", "province", "commune"):
        if getattr(filters, name):
            stmt = stmt.where(getattr(Site, name) == getattr(filters, name))
    return stmt


def site_page(base: Select, filters: SiteFilters, page: int, per_page: int = PER_PAGE):
    """One page (Flask-SQLAlchemy Pagination) of the sites of `base` (a select of Site, already scoped
    to what the user may see): schools first, then by code. Two queries: the rows and the count."""
    stmt = filtered_sites(base, filters).order_by(None).order_by(Site.kind.desc(), Site.code)
    return db.paginate(stmt, page=max(page, 1), per_page=min(max(per_page, 1), MAX_PER_PAGE),
                       error_out=False, count=True)


def provinces() -> list[str]:
    """The provinces sites are in now (a few dozen at most), for a filter's choices."""
    return list(db.session.scalars(select(Site.province).where(Site.province.is_not(None))
                                   .distinct().order_by(Site.province)))
