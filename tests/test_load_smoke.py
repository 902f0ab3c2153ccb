"""A few seconds of bench/load.py in CI: gunicorn (4 gthread workers) on a scratch SQLite
installation, 8 clients saving answers and uploading photos; nothing acknowledged is lost and no
request fails. (The full run, 20 clients on SQLite and PostgreSQL: `python bench/load.py`.)"""
from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_short_load_run_loses_nothing_and_fails_nothing(tmp_path):
    bench = _bench()
    inst = bench.prepare(None, tmp_path)
    result = bench.run(inst, seconds=4, clients=8, photos=True, label="sqlite")
    assert result.errors == [], result.lines()
    assert result.lost == [], result.lines()
    assert result.requests > 0 and result.photos > 0, result.lines()
    assert result.healthz_per_s > 0 and result.answers_per_s > 0

    # The loss check is not vacuous: an acknowledged write the database lacks is reported.
    phantom = bench.ClientLog(audit_id=str(uuid.uuid4()), acked_saves=1)
    assert bench.count_lost(inst.database_url, inst.media_root, [phantom]) == [
        f"audit {phantom.audit_id} missing"]
