"""Reading photos for pages, the API and reports: grouped per answer or per action, one query each."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select

from fivs.actions.models import CorrectiveAction
from fivs.audits.models import Audit
from fivs.checklists.models import Item, Zone
from fivs.extensions import db
from fivs.photos.models import Photo


def photos_for_audit(audit: Audit) -> dict[tuple[int | None, str], list[Photo]]:
    """Every photo of the audit in ONE query: {(item_id, room label): [photos, oldest first]};
    photos of the audit as a whole are under (None, "")."""
    photos = db.session.scalars(select(Photo).where(Photo.audit_id == audit.id)
                                .order_by(Photo.created_at, Photo.id))
    grouped: dict[tuple[int | None, str], list[Photo]] = defaultdict(list)
    for photo in photos:
        grouped[(photo.item_id, photo.room)].append(photo)
    return dict(grouped)


def photos_of_actions(action_ids) -> dict[int, list[Photo]]:
    """{action id: ["after" photos, oldest first]} of several actions in one query."""
    grouped: dict[int, list[Photo]] = defaultdict(list)
    if action_ids:
        for photo in db.session.scalars(select(Photo).where(Photo.action_id.in_(set(action_ids)))
                                        .order_by(Photo.created_at, Photo.id)):
            grouped[photo.action_id].append(photo)
    return dict(grouped)


def finding_photos(action: CorrectiveAction) -> list[Photo]:
    """The photos of the answer an action was raised from (its "before"); [] without one."""
    if action.audit_id is None or action.item_id is None:
        return []
    return list(db.session.scalars(select(Photo).where(
        Photo.audit_id == action.audit_id, Photo.item_id == action.item_id,
        Photo.room == action.room).order_by(Photo.created_at, Photo.id)))


def item_photos(audit_id: int) -> dict[str, list[Photo]]:
    """{item code: [photos]} of one audit's answers, in checklist order (one query)."""
    return audits_item_photos([audit_id]).get(audit_id, {})


def audits_item_photos(audit_ids: Collection[int]) -> dict[int, dict[str, list[Photo]]]:
    """{audit id: {item code: [photos]}} of some audits' answers, in checklist order (one query)."""
    rows = db.session.execute(
        select(Photo, Item).join(Item, Photo.item_id == Item.id).join(Zone, Item.zone_id == Zone.id)
        .where(Photo.audit_id.in_(sorted(audit_ids)))
        .order_by(Zone.position, Item.position, Photo.room, Photo.created_at, Photo.id))
    grouped: dict[int, dict[str, list[Photo]]] = defaultdict(lambda: defaultdict(list))
    for photo, item in rows:
        grouped[photo.audit_id][item.code].append(photo)
    return {audit_id: dict(by_code) for audit_id, by_code in grouped.items()}
