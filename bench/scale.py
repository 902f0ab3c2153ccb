"""Benchmark a national programme: 30,000 sites x 4 rounds x 100 answers (12 M answers) on PostgreSQL.

Run from the project root:
    FIVS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/fivs_bench \\
        .venv/bin/python bench/scale.py [--sites 30000] [--runs 5] [--reuse]

FIVS_BENCH_DATABASE_URL must name a throw-away PostgreSQL database: its tables are DROPPED and rebuilt
(in schema public with --sites sites, in schema bench_small with 12). The answers go in with COPY; the
build time is printed, then the time it takes to store every site's sums of its baseline and final (what
the audit services do for one site when one of its rounds is submitted, reopened or voided). Then, in the
same run and on the same data, it prints a table of

  * the programme comparison (the API's JSON; all sites, and one province) against one raw SQL GROUP BY
    over every answer row (SUM and COUNT of the scores per audit and S): ratio, goal <= 2;
  * the site list's first page, a search, the programme board (the reviewer's home) and one site's
    comparison page, each through the Flask test client (logged in as an admin) against /healthz;
  * the SQL statements each of them runs with 12 sites and with --sites sites (goal: the same);
  * the peak memory (RSS) of a fresh process while it computes the programme comparison (goal < 500 MB).

Timings are medians of --runs interleaved runs (every figure of one run before the next run), so a load
that comes and goes touches them all alike. --reuse keeps the big schema if it already holds --sites
sites (the 12-site one is rebuilt each time: it takes a second).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402

from fivs import create_app  # noqa: E402
from fivs.audits.models import Audit  # noqa: E402
from fivs.auth.models import User  # noqa: E402
from fivs.checklists.models import ChecklistTemplate, Item, Zone  # noqa: E402
from fivs.commands import _load_checklists  # noqa: E402
from fivs.comparisons.services import programme_comparison  # noqa: E402
from fivs.extensions import db  # noqa: E402
from fivs.round_sums.queries import store_round_sums  # noqa: E402
from fivs.sites.models import Site  # noqa: E402

RATIO_GOAL = 2.0
RSS_GOAL_MB = 500
SMALL_SITES = 12
SMALL_SCHEMA = "bench_small"
ANSWERS_PER_AUDIT = 100
PASSWORD = "bench-password-9"
ROUNDS = (("baseline", date(2023, 3, 15)), ("periodic", date(2023, 9, 15)), ("periodic", date(2024, 1, 15)),
          ("final", date(2024, 4, 15)))
PLACES = (("Bắc Ninh", ("Sơn Động", "Lục Ngạn", "Yên Thế")), ("Lạng Sơn", ("Cao Lộc", "Văn Lãng")),
          ("Thái Nguyên", ("Định Hóa", "Võ Nhai", "Phú Lương")), ("Cao Bằng", ("Bảo Lạc", "Hà Quảng")))
PROVINCE = "Lạng Sơn"
RAW_GROUP_BY = text(
    "SELECT a.audit_id, i.s, SUM(a.score), COUNT(a.score) "
    "FROM answers a JOIN checklist_items i ON i.id = a.item_id "
    "GROUP BY a.audit_id, i.s")


def make_app(url: str, schema: str | None = None):
    options = {"pool_pre_ping": True}
    if schema:
        options["connect_args"] = {"options": f"-csearch_path={schema}"}
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                       "SQLALCHEMY_ENGINE_OPTIONS": options, "RATELIMIT_ENABLED": False})


def answer_plan(template_id: int) -> list[tuple[int, bool, str]]:
    """(item id, N/A allowed, room) of the first ANSWERS_PER_AUDIT answers of a checklist: every item, two
    rooms of a repeating zone, until there are enough."""
    rows = db.session.execute(select(Item.id, Item.na_allowed, Zone.repeats).join(Zone, Zone.id == Item.zone_id)
                              .where(Item.template_id == template_id).order_by(Zone.position, Item.position)).all()
    plan = []
    for rooms in ((0, 1), (2,), (3,)):
        for item_id, na_allowed, repeats in rows:
            for room in rooms:
                if (repeats or room == 0) and len(plan) < ANSWERS_PER_AUDIT:
                    plan.append((item_id, na_allowed, f"Lớp {room + 1}A" if repeats else ""))
    return plan


def build(n_sites: int, seed: int = 7) -> int:
    """Drop and create the tables, then COPY the sites, an admin and a consultant, the audits and their
    answers; returns the number of answers."""
    db.drop_all()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    db.create_all()
    _load_checklists(str(ROOT / "checklists"))
    consultant = User(username="bench-consultant", full_name="Tư vấn viên", role="consultant", active=True,
                      session_version=1)
    admin = User(username="bench-admin", full_name="Quản trị", role="admin", active=True, session_version=1)
    admin.set_password(PASSWORD)
    consultant.password_hash = admin.password_hash
    db.session.add_all([consultant, admin])
    db.session.commit()
    consultant_id = consultant.id  # read now: no ORM load may run on the connection while it COPYs
    plans = {kind: (tpl_id, answer_plan(tpl_id)) for tpl_id, kind in db.session.execute(
        select(ChecklistTemplate.id, ChecklistTemplate.site_kind))}
    rng = random.Random(seed)
    raw = db.session.connection().connection.driver_connection  # psycopg's own connection, for COPY
    now = datetime.now(timezone.utc)
    with raw.cursor() as cur:
        with cur.copy("COPY sites (code, name, kind, province, commune, former_province, former_district, active, "
                      "created_at) FROM STDIN") as copy:
            for i in range(n_sites):
                province, districts = PLACES[i % len(PLACES)]
                district = districts[(i // len(PLACES)) % len(districts)]
                kind = "clinic" if i % 6 == 5 else "school"
                name = f"{'Trạm Y tế' if kind == 'clinic' else 'Trường Tiểu học'} {district} {i}"
                copy.write_row((f"S{i:05d}", name, kind, province, f"Xã {district} {i % 40}", "Bắc Giang",
                                district, True, now))
        cur.execute("SELECT id, kind FROM sites ORDER BY id")
        sites = cur.fetchall()
        with cur.copy("COPY audits (uuid, site_id, template_id, phase, kind, auditor_id, audit_date, status, "
                      "row_version, submitted_at, void_reason, created_at, updated_at) FROM STDIN") as copy:
            for site_id, kind in sites:
                for phase, day in ROUNDS:
                    copy.write_row((uuid.uuid4(), site_id, plans[kind][0], phase, "consultant", consultant_id, day,
                                    "submitted", 2, now, "", now, now))
        cur.execute("SELECT a.id, s.kind, a.phase FROM audits a JOIN sites s ON s.id = a.site_id")
        audits = cur.fetchall()
        n = 0
        with cur.copy("COPY answers (audit_id, item_id, zone_instance, score, na, note, updated_at) "
                      "FROM STDIN") as copy:
            for audit_id, kind, phase in audits:
                level = {"baseline": 1.8, "periodic": 2.4, "final": 2.9}[phase] + rng.uniform(-0.6, 0.6)
                for item_id, na_allowed, room in plans[kind][1]:
                    na = na_allowed and rng.random() < 0.1
                    score = None if na else min(4, max(0, round(rng.gauss(level, 0.9))))
                    copy.write_row((audit_id, item_id, room, score, na, "", now))
                    n += 1
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return n


def store_sums() -> None:
    """Store every site's sums of its baseline and final, as the audit services do for a site when one of its
    rounds is submitted, reopened or voided (the audits above went in with COPY, around the services)."""
    db.create_all()  # a reused schema gains the tables added since it was built
    db.session.execute(text("DELETE FROM round_sums"))
    store_round_sums()
    db.session.commit()


class QueryCounter:
    """Counts the SQL statements the engine runs while it is on."""

    def __init__(self, engine):
        self.n = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args, **_kw):
        if self.on:
            self.n += 1

    def count(self, fn) -> int:
        self.n, self.on = 0, True
        try:
            fn()
        finally:
            self.on = False
        return self.n


def logged_in_client(app):
    client = app.test_client()
    resp = client.post("/auth/login", data={"username": "bench-admin", "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def page(client, url: str):
    def get():
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
    return get


def measures(app, client, site_code: str) -> dict:
    """The measured operations, by name; each a function of no argument."""
    def in_context(fn):
        def run():
            with app.app_context():
                fn()
                db.session.remove()
        return run
    return {
        "programme (all)": in_context(lambda: programme_comparison("all")),
        f"programme ({PROVINCE})": in_context(lambda: programme_comparison("all", province=PROVINCE)),
        "raw GROUP BY": in_context(lambda: db.session.execute(RAW_GROUP_BY).all()),
        "site list, page 1": page(client, "/admin/sites/"),
        "site list, search": page(client, "/admin/sites/?q=L%E1%BB%A5c+Ng%E1%BA%A1n+12"),
        "programme board": page(client, "/"),
        "site comparison": page(client, f"/sites/{site_code}/comparison"),
        "/healthz": page(client, "/healthz"),
    }


def query_counts(app) -> dict[str, int]:
    with app.app_context():
        counter = QueryCounter(db.engine)
        code = db.session.scalar(select(func.min(Site.code)))
    fns = measures(app, logged_in_client(app), code)
    return {name: counter.count(fn) for name, fn in fns.items() if name != "raw GROUP BY"}


def high_water_mb() -> float:
    """The process's peak RSS so far (VmHWM: unlike ru_maxrss, not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_child(url: str) -> None:
    """In a fresh process: RSS before and at the peak of one programme comparison, in MB (printed as JSON)."""
    app = make_app(url)
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        before = high_water_mb()
        start = time.perf_counter()
        programme_comparison("all")
        seconds = time.perf_counter() - start
        peak = high_water_mb()
    print(json.dumps({"before_mb": before, "peak_mb": peak, "seconds": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark a national programme on PostgreSQL.")
    parser.add_argument("--sites", type=int, default=30000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the big schema if it has --sites sites")
    parser.add_argument("--peak-rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ.get("FIVS_BENCH_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("bench/scale.py needs FIVS_BENCH_DATABASE_URL=postgresql+psycopg://... naming a throw-away "
                 "PostgreSQL database (its tables are dropped and rebuilt); it uses COPY and measures PostgreSQL.")
    if args.peak_rss_child:
        peak_rss_child(url)
        return

    small = make_app(url, SMALL_SCHEMA)
    with small.app_context():
        db.session.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SMALL_SCHEMA}"))
        db.session.commit()
        build(SMALL_SITES)
        store_sums()
    small_counts = query_counts(small)

    app = make_app(url)
    with app.app_context():
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        have = 0
        if args.reuse and db.inspect(db.engine).has_table("sites"):
            have = db.session.scalar(select(func.count(Site.id)))
        if have == args.sites:
            n_answers = db.session.execute(text("SELECT count(*) FROM answers")).scalar()
            print(f"reused {args.sites} sites x {len(ROUNDS)} rounds, {n_answers} answers")
        else:
            start = time.perf_counter()
            n_answers = build(args.sites)
            print(f"built {args.sites} sites x {len(ROUNDS)} rounds x {ANSWERS_PER_AUDIT} answers = {n_answers} "
                  f"answers (COPY, indexes, ANALYZE) in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        store_sums()
        print(f"stored every site's sums of its baseline and final (what each submission does for its site) "
              f"in {time.perf_counter() - start:.1f} s")
        result = programme_comparison("all")
        assert len(result["sites_included"]) == args.sites, "every site should have both rounds"
        print(f"overall mean change: {result['overall']['mean_change']:.2f} points (n={result['overall']['n']})")
        site_code = db.session.scalar(select(Site.code).order_by(Site.code).offset(args.sites // 2).limit(1))
        n_audits = db.session.scalar(select(func.count(Audit.id)))
        db.session.remove()
    big_counts = query_counts(app)

    fns = measures(app, logged_in_client(app), site_code)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in fns.items():  # a warm-up run of each
        fn()
    for _ in range(args.runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in times.items()}

    child = subprocess.run([sys.executable, __file__, "--peak-rss-child"], capture_output=True, text=True,
                           check=True, env={**os.environ, "FIVS_BENCH_DATABASE_URL": url})
    rss = json.loads(child.stdout.strip().splitlines()[-1])

    print(f"\n{args.sites} sites, {n_audits} audits, {n_answers} answers; medians of {args.runs} interleaved runs")
    print(f"{'operation':<26} {'median ms':>10} {'against':>14} {'ratio':>7} {'goal':>6} "
          f"{'SQL @' + str(SMALL_SITES):>8} {'SQL @' + str(args.sites):>10}")
    for name in fns:
        base = "raw GROUP BY" if name.startswith("programme (") else "/healthz"
        ratio = median[name] / median[base]
        goal = f"<= {RATIO_GOAL:g}" if base == "raw GROUP BY" else ""
        against = "" if name in ("raw GROUP BY", "/healthz") else base
        shown = f"{ratio:7.2f}" if against else " " * 7
        verdict = ("OK" if ratio <= RATIO_GOAL else "MISSED") if goal else ""
        print(f"{name:<26} {median[name] * 1000:>10.1f} {against:>14} {shown} {goal:>6} "
              f"{small_counts.get(name, ''):>8} {big_counts.get(name, ''):>10} {verdict}")
    same = all(small_counts[name] == big_counts[name] for name in small_counts)
    print(f"SQL statements per operation the same at {SMALL_SITES} and {args.sites} sites: {'yes' if same else 'NO'}")
    print(f"peak RSS of a fresh process during programme_comparison('all'): {rss['peak_mb']:.0f} MB "
          f"(before it: {rss['before_mb']:.0f} MB; took {rss['seconds']:.1f} s; goal < {RSS_GOAL_MB} MB) "
          f"{'OK' if rss['peak_mb'] < RSS_GOAL_MB else 'MISSED'}")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
