"""Before and after: the photos of a site's baseline beside those of its final audit.

The rounds are chosen as the comparisons choose them (the latest submitted consultant audit of
each phase), so the photo pairs belong to the same two audits as the figures.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from fivs.audits.models import Audit
from fivs.checklists.models import Item
from fivs.comparisons.queries import audits
from fivs.comparisons.services import pick_round
from fivs.photos.models import Photo
from fivs.photos.queries import item_photos


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
