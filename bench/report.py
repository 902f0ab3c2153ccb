"""Benchmark the programme PDF report: 12 sites and 120 sites, each with 4 before/after photo pairs.

Run from the project root:  .venv/bin/python bench/report.py [--runs 5]

Builds, in a temporary SQLite file and a temporary media root, SITES sites (10 schools : 2
clinics) x a submitted consultant baseline and final (every item answered) and, per site, 4
items with a baseline photo and a final photo. The display/thumbnail JPEGs are made once with
fivs.photos.pipeline.ingest from two test photos; every photo row gets its own files (hard links),
so the PDF embeds each one as it would real photos. After one warm-up each, the two reports are
made alternately RUNS times (same machine load for both); prints the median seconds of
build_programme_report("vi") for 12 and for 120 sites, and their ratio, each beside its PDF's size, and
one site report's time and size, and the 12-site programme DOCX's time and size.
Goal: 12 sites <= 2 s, and 120 sites <= 12 x the 12-site figure; the 12-site PDF <= 8 MB, a site PDF
<= 1.5 MB (the reports embed the photos' print derivative).
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
from fivs.photos.pipeline import ingest  # noqa: E402
from fivs.photos.storage import FileStorage  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "testdata" / "photos" / "orientation"
PAIRS_PER_SITE = 4
GOAL_SMALL = 2.0
GOAL_RATIO = 12.0
GOAL_PROGRAMME_MB = 8.0  # the 12-site programme PDF, to e-mail it
GOAL_SITE_MB = 1.5  # one site's PDF with its 4 pairs
ROUNDS = (("baseline", date(2023, 3, 15), 1.9), ("final", date(2024, 4, 15), 2.9))


def derivatives(media: Path) -> list[tuple[Path, Path, object]]:
    """Ingest two test photos once: (display path, thumb path, IngestResult) each."""
    made = []
    for i, name in enumerate(("Landscape_1.jpg", "Landscape_3.jpg")):
        result = ingest((PHOTOS / name).read_bytes())
        display, thumb = media / f"source-{i}-display.jpg", media / f"source-{i}-thumb.jpg"
        display.write_bytes(result.display)
        thumb.write_bytes(result.thumb)
        made.append((display, thumb, result))
    return made


def build(n_sites: int, media: Path, sources, seed: int = 7) -> int:
    """Sites, rounds, answers and photo rows (with their files); returns the photo count."""
    from fivs.audits.models import Answer, Audit
    from fivs.auth.models import User
    from fivs.checklists.models import ChecklistTemplate, Item, Zone
    from fivs.commands import _load_checklists
    from fivs.photos.models import Photo
    from fivs.sites.models import Site

    db.drop_all()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    db.create_all()
    _load_checklists(str(ROOT / "checklists"))
    consultant = User(username="bench", full_name="Nguyễn Thị Hằng", password_hash="-",
                      role="consultant", active=True, session_version=1)
    db.session.add(consultant)
    db.session.commit()

    rng = random.Random(seed)
    templates = {tpl.site_kind: (tpl.id, db.session.execute(
        select(Item.id, Zone.repeats).join(Zone, Zone.id == Item.zone_id)
        .where(Item.template_id == tpl.id).order_by(Zone.position, Item.position)).all())
        for tpl in db.session.scalars(select(ChecklistTemplate))}
    kinds = ["clinic" if i % 6 == 5 else "school" for i in range(n_sites)]
    db.session.execute(insert(Site), [
        {"code": f"B{i:04d}", "name": f"Trường Tiểu học Bắc Giang số {i}", "kind": kind,
         "former_district": "Sơn Động", "province": "Bắc Ninh",
         "former_province": "Bắc Giang", "active": True}
        for i, kind in enumerate(kinds)])
    now = datetime.now(timezone.utc)
    sites = db.session.execute(select(Site.id, Site.code, Site.kind).order_by(Site.code)).all()
    db.session.execute(insert(Audit), [
        {"uuid": uuid.uuid4(), "site_id": sid, "template_id": templates[kind][0], "phase": phase,
         "kind": "consultant", "auditor_id": consultant.id, "audit_date": day,
         "status": "submitted", "row_version": 2, "submitted_at": now}
        for sid, _code, kind in sites for phase, day, _level in ROUNDS])
    audits = db.session.execute(select(Audit.id, Audit.uuid, Audit.site_id, Audit.phase)).all()
    levels = {phase: level for phase, _day, level in ROUNDS}
    site_of = {sid: (code, kind) for sid, code, kind in sites}
    answers, photos = [], []
    storage = FileStorage(media)
    for audit_id, audit_uuid, site_id, phase in audits:
        code, kind = site_of[site_id]
        level = levels[phase] + rng.uniform(-0.6, 0.6)
        items = templates[kind][1]
        for item_id, repeats in items:
            answers.append({"audit_id": audit_id, "item_id": item_id,
                            "zone_instance": "Lớp 3A" if repeats else "",
                            "score": min(4, max(0, round(rng.gauss(level, 0.9)))), "na": False,
                            "note": "Còn giấy vụn dưới gầm bàn" if rng.random() < 0.1 else "",
                            "updated_at": now})
        display, thumb, result = sources[0 if phase == "baseline" else 1]
        for item_id, repeats in items[:PAIRS_PER_SITE]:
            photo_uuid = uuid.uuid4()
            keys = {v: storage.key_for(code, str(audit_uuid), str(photo_uuid), v) for v in ("display", "thumb")}
            for variant, source in (("display", display), ("thumb", thumb)):
                target = storage.path(keys[variant])
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, target)
            photos.append({"uuid": photo_uuid, "audit_id": audit_id, "site_id": site_id,
                           "item_id": item_id, "zone_instance": "Lớp 3A" if repeats else "",
                           "sha256": result.sha256, "width": result.width, "height": result.height,
                           "thumb_width": result.thumb_width, "thumb_height": result.thumb_height,
                           "source_format": result.source_format, "display_key": keys["display"],
                           "thumb_key": keys["thumb"], "caption": "", "uploaded_by_id": consultant.id,
                           "created_at": now})
    db.session.execute(insert(Answer), answers)
    db.session.execute(insert(Photo), photos)
    db.session.commit()
    return len(photos)


def prepare(n_sites: int, tmp: Path):
    """An app over a fresh database and media root with `n_sites` sites; (app, pairs per site)."""
    from fivs.reports.site_report import photo_pairs
    from fivs.sites.models import Site

    media = tmp / f"media-{n_sites}"
    media.mkdir()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/report-{n_sites}.sqlite3",
                      "SECRET_KEY": "bench", "MEDIA_ROOT": str(media)})
    with app.app_context(), app.test_request_context():
        n_photos = build(n_sites, media, derivatives(media))
        pairs = len(photo_pairs(db.session.scalars(select(Site)).first(), "vi"))
        db.session.remove()
    print(f"built {n_sites} sites with {n_photos} photos ({pairs} pairs per site)")
    return app, pairs


def run_once(app) -> tuple[float, int]:
    """Seconds to make the programme report in a fresh request, and its size."""
    from fivs.reports.programme_report import build_programme_report

    with app.app_context(), app.test_request_context():
        start = time.perf_counter()
        size = len(build_programme_report("vi"))
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, size


def run_site_once(app) -> tuple[float, int]:
    """Seconds to make the first site's report in a fresh request, and its size."""
    from fivs.reports.site_report import build_site_report
    from fivs.sites.models import Site

    with app.app_context(), app.test_request_context():
        site = db.session.scalar(select(Site).order_by(Site.code).limit(1))
        start = time.perf_counter()
        size = len(build_site_report(site, "vi"))
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, size


def run_docx_once(app) -> tuple[float, int]:
    """Seconds to make the programme DOCX (charts as PNG, each site's photo pairs) in a fresh request, and its size."""
    from fivs.reports.docx_report import build_programme_docx

    with app.app_context(), app.test_request_context():
        start = time.perf_counter()
        size = len(build_programme_docx("vi"))
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the programme PDF report.")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (small_app, pairs), (large_app, _pairs) = prepare(12, Path(tmp)), prepare(120, Path(tmp))
        for app in (small_app, large_app):  # warm-up: fonts, file digests, page cache
            run_once(app)
        times: dict[int, list[float]] = {12: [], 120: []}
        sizes = {}
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            for n, app in ((12, small_app), (120, large_app)):
                elapsed, sizes[n] = run_once(app)
                times[n].append(elapsed)
        site_seconds, site_size = run_site_once(small_app)
        docx_seconds, docx_size = run_docx_once(small_app)
    small, large = statistics.median(times[12]), statistics.median(times[120])
    for n, median in ((12, small), (120, large)):
        print(f"{n} sites: median {median:.2f} s over {args.runs} runs, PDF {sizes[n] / 1e6:.1f} MB")
    print(f"one site's report: {site_seconds:.2f} s, PDF {site_size / 1e6:.2f} MB")
    print(f"12 sites' programme DOCX: {docx_seconds:.2f} s, {docx_size / 1e6:.1f} MB (no goal: printed for the record)")
    if pairs < PAIRS_PER_SITE:
        print(f"note: only {pairs} photo pairs per site were drawn")
    ratio = large / small
    print(f"12 sites: {small:.2f} s (goal <= {GOAL_SMALL:g} s) {'OK' if small <= GOAL_SMALL else 'MISSED'}")
    print(f"120 sites / 12 sites: {ratio:.2f} (goal <= {GOAL_RATIO:g}) "
          f"{'OK' if ratio <= GOAL_RATIO else 'MISSED'}")
    programme_mb, site_mb = sizes[12] / 1024 / 1024, site_size / 1024 / 1024
    print(f"12-site PDF: {programme_mb:.1f} MiB (goal <= {GOAL_PROGRAMME_MB:g}) "
          f"{'OK' if programme_mb <= GOAL_PROGRAMME_MB else 'MISSED'}")
    print(f"site PDF: {site_mb:.2f} MiB (goal <= {GOAL_SITE_MB:g}) {'OK' if site_mb <= GOAL_SITE_MB else 'MISSED'}")
    sys.exit(0 if small <= GOAL_SMALL and ratio <= GOAL_RATIO and programme_mb <= GOAL_PROGRAMME_MB
             and site_mb <= GOAL_SITE_MB else 1)


if __name__ == "__main__":
    main()
