"""The programme's figures from SQL sums (fivs.round_sums) equal fivs.scoring's over the same answers.

The data is made to hit every rule: N/A and unscored answers, rooms of a repeating zone, items answered in
one round only, a final on another checklist version (an item moved to another S, one added, one dropped),
several baselines of one day (the later submission wins), a voided and a hidden audit (never counted), a
self-assessment (never mixed in), a round without answers, a site missing its final, an S with no scored
item. Figures are compared exactly: the same integers go into the same arithmetic.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select, update

from fivs import scoring
from fivs.audits.models import Answer, Audit
from fivs.audits import services as audit_services
from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.comparisons import queries
from fivs.comparisons.services import load_programme, pick_round, programme_stats
from fivs.extensions import db as _db
from fivs.round_sums import queries as sums
from fivs.round_sums.models import RoundSum
from fivs.sites.models import Site
from tests.factories import make_audit, make_site, make_user, template_for

ROOMS = ("Lớp 1A", "Lớp 2B", "Lớp 3C")


def fill(audit: Audit, rng: random.Random, *, na_share=0.15, blank_share=0.1, skip=frozenset(), template=None):
    """Answer every item in every room of `audit` (on `template`'s items, else its own) with random scores,
    some N/A and some blank; items whose code is in `skip` are not answered."""
    template = template or audit.template
    for zone in template.zones:
        rooms = ROOMS if zone.repeats else ("",)
        for item in zone.items:
            if item.code in skip:
                continue
            for room in rooms:
                draw = rng.random()
                na = draw < na_share  # whether the checklist allows it is not the scoring's concern
                score = None if na or draw > 1 - blank_share else rng.randint(0, 4)
                _db.session.add(Answer(audit_id=audit.id, item_id=item.id, room=room, score=score, na=na,
                                       note=""))
    _db.session.flush()


def submitted(site, consultant, phase, day, *, at=None, **kw):
    audit = make_audit(site, consultant, phase=phase, status="submitted", audit_date=day,
                       rooms=ROOMS, **kw)
    audit.submitted_at = at or datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)
    _db.session.flush()
    return audit


def second_version(kind: str = "school") -> ChecklistTemplate:
    """A copy of the current checklist as a new version: its first item moved to another S, its second
    dropped, and one item added."""
    old = template_for(kind)
    new = ChecklistTemplate(key=old.key, version=old.version + 100, site_kind=kind, title_vi=old.title_vi,
                            title_en=old.title_en, scale=old.scale, content_hash="test-v2", source_file="")
    _db.session.add(new)
    _db.session.flush()
    for zone_position, zone in enumerate(old.zones):
        copy = Zone(template_id=new.id, code=zone.code, name_vi=zone.name_vi, name_en=zone.name_en,
                    repeats=zone.repeats, position=zone_position)
        _db.session.add(copy)
        _db.session.flush()
        items = list(zone.items)
        for position, item in enumerate(items):
            if zone_position == 0 and position == 1:
                continue
            s = "shitsuke" if zone_position == 0 and position == 0 else item.s
            _db.session.add(Item(template_id=new.id, zone_id=copy.id, code=item.code, s=s, text_vi=item.text_vi,
                                 text_en=item.text_en, na_allowed=item.na_allowed, position=position))
        if zone_position == 0:
            _db.session.add(Item(template_id=new.id, zone_id=copy.id, code="NEW-S3-99", s="seiso",
                                 text_vi="Mục mới", text_en="New item", na_allowed=False, position=len(items)))
    _db.session.flush()
    _db.session.expire(new)
    return new


def scored(audit_id: int) -> list[scoring.ScoredAnswer]:
    """The audit's answers as fivs.scoring's input, read straight from the tables."""
    rows = _db.session.execute(
        select(Item.code, Item.s, Zone.code, Answer.room, Answer.score, Answer.na)
        .join(Item, Item.id == Answer.item_id).join(Zone, Zone.id == Item.zone_id)
        .where(Answer.audit_id == audit_id).order_by(Answer.id)).all()
    return [scoring.ScoredAnswer(item_code=c, s=s, zone_code=z, room=r, score=sc, na=bool(na))
            for c, s, z, r, sc, na in rows]


@pytest.fixture
def world(db):
    """Sites and audits; returns (hidden audit ids, {site code: (expected baseline id, expected final id)})."""
    rng = random.Random(24)
    consultant = make_user("consultant")
    expected = {}

    plain = make_site(code="PS01")  # rooms, N/A, blanks, items answered in one round only
    b = submitted(plain, consultant, "baseline", date(2023, 3, 1))
    fill(b, rng, skip={"CLS-S1-02", "CLS-S2-01"})
    f = submitted(plain, consultant, "final", date(2024, 4, 1))
    fill(f, rng, skip={"CLS-S3-01"})
    expected["PS01"] = (b.id, f.id)

    versions = make_site(code="PS02")  # the final on another checklist version
    b = submitted(versions, consultant, "baseline", date(2023, 3, 2))
    fill(b, rng)
    v2 = second_version()
    f = submitted(versions, consultant, "final", date(2024, 4, 2))
    f.template_id = v2.id
    _db.session.flush()
    fill(f, rng, template=v2)
    expected["PS02"] = (b.id, f.id)

    picky = make_site(code="PS03")  # several baselines; voided, hidden and self audits
    early = submitted(picky, consultant, "baseline", date(2023, 3, 3), at=datetime(2023, 3, 3, 8, tzinfo=timezone.utc))
    fill(early, rng)
    late = submitted(picky, consultant, "baseline", date(2023, 3, 3), at=datetime(2023, 3, 3, 17, tzinfo=timezone.utc))
    fill(late, rng)
    voided = submitted(picky, consultant, "baseline", date(2023, 3, 20))
    fill(voided, rng)
    voided.voided_at, voided.void_reason = datetime(2023, 4, 1, tzinfo=timezone.utc), "wrong site"
    final = submitted(picky, consultant, "final", date(2024, 4, 3))
    fill(final, rng)
    hidden = submitted(picky, consultant, "final", date(2024, 5, 3))
    fill(hidden, rng, na_share=0.9)
    principal = make_user("principal", site=picky)
    selfie = make_audit(picky, principal, phase="final", status="submitted", audit_date=date(2024, 6, 1))
    fill(selfie, rng, blank_share=0.0)
    expected["PS03"] = (late.id, final.id)

    lone = make_site(code="PS04")  # no final
    b = submitted(lone, consultant, "baseline", date(2023, 3, 4))
    fill(b, rng)
    expected["PS04"] = (b.id, None)

    empty = make_site(code="PS05")  # a final without a single answer
    b = submitted(empty, consultant, "baseline", date(2023, 3, 5))
    fill(b, rng)
    f = submitted(empty, consultant, "final", date(2024, 4, 5))
    expected["PS05"] = (b.id, f.id)

    hollow = make_site(code="PS06")  # one S with no scored item in the final: incomplete, no overall change
    b = submitted(hollow, consultant, "baseline", date(2023, 3, 6))
    fill(b, rng)
    f = submitted(hollow, consultant, "final", date(2024, 4, 6))
    fill(f, rng, skip={i.code for i in f.template.items if i.s == "seiketsu"})
    expected["PS06"] = (b.id, f.id)

    clinic = make_site("clinic", code="PC01")
    b = submitted(clinic, consultant, "baseline", date(2023, 3, 7))
    fill(b, rng, na_share=0.4)
    f = submitted(clinic, consultant, "final", date(2024, 4, 7))
    fill(f, rng, na_share=0.4)
    expected["PC01"] = (b.id, f.id)

    make_site(code="PS07")  # no audit at all
    expected["PS07"] = (None, None)
    _db.session.commit()
    return frozenset({hidden.id}), expected


@pytest.mark.parametrize("stored", [False, True], ids=["summed-now", "stored"])
@pytest.mark.parametrize("kind", ["all", "school", "clinic"])
def test_programme_sums_equal_scoring_over_the_answers(world, kind, stored):
    hidden, expected = world
    if stored:  # as the submissions store them (PS03's pair, for this viewer kept blind, is not stored)
        sums.store_round_sums()
    programme = load_programme(kind, hidden=hidden)
    assert {c.site.code for c in programme.sites} == {
        code for code in expected if kind == "all" or (code.startswith("PC") == (kind == "clinic"))}
    pairs = []
    for c in programme.sites:
        want_b, want_f = expected[c.site.code]
        assert (c.baseline.audit.id if c.baseline else None) == want_b, c.site.code
        assert (c.final.audit.id if c.final else None) == want_f, c.site.code
        for got, audit_id in ((c.baseline, want_b), (c.final, want_f)):
            if audit_id is not None:
                assert got.scores == scoring.audit_scores(scored(audit_id)), c.site.code
        if want_b and want_f:
            want = scoring.compare(scored(want_b), scored(want_f))
            assert c.change == want, c.site.code
            pairs.append(scoring.SitePair.from_answers(c.site.code, scored(want_b), scored(want_f)))
        else:
            assert c.change is None
    assert programme.result(kind).stats == programme_stats(pairs)


def test_the_data_hits_the_rules(world):
    """The cases the comparison above must cover are there (else it would prove little)."""
    hidden, expected = world
    by_code = {c.site.code: c for c in load_programme(hidden=hidden).sites}
    assert by_code["PS01"].change.excluded_items  # items answered in one round only, N/A, blanks
    assert {"NEW-S3-99"} <= set(by_code["PS02"].change.excluded_items) and by_code["PS02"].versions_differ
    assert by_code["PS05"].final.scores.scored == 0 and by_code["PS05"].change.overall is None
    assert by_code["PS06"].final.scores.incomplete_s == ("seiketsu",)
    assert by_code["PS01"].baseline.scores.na > 0
    assert load_programme(hidden=frozenset()).sites != load_programme(hidden=hidden).sites  # hiding matters


def test_sql_rounds_are_pick_rounds(world):
    """round_audits (SQL) chooses the audits pick_round (Python) chooses from the same rows."""
    hidden, _expected = world
    audits = queries.audits(consultant_only=True, hidden=hidden)
    by_site = {}
    for audit in audits:
        by_site.setdefault(audit.site_id, []).append(audit)
    rounds = sums.round_audits(hidden=hidden)
    chosen = {(site_id, phase): audit_id for site_id, phase, audit_id
              in _db.session.execute(select(rounds.c.site_id, rounds.c.phase, rounds.c.audit_id))}
    assert chosen == {(site_id, phase): pick_round(rows, phase).id for site_id, rows in by_site.items()
                      for phase in ("baseline", "final") if pick_round(rows, phase)}


def test_one_province(world):
    hidden, _expected = world
    _db.session.execute(update(Site).where(Site.code == "PS01").values(province="Lạng Sơn"))
    _db.session.commit()
    programme = load_programme(hidden=hidden, province="Lạng Sơn")
    assert [c.site.code for c in programme.sites] == ["PS01"]
    assert programme.result().sites_included == ["PS01"]



def test_stored_sums_are_read_back_and_never_for_another_version_of_an_audit(world):
    """The sums of a site's pair of rounds, once stored under the pair's audits and row versions, are read
    back instead of adding up the answers again; a row stored for another version of an audit is never read."""
    hidden, expected = world
    summed_now = load_programme(hidden=hidden).sites
    assert sums.stored_rows() == 0  # reading stores nothing
    sums.store_round_sums()
    stored = sums.stored_rows()
    assert stored > 0
    assert load_programme(hidden=hidden).sites == summed_now
    sums.store_round_sums()
    assert sums.stored_rows() == stored  # a stored pair is not stored again

    b_id, _f_id = expected["PS01"]
    ps01 = next(c for c in summed_now if c.site.code == "PS01")
    assert ps01.baseline.scores.overall > 0
    # The figures are the stored ones: a stored row altered by hand shows in them ...
    _db.session.execute(update(RoundSum).where(RoundSum.baseline_id == b_id).values(b_total=0, mb_total=0))
    altered = next(c for c in load_programme(hidden=hidden).sites if c.site.code == "PS01")
    assert altered.baseline.scores.overall == 0
    # ... until the audit's row version moves on (every change of an audit bumps it): its rows are not
    # read any more, and the pair is summed from its answers again.
    _db.session.execute(update(Audit).where(Audit.id == b_id).values(row_version=Audit.row_version + 1))
    assert next(c for c in load_programme(hidden=hidden).sites if c.site.code == "PS01") == ps01


def test_a_reopened_and_resubmitted_round_is_compared_on_its_new_answers(world, db):
    """Through the audit services: a reopen takes the round out of the comparison, and its resubmission
    with a changed answer is compared on the answers as they are now, not on the stored sums of before."""
    hidden, expected = world
    baseline = _db.session.get(Audit, expected["PS06"][0])
    reviewer, consultant = make_user("reviewer"), make_user("consultant", assigned=[baseline.site])
    by_code = {c.site.code: c for c in load_programme(hidden=hidden).sites}
    _db.session.commit()
    audit_services.reopen_audit(baseline, reviewer, "Chấm lại khu vệ sinh")
    assert next(c for c in load_programme(hidden=hidden).sites if c.site.code == "PS06").baseline is None
    item = next(i for i in baseline.template.items if i.s == "seiri" and not i.zone.repeats)
    blanks = [{"item": a.item.code, "zone_instance": a.room or None, "score": 1} for a in baseline.answers
              if a.score is None and not a.na and a.item_id != item.id]  # scored now, so that it can be submitted
    audit_services.save_answers(baseline, consultant, [*blanks, {"item": item.code, "score": 0}],
                                row_version=baseline.row_version)
    baseline.auditor_id = consultant.id  # the consultant who resubmits it (any of the site's may)
    audit_services.submit_audit(baseline, consultant)
    _db.session.commit()
    assert _db.session.scalar(select(func.count()).select_from(RoundSum).where(
        RoundSum.baseline_id == baseline.id, RoundSum.baseline_version == baseline.row_version)) > 0  # stored
    now = next(c for c in load_programme(hidden=hidden).sites if c.site.code == "PS06")
    assert now.baseline.scores == scoring.audit_scores(scored(baseline.id))
    assert now.change == scoring.compare(scored(baseline.id), scored(expected["PS06"][1]))
    assert now.baseline.scores != by_code["PS06"].baseline.scores


def test_the_round_sums_command_stores_the_pairs_not_stored_yet_once(world, app):
    """`flask round-sums` (after upgrading a database that holds submitted rounds) stores every site's pair
    not stored yet, and the programme's figures are the same read from them; run again, it stores nothing."""
    hidden, _expected = world
    summed_now = load_programme(hidden=hidden).sites
    _db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["round-sums"])
    assert first.exit_code == 0, first.output
    stored = sums.stored_rows()
    assert stored > 0 and f"round sums: {stored} rows stored" in first.output
    assert load_programme(hidden=hidden).sites == summed_now
    again = runner.invoke(args=["round-sums"])
    assert again.exit_code == 0 and "round sums: 0 rows stored" in again.output
    assert sums.stored_rows() == stored
