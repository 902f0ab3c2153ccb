"""A checklist template as plain, immutable data, read once per template version and process.

Saving an answer needs, for every item code of the audit's checklist: its id, S, zone and
whether it may be N/A. Loading 80 items and their zones as ORM objects on every save costs
more than the rest of the save; a template version that an audit uses never changes (the
loader refuses), so the app keeps one `ChecklistSpec` per template id and content hash.
The content hash is read with the audit's template on every use, so a template reloaded
before any audit used it is read again; the cache lives in the app (one per database).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, has_app_context
from sqlalchemy import bindparam, select

from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.extensions import db
from fivs.scoring import S_KEYS

_EXTENSION = "fivs_checklist_specs"
_G_MEMO = "_fivs_checklist_specs"
_G_HASHES = "_fivs_template_hashes"


@dataclass(frozen=True, slots=True)
class ItemSpec:
    id: int
    code: str
    s: str
    position: int
    zone_id: int
    zone_code: str
    repeats: bool
    na_allowed: bool


@dataclass(frozen=True)
class ChecklistSpec:
    template_id: int
    key: str
    version: int
    content_hash: str
    items: tuple[ItemSpec, ...]  # checklist order
    by_code: dict[str, ItemSpec]
    by_id: dict[int, ItemSpec]
    zone_codes: dict[int, str]   # zone id -> code
    zone_order: dict[str, int]   # zone code -> its place in checklist order (of its first item)
    # For summing an audit's answers: the S places (S_KEYS order), then the zones (checklist
    # order), and each item's two places among them (its S, its zone).
    sum_keys: tuple[tuple[str, str], ...]  # ("s", key) ..., ("zone", code) ...
    sum_slots: dict[int, tuple[int, int]]  # item id -> (place of its S, place of its zone)


def checklist_spec(template_id: int) -> ChecklistSpec:
    """The spec of one template version: no query when this request (app context) has used it,
    one small query when the app has it, three when not."""
    memo = g.setdefault(_G_MEMO, {})
    if template_id not in memo:
        memo[template_id] = _spec(template_id)
    return memo[template_id]


def note_content_hash(template_id: int, content_hash: str) -> None:
    """The caller read the template's content hash with something else (the audit): this
    request need not read it again."""
    g.setdefault(_G_HASHES, {})[template_id] = content_hash


def forget_specs() -> None:
    """A template was (re)loaded: this app context reads the content hashes again."""
    if has_app_context():
        g.pop(_G_MEMO, None)
        g.pop(_G_HASHES, None)


def _spec(template_id: int) -> ChecklistSpec:
    cache: dict = current_app.extensions.setdefault(_EXTENSION, {})
    known = g.get(_G_HASHES, {}).get(template_id)
    if (template_id, known) in cache:
        return cache[(template_id, known)]
    row = db.session.execute(_TEMPLATE_HASH, {"template_id": template_id}).one()
    spec = cache.get((template_id, row.content_hash))
    if spec is None:  # two threads may both read it: the same data, the last one stays
        spec = cache[(template_id, row.content_hash)] = _read(template_id, row.key, row.version,
                                                              row.content_hash)
    return spec


_TEMPLATE_HASH = (select(ChecklistTemplate.key, ChecklistTemplate.version, ChecklistTemplate.content_hash)
                  .where(ChecklistTemplate.id == bindparam("template_id")))


def _read(template_id: int, key: str, version: int, content_hash: str) -> ChecklistSpec:
    zones = {z.id: z for z in db.session.execute(
        select(Zone.id, Zone.code, Zone.repeats).where(Zone.template_id == template_id))}
    items = tuple(
        ItemSpec(id=r.id, code=r.code, s=r.s, position=r.position, zone_id=r.zone_id,
                 zone_code=zones[r.zone_id].code, repeats=bool(zones[r.zone_id].repeats),
                 na_allowed=bool(r.na_allowed))
        for r in db.session.execute(
            select(Item.id, Item.code, Item.s, Item.position, Item.zone_id, Item.na_allowed)
            .where(Item.template_id == template_id).order_by(Item.position, Item.id)))
    zone_order = {code: n for n, code in enumerate(dict.fromkeys(i.zone_code for i in items))}
    return ChecklistSpec(template_id=template_id, key=key, version=version, content_hash=content_hash,
                         items=items, by_code={i.code: i for i in items}, by_id={i.id: i for i in items},
                         zone_codes={zid: z.code for zid, z in zones.items()}, zone_order=zone_order,
                         sum_keys=(*(("s", k) for k in S_KEYS), *(("zone", z) for z in zone_order)),
                         sum_slots={i.id: (S_KEYS.index(i.s), len(S_KEYS) + zone_order[i.zone_code])
                                    for i in items})
