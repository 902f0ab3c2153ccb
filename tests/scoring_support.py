"""Helpers for the pure scoring and statistics tests: answers and site pairs built by hand."""
from __future__ import annotations

import ast
from pathlib import Path

from fivs.scoring import S_KEYS, ScoredAnswer, SitePair

SEIRI, SEITON, SEISO, SEIKETSU, SHITSUKE = S_KEYS

# (percentage, band, Vietnamese name, English name): the band edges and their names
BANDS = [
    (0.0, "poor", "Kém", "Poor"),
    (59.999, "poor", "Kém", "Poor"),
    (60.0, "fair", "Trung bình", "Fair"),
    (79.9, "fair", "Trung bình", "Fair"),
    (79.99999, "fair", "Trung bình", "Fair"),
    (80.0, "good", "Tốt", "Good"),
    (89.99, "good", "Tốt", "Good"),
    (90.0, "excellent", "Xuất sắc", "Excellent"),
    (100.0, "excellent", "Xuất sắc", "Excellent"),
    (None, None, None, None),
]


def ans(item, s, score, zone="Z", inst="", na=False):
    return ScoredAnswer(item_code=item, s=s, zone_code=zone, room=inst, score=score, na=na)


def one_per_s(scores, zone="Z"):
    """One item per S, codes S1..S5, with the given scores (dict or single int)."""
    if not isinstance(scores, dict):
        scores = {s: scores for s in S_KEYS}
    return [ans(f"S{i + 1}", s, scores[s], zone=zone) for i, s in enumerate(S_KEYS) if s in scores]


def build_pairs():
    """Four sites, one item per S; site D has an extra baseline-only seiri item
    and its final shitsuke item is N/A."""
    site_a = SitePair.from_answers("A", one_per_s(2), one_per_s(3))  # +25 everywhere
    site_b = SitePair.from_answers("B", one_per_s(1), one_per_s(1))  # unchanged
    site_c = SitePair.from_answers("C", one_per_s(3), one_per_s(2))  # -25 everywhere
    d_base = one_per_s(2) + [ans("X", SEIRI, 0)]
    d_final = one_per_s(4)[:4] + [ans("S5", SHITSUKE, None, na=True)]
    site_d = SitePair.from_answers("D", d_base, d_final)
    return [site_a, site_b, site_c, site_d]


def import_roots(module) -> set[str]:
    """The top-level packages a module's source imports (relative imports refused)."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            roots.add(node.module.split(".")[0])
    return roots
