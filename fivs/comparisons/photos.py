"""Before and after: the photos of a site's baseline beside those of its final audit.

The rounds are chosen as the comparisons choose them (the latest submitted consultant audit of
each phase), so the photo pairs belong to the same two audits as the figures. `highlights` picks
the items to show with their photos and notes: the most improved, the weakest, and those
photographed in both rounds that changed most.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from fivs import scoring
from fivs.audits.models import Audit
from fivs.checklists.models import Item
from fivs.comparisons.queries import ItemRow, audits
from fivs.comparisons.services import SiteComparison, pick_round, scored_answers_by_audit
from fivs.photos.models import Photo
from fivs.photos.queries import audits_item_photos, item_photos


class BeforeAfter(NamedTuple):
    item: Item  # the final audit's item
    baseline: list[Photo]
    final: list[Photo]


def _rounds(site_id: int, hidden: Collection[int]) -> dict[str, int | None]:
    """Audit ids of the site's baseline and final, chosen as the comparisons choose them (from the
    audits the viewer may see: `hidden`, fivs.audits.queries.hidden_audits)."""
    rows = audits({site_id}, active_only=False, consultant_only=True, hidden=hidden)
    return {phase: getattr(pick_round(rows, phase), "id", None) for phase in ("baseline", "final")}


def before_after_pairs(site, hidden: Collection[int] = ()) -> list[BeforeAfter]:
    """Items photographed in both the site's baseline and its final audit (latest submitted
    consultant audits), in checklist order, matched by item code."""
    rounds = _rounds(site.id, hidden)
    if rounds["baseline"] is None or rounds["final"] is None:
        return []
    baseline, final = item_photos(rounds["baseline"]), item_photos(rounds["final"])
    return [BeforeAfter(photos[0].item, baseline[code], photos)
            for code, photos in final.items() if code in baseline]


def baseline_photos_for(audit: Audit, hidden: Collection[int] = ()) -> dict[str, list[Photo]]:
    """{item code: [photos]} of the site's latest submitted baseline consultant audit: the
    reference to re-shoot when scoring a later audit ({} when there is none)."""
    baseline_id = _rounds(audit.site_id, hidden)["baseline"]
    if baseline_id is None or baseline_id == audit.id:
        return {}
    return item_photos(baseline_id)


# ---------------------------------------------------------------- items to show with their photos
@dataclass(frozen=True)
class Highlight:
    """One item of a site's comparison with its figures, the final (or only) audit's notes and
    both audits' photos: what the comparison page and the site head's home show."""

    item: ItemRow
    baseline_pct: float | None  # the item's percentage, pooled over its rooms (fivs.scoring)
    final_pct: float | None
    notes: tuple[tuple[str, str], ...]  # (room, note) of the latest audit
    baseline: list[Photo] = field(default_factory=list)
    final: list[Photo] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        if self.baseline_pct is None or self.final_pct is None:
            return None
        return self.final_pct - self.baseline_pct


@dataclass(frozen=True)
class Highlights:
    improved: list[Highlight]  # matched items that rose most (change > 0), largest first
    weakest: list[Highlight]  # the weakest items of the latest audit (SiteComparison.weakest)
    changed_most: list[Highlight]  # items photographed in both rounds, by the size of their change


def _item_pcts(audit_id: int | None, rows: list[tuple], items: dict[int, ItemRow]
               ) -> dict[str, tuple[ItemRow, float | None]]:
    """{item code: (item, percentage)} of one audit, each item's answers pooled over its rooms (items
    are matched by code across rounds, as the comparison matches them)."""
    if audit_id is None:
        return {}
    per_item: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        if row[0] == audit_id:
            per_item[row[1]].append(row)
    return {items[item_id].code: (items[item_id], scoring.audit_scores(
                scored_answers_by_audit(item_rows, items)[audit_id]).by_s[items[item_id].s])
            for item_id, item_rows in per_item.items()}


def highlights(c: SiteComparison, limit: int = 3) -> Highlights:
    """The most improved and the weakest items of a site's comparison (load_site_comparison's, whose
    answer rows it reuses), and the items photographed in both rounds that changed most, each with
    its notes and photos (one query: the photos)."""
    rounds = [r.audit.id if r else None for r in (c.baseline, c.final)]
    latest = rounds[1] or rounds[0]
    if latest is None:
        return Highlights([], [], [])
    items, rows = c.items, c.answer_rows  # read by load_site_comparison, with the notes
    before, after = _item_pcts(rounds[0], rows, items), _item_pcts(rounds[1], rows, items)
    by_audit = audits_item_photos([a for a in rounds if a])
    photos = [by_audit.get(a, {}) for a in rounds]
    notes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for audit_id, item_id, room, _score, _na, note in rows:
        if audit_id == latest and note:
            notes[items[item_id].code].append((room, note))

    def made(code: str) -> Highlight:
        item = (after.get(code) or before[code])[0]
        return Highlight(item, before.get(code, (None, None))[1], after.get(code, (None, None))[1],
                         tuple(notes[code]), photos[0].get(code, []), photos[1].get(code, []))

    excluded = set(c.change.excluded_items) if c.change else set()
    matched = [made(code) for code in after if code in before and code not in excluded
               and before[code][1] is not None and after[code][1] is not None]
    improved = sorted((h for h in matched if h.change > 0), key=lambda h: (-h.change, h.item.sort_key))
    changed = sorted((h for h in matched if h.change and h.baseline and h.final),
                     key=lambda h: (-abs(h.change), h.item.sort_key))
    latest_items = after or before
    weakest = [made(w.item.code) for w in c.weakest[:limit] if w.item.code in latest_items]
    return Highlights(improved[:limit], weakest, changed[:limit + 1])
