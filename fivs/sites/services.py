from __future__ import annotations

from sqlalchemy import select

from fivs.events.services import log_event
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.sites.pilot import pilot_sites
from fivs.text import clean_text


def seed_pilot_sites() -> dict[str, int]:
    """Create missing pilot sites; never overwrite what admins edited. Returns counts."""
    existing = set(db.session.scalars(select(Site.code)))
    created = 0
    for data in pilot_sites():
        if data["code"] not in existing:
            db.session.add(Site(active=True, **data))
            created += 1
    db.session.flush()
    return {"created": created, "kept": len(existing)}


SITE_FIELDS = ("name", "kind", "province", "commune", "former_province", "former_district", "address",
               "head_name", "active")


def update_site(site: Site, data: dict, user) -> dict:
    """Apply edited fields (NFC, trimmed); returns {field: (old, new)} of what changed."""
    changes = {}
    for field in SITE_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if isinstance(value, str):
            value = clean_text(value, multiline=False) or (None if field not in ("name", "kind") else "")
        if getattr(site, field) != value:
            changes[field] = (getattr(site, field), value)
            setattr(site, field, value)
    if changes:
        log_event("site.update", user=user, site_id=site.id, target=site.code,
                  old={k: v[0] for k, v in changes.items()}, new={k: v[1] for k, v in changes.items()})
    db.session.flush()
    return changes


def create_site(data: dict, user) -> Site:
    site = Site(code=clean_text(data["code"], multiline=False).upper(), name="", kind="school")
    db.session.add(site)
    db.session.flush()  # the id, for the events below
    update_site(site, data, user)
    log_event("site.create", user=user, site_id=site.id, target=site.code)
    return site
