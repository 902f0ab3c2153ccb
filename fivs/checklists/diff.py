"""What changes between two versions of a checklist: items added, removed, reworded, moved
between zones or S, and changes to the title, the scale and the zones. Pure: ParsedTemplate in,
plain data out. Items and zones are matched by code, as comparisons across versions match them.
"""
from __future__ import annotations

from dataclasses import dataclass

from fivs.checklists.content import LANGS, ParsedTemplate

TEXT_FIELDS = tuple(f"{part}_{lang}" for part in ("text", "guidance") for lang in LANGS)


@dataclass(frozen=True)
class ItemChange:
    code: str
    old: dict | None  # the item with its zone's code (ParsedTemplate.items), None when added
    new: dict | None  # None when removed
    fields: tuple[str, ...] = ()  # what changed: text_vi, text_en, guidance_vi, guidance_en, zone, s, na_allowed

    @property
    def reworded(self) -> bool:
        return any(f in TEXT_FIELDS for f in self.fields)

    @property
    def moved(self) -> bool:
        return "zone" in self.fields or "s" in self.fields


@dataclass(frozen=True)
class ZoneChange:
    code: str
    old: dict | None
    new: dict | None
    fields: tuple[str, ...] = ()  # name_vi, name_en, repeats, room_examples, items_order


@dataclass(frozen=True)
class Diff:
    title: tuple[str, ...]  # title_vi / title_en when changed
    scale: tuple[int, ...]  # levels whose anchor text changed
    zones: tuple[ZoneChange, ...]  # added, removed or changed zones, in the new order then the removed
    items: tuple[ItemChange, ...]  # added, removed or changed items
    zones_reordered: bool = False

    @property
    def added(self) -> list[ItemChange]:
        return [c for c in self.items if c.old is None]

    @property
    def removed(self) -> list[ItemChange]:
        return [c for c in self.items if c.new is None]

    @property
    def reworded(self) -> list[ItemChange]:
        return [c for c in self.items if c.old and c.new and c.reworded]

    @property
    def moved(self) -> list[ItemChange]:
        return [c for c in self.items if c.old and c.new and c.moved]

    @property
    def na_changed(self) -> list[ItemChange]:
        return [c for c in self.items if "na_allowed" in c.fields]

    @property
    def empty(self) -> bool:
        return not (self.title or self.scale or self.zones or self.items or self.zones_reordered)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "reworded": len(self.reworded),
                "moved": len(self.moved), "na_changed": len(self.na_changed), "zones": len(self.zones)}


def _flat_item(item: dict) -> dict:
    return {"zone": item["zone"], "s": item["s"], "na_allowed": item["na_allowed"],
            **{f"{part}_{lang}": item[part][lang] for part in ("text", "guidance") for lang in LANGS}}


def _flat_zone(zone: dict) -> dict:
    return {"name_vi": zone["name"]["vi"], "name_en": zone["name"]["en"], "repeats": zone["repeats"],
            "room_examples": zone.get("room_examples", "")}


def _items_order(old: dict, new: dict) -> tuple[str, ...]:
    kept = {i["code"] for i in old["items"]} & {i["code"] for i in new["items"]}
    same = [i["code"] for i in old["items"] if i["code"] in kept] == [i["code"] for i in new["items"] if i["code"] in kept]
    return () if same else ("items_order",)


def _changes(old: dict[str, dict], new: dict[str, dict], flat, fields: tuple[str, ...], make, extra=None) -> list:
    """Entries matched by code: added (in `new` order), changed, then removed (in `old` order)."""
    out = []
    for code, after in new.items():
        before = old.get(code)
        changed = () if before is None else tuple(f for f in fields if flat(before)[f] != flat(after)[f])
        changed += extra(before, after) if before is not None and extra else ()
        if before is None or changed:
            out.append(make(code, before, after, changed))
    return out + [make(code, before, None, ()) for code, before in old.items() if code not in new]


def diff(old: ParsedTemplate, new: ParsedTemplate) -> Diff:
    """The changes from `old` to `new`."""
    title = tuple(f"title_{lang}" for lang in LANGS if old.title[lang] != new.title[lang])
    old_scale = {s["level"]: (s["anchor_vi"], s["anchor_en"]) for s in old.scale}
    scale = tuple(s["level"] for s in new.scale if old_scale.get(s["level"]) != (s["anchor_vi"], s["anchor_en"]))
    items = _changes({i["code"]: i for i in old.items}, {i["code"]: i for i in new.items}, _flat_item,
                     ("zone", "s", *TEXT_FIELDS, "na_allowed"), ItemChange)
    old_zones, new_zones = {z["code"]: z for z in old.zones}, {z["code"]: z for z in new.zones}
    zones = _changes(old_zones, new_zones, _flat_zone, ("name_vi", "name_en", "repeats", "room_examples"),
                     ZoneChange, _items_order)
    reordered = [c for c in old_zones if c in new_zones] != [c for c in new_zones if c in old_zones]
    return Diff(title=title, scale=scale, zones=tuple(zones), items=tuple(items), zones_reordered=reordered)
