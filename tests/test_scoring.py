"""Tests for fivs.scoring (pure-Python scoring rules and the programme's rows).

Hand-computed cases for the scoring rules; the statistics are in tests/test_stats.py.
"""
from __future__ import annotations

import sys

import pytest

from fivs import scoring
from fivs.scoring import (
    S_KEYS,
    AuditScores,
    Change,
    MetricRows,
    ProgrammeRows,
    ScoredAnswer,
    audit_scores,
    band,
    compare,
    format_pct,
    programme_rows,
)
from tests.scoring_support import (BANDS, SEIKETSU, SEIRI, SEISO, SEITON, SHITSUKE, ans, build_pairs,
                                    import_roots, one_per_s)


# ---------------------------------------------------------------- module hygiene
def test_module_imports_only_stdlib():
    roots = import_roots(scoring)
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


def test_s_keys_and_the_method_in_the_docstring():
    assert S_KEYS == ("seiri", "seiton", "seiso", "seiketsu", "shitsuke")
    assert "N/A" in scoring.__doc__ and "matched" in scoring.__doc__


@pytest.mark.parametrize("kwargs", [{"s": "seisou"}, {"score": 5}, {"score": -1}])
def test_invalid_answer_rejected(kwargs):
    base = {"item_code": "X", "s": SEIRI, "zone_code": "Z", "room": "", "score": 2}
    with pytest.raises(ValueError):
        ScoredAnswer(**{**base, **kwargs})


# ---------------------------------------------------------------- one audit
def test_na_left_out():
    answers = [
        ans("A1", SEIRI, 4),
        ans("A2", SEIRI, 2),
        ans("A3", SEIRI, None, na=True),
        ans("A4", SEIRI, 0, na=True),  # a score recorded on an N/A answer is ignored
        *one_per_s(4)[1:],
    ]
    r = audit_scores(answers)
    assert r.by_s[SEIRI] == pytest.approx(75.0)  # 6 / (4 * 2)
    assert all(r.by_s[s] == 100.0 for s in S_KEYS[1:])
    assert r.overall == pytest.approx((75 + 400) / 5)
    assert r.scored == 6 and r.na == 2
    assert r.incomplete_s == ()


def test_unscored_left_out():
    answers = [ans("A1", SEIRI, 3), ans("A2", SEIRI, None), *one_per_s(2)[1:]]
    r = audit_scores(answers)
    assert r.by_s[SEIRI] == pytest.approx(75.0)
    assert r.by_s[SEITON] == pytest.approx(50.0)
    assert r.scored == 5 and r.na == 0
    assert r.overall == pytest.approx((75 + 4 * 50) / 5)


def test_repeated_zone_instances_pooled_and_zone_percentages():
    answers = [
        # classroom, two instances
        ans("C1", SEISO, 4, zone="classroom", inst="1"),
        ans("C2", SEIRI, 3, zone="classroom", inst="1"),
        ans("C1", SEISO, 1, zone="classroom", inst="2"),
        ans("C2", SEIRI, None, zone="classroom", inst="2", na=True),
        # corridor, non-repeating
        ans("K1", SEISO, 2, zone="corridor"),
        ans("K2", SEITON, 4, zone="corridor"),
        ans("K3", SEIKETSU, 0, zone="corridor"),
        ans("K4", SHITSUKE, 2, zone="corridor"),
        # an all-N/A zone still appears, with None
        ans("T1", SEIRI, None, zone="toilet", na=True),
    ]
    r = audit_scores(answers)
    assert r.by_s[SEISO] == pytest.approx(7 / 12 * 100)  # 4 + 1 + 2 over 3 answers
    assert r.by_s[SEIRI] == pytest.approx(75.0)
    assert r.by_s[SEITON] == 100.0 and r.by_s[SEIKETSU] == 0.0 and r.by_s[SHITSUKE] == 50.0
    assert r.by_zone == {
        "classroom": pytest.approx(8 / 12 * 100),  # 4 + 3 + 1 over 3 scored answers
        "corridor": pytest.approx(8 / 16 * 100),
        "toilet": None,
    }
    assert list(r.by_zone) == ["classroom", "corridor", "toilet"]
    assert r.overall == pytest.approx((7 / 12 * 100 + 75 + 100 + 0 + 50) / 5)
    assert r.scored == 7 and r.na == 2


def test_full_precision_kept():
    r = audit_scores([ans("A1", SEIRI, 1), ans("A2", SEIRI, 1), ans("A3", SEIRI, 0), *one_per_s(4)[1:]])
    assert r.by_s[SEIRI] == 2 / 12 * 100  # not rounded to 16.7
    assert format_pct(r.by_s[SEIRI], "en") == "16.7%"


def test_s_without_scored_item_flags_and_no_overall():
    answers = [*one_per_s(3)[:4], ans("E1", SHITSUKE, None, na=True), ans("E2", SHITSUKE, None)]
    r = audit_scores(answers)
    assert r.by_s[SHITSUKE] is None
    assert set(r.by_s) == set(S_KEYS)
    assert r.overall is None
    assert r.incomplete_s == (SHITSUKE,)
    assert r.by_s[SEIRI] == 75.0


def test_empty_audit():
    r = audit_scores([])
    assert r == AuditScores(
        by_s={s: None for s in S_KEYS}, by_zone={}, overall=None, incomplete_s=S_KEYS, scored=0, na=0
    )


# ---------------------------------------------------------------- bands and formatting
@pytest.mark.parametrize("pct, expected", [(pct, key) for pct, key, _vi, _en in BANDS])
def test_bands(pct, expected):
    assert band(pct) == expected


@pytest.mark.parametrize(
    "pct, vi, en",
    [
        (62.5, "62,5 %", "62.5%"),
        (62.25, "62,3 %", "62.3%"),  # half up on the decimal value
        (2 / 3 * 100, "66,7 %", "66.7%"),
        (100.0, "100,0 %", "100.0%"),
        (0, "0,0 %", "0.0%"),
        (-0.04, "0,0 %", "0.0%"),  # never "-0.0"
        (-12.35, "-12,4 %", "-12.4%"),
        (None, "—", "—"),
    ],
)
def test_format_pct(pct, vi, en):
    assert format_pct(pct) == vi
    assert format_pct(pct, "vi") == vi
    assert format_pct(pct, "en") == en


# ---------------------------------------------------------------- comparability guard
def test_compare_matched_items_only():
    baseline = [
        ans("A1", SEIRI, 2), ans("A2", SEIRI, 4), ans("A3", SEIRI, None, na=True),
        ans("B1", SEITON, 1), ans("B2", SEITON, None),
        ans("C1", SEISO, 3, zone="room", inst="1"), ans("C1", SEISO, None, zone="room", inst="2", na=True),
        ans("D1", SEIKETSU, 2),
        ans("E1", SHITSUKE, 4), ans("E2", SHITSUKE, 0),
    ]
    final = [
        ans("A1", SEIRI, 4), ans("A2", SEIRI, 4), ans("A3", SEIRI, 3),
        ans("B1", SEITON, 3), ans("B2", SEITON, 4),
        ans("C1", SEISO, None, zone="room", inst="1", na=True), ans("C1", SEISO, 4, zone="room", inst="2"),
        ans("D1", SEIKETSU, 3), ans("D9", SEIKETSU, 4),
        ans("E1", SHITSUKE, 2),
    ]
    c = compare(baseline, final)
    assert isinstance(c, Change)
    assert c.excluded_items == ("A3", "B2", "D9", "E2")
    assert c.baseline_matched == pytest.approx(
        {SEIRI: 75.0, SEITON: 25.0, SEISO: 75.0, SEIKETSU: 50.0, SHITSUKE: 100.0}
    )
    assert c.final_matched == pytest.approx(
        {SEIRI: 100.0, SEITON: 75.0, SEISO: 100.0, SEIKETSU: 75.0, SHITSUKE: 50.0}
    )
    assert c.by_s == pytest.approx({SEIRI: 25.0, SEITON: 50.0, SEISO: 25.0, SEIKETSU: 25.0, SHITSUKE: -50.0})
    assert c.overall == pytest.approx(15.0)
    # the unmatched view differs: all-items baseline seiri stays 75, final seiri is 11/12
    assert audit_scores(final).by_s[SEIRI] == pytest.approx(11 / 12 * 100)


def test_compare_pools_all_scored_answers_of_matched_items():
    baseline = [ans("C1", SEISO, 4, inst="1"), ans("C1", SEISO, 2, inst="2"), *one_per_s(2)]
    final = [ans("C1", SEISO, 4, inst="1"), ans("C1", SEISO, None, inst="2"), *one_per_s(2)]
    c = compare(baseline, final)
    assert c.baseline_matched[SEISO] == pytest.approx((4 + 2 + 2) / 12 * 100)
    assert c.final_matched[SEISO] == pytest.approx((4 + 2) / 8 * 100)
    assert c.excluded_items == ()


def test_compare_s_without_matched_item():
    baseline = one_per_s(2)
    final = [a for a in one_per_s(3) if a.s != SEITON] + [ans("S2", SEITON, None, na=True)]
    c = compare(baseline, final)
    assert c.by_s[SEITON] is None
    assert c.baseline_matched[SEITON] is None and c.final_matched[SEITON] is None
    assert c.overall is None
    assert c.by_s[SEIRI] == pytest.approx(25.0)
    assert c.excluded_items == ("S2",)


# ---------------------------------------------------------------- the programme's rows
def test_site_pair_from_answers():
    d = build_pairs()[3]
    assert d.baseline.by_s[SEIRI] == pytest.approx(25.0)  # (2 + 0) / 8
    assert d.change.by_s[SEIRI] == pytest.approx(50.0)  # matched S1 only: 100 - 50
    assert d.change.by_s[SHITSUKE] is None and d.change.overall is None
    assert d.change.excluded_items == ("S5", "X")
    assert d.final.overall is None and d.final.incomplete_s == (SHITSUKE,)


def test_programme_rows_keep_per_metric_the_sites_whose_change_is_available():
    rows = programme_rows(build_pairs())
    assert isinstance(rows, ProgrammeRows) and list(rows.by_s) == list(S_KEYS)
    seiri = rows.by_s[SEIRI]  # all four sites; D's baseline over all items (25), change over matched (50)
    assert seiri == MetricRows(baselines=(50.0, 25.0, 75.0, 25.0), finals=(75.0, 25.0, 50.0, 100.0),
                               changes=(25.0, 0.0, -25.0, 50.0))
    shitsuke = rows.by_s[SHITSUKE]  # D has no matched shitsuke item: left out
    assert shitsuke.changes == (25.0, 0.0, -25.0) and shitsuke.baselines == (50.0, 25.0, 75.0)
    assert rows.overall.changes == (25.0, 0.0, -25.0) and rows.overall.finals == (75.0, 25.0, 50.0)
    empty = programme_rows([])
    assert empty.overall == MetricRows((), (), ()) and all(m == empty.overall for m in empty.by_s.values())
