"""A checklist template as plain, immutable data, read once per template version and process.

Saving an answer needs, for every item code of the audit's checklist: its id, S, zone and
whether it may be N/A. Loading 80 items and their zones as ORM objects on every save costs
more than the rest of the save; a template version that an audit uses never changes (the
loader refuses), so the app keeps one `ChecklistSpec` per template id and content hash (a
template reloaded before any audit used it has a new hash, and is read again).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.extensions import db
from fivs.scoring import ScoredAnswer

_EXTENSION = "fivs_checklist_specs"


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
    # The scoring input of each answer of a zone audited once, made once (values are immutable).
    _scored: dict[tuple, ScoredAnswer] = field(default_factory=dict, compare=False, repr=False)

    def scored_answer(self, item_id: int, room: str, score: int | None, na: bool) -> ScoredAnswer:
        """One answer as fivs.scoring reads it. Those of the zones audited once (a handful of values
        per item) are shared, so scoring a saved audit builds nothing per answer."""
        if room:
            return self._make_scored(item_id, room, score, na)
        key = (item_id, score, na)
        answer = self._scored.get(key)
        if answer is None:  # two threads may both make it: the same value, the last one stays
            answer = self._scored[key] = self._make_scored(item_id, "", score, na)
        return answer

    def _make_scored(self, item_id: int, room: str, score: int | None, na: bool) -> ScoredAnswer:
        item = self.by_id[item_id]
        return ScoredAnswer(item_code=item.code, s=item.s, zone_code=item.zone_code, room=room,
                            score=score, na=bool(na))


def checklist_spec(template: ChecklistTemplate) -> ChecklistSpec:
    """The spec of one template version: no query when the app has it, two when not."""
    cache: dict = current_app.extensions.setdefault(_EXTENSION, {})
    key = (template.id, template.content_hash)
    spec = cache.get(key)
    if spec is None:  # two threads may both read it: the same data, the last one stays
        spec = cache[key] = _read(template)
    return spec


def _read(template: ChecklistTemplate) -> ChecklistSpec:
    zones = {z.id: z for z in db.session.execute(
        select(Zone.id, Zone.code, Zone.repeats).where(Zone.template_id == template.id))}
    items = tuple(
        ItemSpec(id=r.id, code=r.code, s=r.s, position=r.position, zone_id=r.zone_id,
                 zone_code=zones[r.zone_id].code, repeats=bool(zones[r.zone_id].repeats),
                 na_allowed=bool(r.na_allowed))
        for r in db.session.execute(
            select(Item.id, Item.code, Item.s, Item.position, Item.zone_id, Item.na_allowed)
            .where(Item.template_id == template.id).order_by(Item.position, Item.id)))
    zone_order = {code: n for n, code in enumerate(dict.fromkeys(i.zone_code for i in items))}
    return ChecklistSpec(template_id=template.id, key=template.key, version=template.version,
                         content_hash=template.content_hash, items=items,
                         by_code={i.code: i for i in items}, by_id={i.id: i for i in items},
                         zone_codes={zid: z.code for zid, z in zones.items()}, zone_order=zone_order)
