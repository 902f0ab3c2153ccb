"""Read-side queries of rater agreement: each runs ONE SQL statement and returns plain rows, so the
site and programme figures take two statements however many sites there are."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from fivs.audits.models import CALIBRATION, CONSULTANT_AUDIT, SELF_ASSESSMENT, Answer, Audit
from fivs.audits.queries import counted, without_hidden
from fivs.auth.models import User
from fivs.checklists.models import Item, Zone
from fivs.comparisons.queries import SITE_ROW_COLUMNS, SiteRow
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.sites.queries import filter_sites


@dataclass(frozen=True)
class RatedAudit:
    """A submitted audit that can be one side of a pair, with who scored it and its site."""

    id: int
    uuid: str
    site: SiteRow
    phase: str
    kind: str  # consultant | self | calibration
    audit_date: date
    submitted_at: datetime | None
    auditor_id: int
    auditor: str  # full name, else username
    calibrates_id: int | None


def rated_audits(site_ids: Collection[int] | None = None, kind: str = "all", *,
                 active_only: bool = True, hidden: Collection[int] = ()) -> list[RatedAudit]:
    """Every submitted audit of every kind of the chosen sites that counts (not voided) but the `hidden`
    ones (the viewer's blindness: fivs.audits.queries.hidden_audits), schools first, then by code."""
    stmt = (select(Audit.id, Audit.uuid, *SITE_ROW_COLUMNS, Audit.phase, Audit.kind, Audit.audit_date,
                   Audit.submitted_at, Audit.auditor_id,
                   User.full_name, User.username, Audit.calibrates_id)
            .join(Site, Site.id == Audit.site_id)
            .join(User, User.id == Audit.auditor_id)
            .where(Audit.status == "submitted",
                   Audit.kind.in_((CONSULTANT_AUDIT, SELF_ASSESSMENT, CALIBRATION)))
            .order_by(Site.kind.desc(), Site.code, Audit.audit_date, Audit.id))
    stmt = without_hidden(filter_sites(counted(stmt), site_ids, kind, active_only=active_only), hidden)
    return [RatedAudit(id=r[0], uuid=str(r[1]), site=SiteRow(*r[2:10]), phase=r[10], kind=r[11],
                       audit_date=r[12], submitted_at=r[13], auditor_id=r[14], auditor=r[15] or r[16],
                       calibrates_id=r[17])
            for r in db.session.execute(stmt)]


def scored_places(audit_ids: Collection[int]) -> list[tuple[int, str, str, str, str, int]]:
    """(audit_id, zone code, item code, room, S, score) of the scored answers (not N/A, not blank)."""
    if not audit_ids:
        return []
    stmt = (select(Answer.audit_id, Zone.code, Item.code, Answer.room, Item.s, Answer.score)
            .join(Item, Item.id == Answer.item_id).join(Zone, Zone.id == Item.zone_id)
            .where(Answer.audit_id.in_(sorted(audit_ids)), Answer.score.is_not(None),
                   Answer.na.is_(False)))
    return db.session.connection().execute(stmt).all()
