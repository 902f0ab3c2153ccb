"""Benchmark the programme comparison against one raw SQL GROUP BY over the same answers.

Run from the project root:  .venv/bin/python bench/rollup.py [--sites 1000] [--runs 5]

Builds SITES sites x 3 consultant rounds (baseline, periodic, final; all submitted) x 80 answers
with bulk inserts, in a temporary SQLite file (or FIVS_BENCH_DATABASE_URL, whose tables are
DROPPED and rebuilt: give it a throw-away database). Then, in the same process and on the same
data, prints the median of RUNS interleaved timings of

  * programme_comparison("all"): the JSON the API returns (queries + fivs.scoring), with every site's
    round sums stored as the submissions store them (and, for information, before they are stored), and
  * one raw GROUP BY: SUM(score), COUNT(score) per audit and S over every answer,

and their ratio (goal <= 3).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from fivs import create_app  # noqa: E402
from fivs.extensions import db  # noqa: E402

GOAL = 3.0
ANSWERS_PER_AUDIT = 80
ROUNDS = (("baseline", date(2023, 3, 15)), ("periodic", date(2023, 9, 15)),
          ("final", date(2024, 4, 15)))
RAW_GROUP_BY = text(
    "SELECT a.audit_id, i.s, SUM(a.score), COUNT(a.score) "
    "FROM answers a JOIN checklist_items i ON i.id = a.item_id "
    "GROUP BY a.audit_id, i.s")


def build(n_sites: int, seed: int = 7) -> int:
    """Insert the sites, one consultant, the audits and their answers; returns the answer count."""
    from fivs.audits.models import Answer, Audit
    from fivs.auth.models import User
    from fivs.checklists.models import ChecklistTemplate, Item, Zone
    from fivs.commands import _load_checklists
    from fivs.sites.models import Site

    db.drop_all()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    db.create_all()
    _load_checklists(str(ROOT / "checklists"))
    consultant = User(username="bench", full_name="Tư vấn viên", password_hash="-", role="consultant",
                      active=True, session_version=1)
    db.session.add(consultant)
    db.session.commit()

    rng = random.Random(seed)
    templates = {}
    for tpl in db.session.scalars(select(ChecklistTemplate)):
        rows = db.session.execute(
            select(Item.id, Item.na_allowed, Zone.repeats).join(Zone, Zone.id == Item.zone_id)
            .where(Item.template_id == tpl.id).order_by(Zone.position, Item.position)).all()
        templates[tpl.site_kind] = (tpl.id, rows[:ANSWERS_PER_AUDIT])

    kinds = ["clinic" if i % 6 == 5 else "school" for i in range(n_sites)]  # 10 schools : 2 clinics
    db.session.execute(insert(Site), [
        {"code": f"B{i:04d}", "name": f"Trường Tiểu học Bắc Giang {i}", "kind": kind,
         "former_district": "Sơn Động", "province": "Bắc Ninh",
         "former_province": "Bắc Giang", "active": True}
        for i, kind in enumerate(kinds)])
    site_ids = db.session.execute(select(Site.id, Site.kind).order_by(Site.code)).all()
    now = datetime.now(timezone.utc)
    db.session.execute(insert(Audit), [
        {"uuid": uuid.uuid4(), "site_id": sid, "template_id": templates[kind][0], "phase": phase,
         "kind": "consultant", "auditor_id": consultant.id, "audit_date": day,
         "status": "submitted", "row_version": 2, "submitted_at": now}
        for sid, kind in site_ids for phase, day in ROUNDS])
    audits = db.session.execute(
        select(Audit.id, Site.kind, Audit.phase).join(Site, Site.id == Audit.site_id)).all()
    answers = []
    for audit_id, kind, phase in audits:
        level = {"baseline": 1.8, "periodic": 2.4, "final": 2.9}[phase] + rng.uniform(-0.6, 0.6)
        for item_id, na_allowed, repeats in templates[kind][1]:
            na = na_allowed and rng.random() < 0.1
            score = None if na else min(4, max(0, round(rng.gauss(level, 0.9))))
            answers.append({"audit_id": audit_id, "item_id": item_id,
                            "zone_instance": "Lớp 3A" if repeats else "", "score": score,
                            "na": na, "note": "", "updated_at": now})
    db.session.execute(insert(Answer), answers)
    db.session.commit()
    return len(answers)


def timed(fns, runs: int) -> list[float]:
    """Median seconds of each function; the runs are interleaved so both see the same load."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, bucket in zip(fns, times):
            db.session.rollback()  # a fresh transaction, as a request would have
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the programme comparison rollup.")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from fivs.comparisons.services import programme_comparison
    from fivs.round_sums.queries import store_round_sums

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("FIVS_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/rollup.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "MEDIA_ROOT": tmp})
        with app.app_context(), app.test_request_context():
            start = time.perf_counter()
            n_answers = build(args.sites)
            print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
            print(f"built {args.sites} sites x {len(ROUNDS)} rounds, {n_answers} answers "
                  f"in {time.perf_counter() - start:.1f} s")
            result = programme_comparison("all")
            assert len(result["sites_included"]) == args.sites, "every site should have both rounds"
            raw_rows = len(db.session.execute(RAW_GROUP_BY).all())
            summed_now, raw_before = timed([lambda: programme_comparison("all"),
                                            lambda: db.session.execute(RAW_GROUP_BY).all()], args.runs)
            # The rounds went in around the services; store their sums as each submission would have.
            start = time.perf_counter()
            store_round_sums()
            db.session.commit()
            stored_in = time.perf_counter() - start
            assert programme_comparison("all") == result, "the stored sums give the same figures"
            programme, raw = timed([lambda: programme_comparison("all"),
                                    lambda: db.session.execute(RAW_GROUP_BY).all()], args.runs)
            ratio = programme / raw
            print(f"overall mean change: {result['overall']['mean_change']:.2f} points "
                  f"(n={result['overall']['n']}, p={result['overall']['wilcoxon_p']:.3g})")
            print(f"median programme_comparison('all') with no round sums stored (every pair summed from its "
                  f"answers, as for a viewer kept blind), N={args.runs}: {summed_now * 1000:.1f} ms, "
                  f"{summed_now / raw_before:.2f} x the raw GROUP BY")
            print(f"stored every site's round sums (what the submissions do) in {stored_in * 1000:.0f} ms")
            print(f"median programme_comparison('all'), N={args.runs}: {programme * 1000:.1f} ms")
            print(f"median raw GROUP BY (audit, S) over all {n_answers} answers -> {raw_rows} rows, "
                  f"N={args.runs}: {raw * 1000:.1f} ms")
            print(f"ratio programme/raw: {ratio:.2f} (goal <= {GOAL:g}) "
                  f"{'OK' if ratio <= GOAL else 'MISSED'}")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
