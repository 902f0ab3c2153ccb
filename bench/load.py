"""Load without loss: 20 tablets saving answers and uploading photos through the API at once.

Run from the project root:
    .venv/bin/python bench/load.py [--seconds 20] [--clients 20] [--database sqlite|postgresql|both]
                                   [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

For each database it builds a scratch installation (a temporary instance folder; for PostgreSQL
a scratch database, dropped afterwards), migrates it (`flask db upgrade`, `flask seed --demo`),
issues one API token per client (`flask users token`), starts `gunicorn wsgi:app` (4 workers,
gthread, 4 threads: slow uploads from tablets hold a thread, not a worker) on 127.0.0.1 and runs
three bounded phases with the same clients:
  1. GET /healthz as fast as possible (the server's bare request rate);
  2. answer saves only: each client its own audit, PUT .../answers with the row version it
     holds, so every save is sequential per client;
  3. answer saves mixed with photo uploads (one photo every PHOTO_EVERY requests).
Phases 1 and 2 alternate in ROUNDS short windows each (1, 2, 1, 2, ...), so that the ratio of their
rates is not skewed when the machine's speed drifts during the run (shared VMs do).
Then it stops the server and checks the database: every acknowledged write is there exactly once
(each audit's row version = 1 + its acknowledged saves, each answer holds the last acknowledged
score, each acknowledged photo exists once with its files). It prints requests/s, p50/p95
latency, errors and lost writes, and the ratio of answer-save to /healthz throughput (a figure to
compare two versions of the code side by side in one run; on a small machine that also runs the
database and the load generator it says little on its own).
Goal: 0 errors, 0 lost (exit status 1 when missed).

Only loopback traffic; every loop is bounded by time and by MAX_REQUESTS_PER_CLIENT.
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
MAX_SECONDS = 60
MAX_REQUESTS_PER_CLIENT = 100_000
PHOTO_EVERY = 10
ROUNDS = 5  # phases 1 and 2 alternate in this many windows each
USERNAME = "consultant"  # the demo consultant: assigned to pilot sites
REQUEST_TIMEOUT = 30


# ---------------------------------------------------------------- the installation and the server
@dataclass
class Installation:
    instance: Path
    database_url: str
    media_root: Path
    env: dict[str, str]

    def flask(self, *args: str) -> str:
        result = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout


def prepare(database_url: str | None, workdir: Path) -> Installation:
    """A migrated, seeded scratch installation (SQLite file in workdir when no URL is given)."""
    instance, media = workdir / "instance", workdir / "media"
    instance.mkdir(parents=True)
    media.mkdir()
    url = database_url or f"sqlite:///{instance / 'fivs.sqlite3'}"
    env = {**os.environ, "FIVS_INSTANCE_PATH": str(instance), "FIVS_DATABASE_URL": url,
           "FIVS_MEDIA_ROOT": str(media), "FIVS_SECRET_KEY": uuid.uuid4().hex}
    inst = Installation(instance, url, media, env)
    inst.flask("db", "upgrade")
    inst.flask("seed", "--demo")
    return inst


def issue_tokens(inst: Installation, count: int) -> list[str]:
    procs = [subprocess.Popen([str(VENV_BIN / "flask"), "--app", "wsgi", "users", "token", USERNAME,
                               "--name", f"load-{n}"], cwd=ROOT, env=inst.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(count)]
    tokens = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"flask users token failed: {err}")
        tokens.append(out.strip().splitlines()[-1])
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn wsgi:app on 127.0.0.1, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, inst: Installation, workers: int = 4, threads: int = 4) -> None:
        self.port = free_port()
        self.log = open(inst.instance / "gunicorn.log", "w")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-k", "gthread", "--threads", str(threads),
             "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "wsgi:app"],
            cwd=ROOT, env=inst.env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                status, _body, _t = request(self.connect(), "GET", "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)


def request(conn, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """(status, body bytes, seconds); reconnects once if the kept-alive connection was closed."""
    start = time.perf_counter()
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data, time.perf_counter() - start
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if attempt == 2 or method not in ("GET", "PUT"):  # only idempotent requests are resent
                raise
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- the clients
@dataclass
class ClientLog:
    audit_id: str = ""
    row_version: int = 1
    acked_saves: int = 0
    last_score: dict[str, int] = field(default_factory=dict)   # item code -> last acknowledged score
    acked_photos: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"healthz": [], "answers": [], "photo": []})
    errors: list[str] = field(default_factory=list)


def jpeg(n: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), ((n * 37) % 256, (n * 91) % 256, 120)).save(out, "JPEG", quality=85)
    return out.getvalue()


def multipart(fields: dict[str, str], file_bytes: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    def __init__(self, server: Server, token: str, site: str, items: list[str], n: int) -> None:
        self.server, self.token, self.site, self.items, self.n = server, token, site, items, n
        self.conn = server.connect()
        self.log = ClientLog()

    def _headers(self, content_type: str | None = "application/json") -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def start_audit(self) -> None:
        body = {"id": str(uuid.uuid4()), "site": self.site, "phase": "periodic", "date": "2023-09-15"}
        status, data, _t = request(self.conn, "POST", "/api/v1/audits", json.dumps(body).encode(), self._headers())
        if status != 201:
            raise RuntimeError(f"could not start an audit: {status} {data[:300]!r}")
        self.log.audit_id = body["id"]

    def healthz(self) -> None:
        status, data, seconds = request(self.conn, "GET", "/healthz")
        self._record("healthz", status, 200, data, seconds)

    def save_answer(self, k: int) -> None:
        item, score = self.items[k % len(self.items)], (k + self.n) % 5
        base = {"score": self.log.last_score.get(item), "na": False}  # the answer as this client last saw it
        body = json.dumps({"row_version": self.log.row_version,
                           "answers": [{"item": item, "score": score, "base": base}]}).encode()
        # As the app's tablets do (autosave.js): with its base, and the short answer, not the whole audit.
        status, data, seconds = request(self.conn, "PUT", f"/api/v1/audits/{self.log.audit_id}/answers",
                                        body, {**self._headers(), "Prefer": "return=minimal"})
        if self._record("answers", status, 200, data, seconds):
            self.log.row_version = json.loads(data)["row_version"]
            self.log.acked_saves += 1
            self.log.last_score[item] = score

    def upload_photo(self, k: int) -> None:
        photo_id = str(uuid.uuid4())
        body, ctype = multipart({"id": photo_id, "item": self.items[k % len(self.items)]}, jpeg(k + self.n))
        status, data, seconds = request(self.conn, "POST", f"/api/v1/audits/{self.log.audit_id}/photos",
                                        body, self._headers(ctype))
        if self._record("photo", status, 201, data, seconds):
            self.log.acked_photos.append(photo_id)

    def _record(self, kind: str, status: int, expected: int, data: bytes, seconds: float) -> bool:
        self.log.latencies[kind].append(seconds)
        if status != expected:
            self.log.errors.append(f"{kind} {status} {data[:200]!r}")
        return status == expected


# ---------------------------------------------------------------- where the CPU goes
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process from /proc (0 when it is gone or /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def _processes(name: bytes) -> list[int]:
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", "rb") as f:
                    if f.read().strip() == name:
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


class CpuMeter:
    """CPU seconds spent during a phase by the server's workers, PostgreSQL's processes (all of
    them: run on a quiet machine) and this load generator, from /proc. Linux only; elsewhere 0."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def sample(self) -> dict[str, float]:
        workers = [p for p in _children(self.server_pid)] + [self.server_pid]
        return {"server": sum(map(_cpu_seconds, workers)),
                "postgres": sum(map(_cpu_seconds, _processes(b"postgres"))),
                "client": _cpu_seconds(os.getpid())}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def run_phase(clients: list[Client], seconds: float, step) -> float:
    """Each client calls step(client, k) until the deadline; returns the elapsed wall time."""
    barrier = threading.Barrier(len(clients) + 1)
    deadline_box: list[float] = []

    def loop(client: Client) -> None:
        barrier.wait()
        for k in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline_box[0]:
                return
            try:
                step(client, k)
            except OSError as exc:  # timeouts, refused or reset connections: counted, never retried blindly
                client.log.errors.append(f"{type(exc).__name__}: {exc}")
                client.conn.close()

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    deadline_box.append(start + seconds)
    barrier.wait()
    for thread in threads:
        thread.join(timeout=seconds + REQUEST_TIMEOUT + 10)
    return time.monotonic() - start


# ---------------------------------------------------------------- checking for loss
def count_lost(database_url: str, media_root: Path, logs: list[ClientLog]) -> list[str]:
    """Every acknowledged write in the database exactly once; returns what is missing or doubled."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    lost = []
    with engine.connect() as conn:
        for log in logs:
            audit = conn.execute(text("SELECT id, row_version FROM audits WHERE uuid = :u"),
                                 {"u": _uuid_param(database_url, log.audit_id)}).one_or_none()
            if audit is None:
                lost.append(f"audit {log.audit_id} missing")
                continue
            if audit.row_version != 1 + log.acked_saves:
                lost.append(f"audit {log.audit_id}: row version {audit.row_version}, "
                            f"expected {1 + log.acked_saves}")
            rows = conn.execute(text(
                "SELECT i.code, a.score, count(*) OVER (PARTITION BY a.item_id, a.zone_instance) AS n "
                "FROM answers a JOIN checklist_items i ON i.id = a.item_id WHERE a.audit_id = :a"),
                {"a": audit.id}).all()
            stored = {r.code: (r.score, r.n) for r in rows}
            for item, score in log.last_score.items():
                if stored.get(item) != (score, 1):
                    lost.append(f"audit {log.audit_id} item {item}: stored {stored.get(item)}, acked {score}")
            for photo_id in log.acked_photos:
                found = conn.execute(text("SELECT display_key, thumb_key FROM photos WHERE uuid = :u"),
                                     {"u": _uuid_param(database_url, photo_id)}).all()
                if len(found) != 1 or not all((media_root / key).is_file() for key in found[0]):
                    lost.append(f"photo {photo_id}: {len(found)} rows")
    engine.dispose()
    return lost


def _uuid_param(database_url: str, value: str):
    # SQLAlchemy's Uuid type stores 32 hex characters on SQLite and a native uuid on PostgreSQL.
    return uuid.UUID(value).hex if database_url.startswith("sqlite") else uuid.UUID(value)


# ---------------------------------------------------------------- one run
@dataclass
class Result:
    database: str
    seconds: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    errors: list[str]
    lost: list[str]
    healthz_per_s: float
    answers_per_s: float
    photos: int
    cpu_healthz: dict[str, float] = field(default_factory=dict)  # CPU ms per request, by process group
    cpu_answers: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.answers_per_s / self.healthz_per_s if self.healthz_per_s else 0.0

    def lines(self) -> list[str]:
        return [f"[{self.database}] {self.requests} writes in {self.seconds:.1f} s: {self.requests_per_s:.0f} req/s, "
                f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, photos {self.photos}",
                f"[{self.database}] errors {len(self.errors)}, lost writes {len(self.lost)}",
                f"[{self.database}] /healthz {self.healthz_per_s:.0f} req/s, answer saves {self.answers_per_s:.0f} "
                f"req/s, ratio {self.ratio:.2f}",
                f"[{self.database}] CPU ms per request: /healthz {_cpu_text(self.cpu_healthz)}; "
                f"answer save {_cpu_text(self.cpu_answers)}"] + [f"  error: {e}" for e in self.errors[:5]] + \
               [f"  lost: {x}" for x in self.lost[:5]]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.lost


def run(inst: Installation, *, seconds: float = 20, clients: int = 20, photos: bool = True,
        label: str = "sqlite", threads: int = 4) -> Result:
    seconds = min(seconds, MAX_SECONDS)
    tokens = issue_tokens(inst, clients)
    sites, items = _sites_and_items(inst)
    with Server(inst, threads=threads) as server:
        pool = [Client(server, tokens[n], sites[n % len(sites)], items, n) for n in range(clients)]
        for client in pool:
            client.start_audit()
        meter, phase = CpuMeter(server.proc.pid), max(seconds / 4, 1.0)
        t_health, t_answers, cpu_health, cpu_answers = interleaved(
            pool, meter, phase, seconds - 2 * phase if photos else seconds - phase)
        healthz = sum(len(c.log.latencies["healthz"]) for c in pool)
        answer_count = sum(len(c.log.latencies["answers"]) for c in pool)
        t_mixed = run_phase(pool, phase, lambda c, k: c.upload_photo(k) if k % PHOTO_EVERY == PHOTO_EVERY - 1
                            else c.save_answer(k)) if photos else 0.0
    logs = [c.log for c in pool]
    writes = [t for log in logs for t in log.latencies["answers"] + log.latencies["photo"]]
    lost = count_lost(inst.database_url, inst.media_root, logs)
    return Result(label, t_answers + t_mixed, len(writes), len(writes) / max(t_answers + t_mixed, 1e-9),
                  _pct(writes, 50), _pct(writes, 95), [e for log in logs for e in log.errors], lost,
                  healthz / t_health, answer_count / t_answers, sum(len(log.acked_photos) for log in logs),
                  _per_request(cpu_health, healthz), _per_request(cpu_answers, answer_count))


def interleaved(pool: list[Client], meter: CpuMeter, health_seconds: float, answer_seconds: float):
    """Phases 1 and 2 in ROUNDS alternating windows (/healthz, then saves, ...), so that a change in
    the machine's speed during the run (a shared VM's neighbours) weighs on both alike. Returns the
    wall time of each and the CPU seconds each used, by process group."""
    walls = [0.0, 0.0]
    cpus: list[dict[str, float]] = [{}, {}]
    windows = ((health_seconds / ROUNDS, lambda c, k: c.healthz()),
               (answer_seconds / ROUNDS, lambda c, k: c.save_answer(k)))
    for _round in range(ROUNDS):
        for n, (seconds, step) in enumerate(windows):
            before = meter.sample()
            walls[n] += run_phase(pool, seconds, step)
            after = meter.sample()
            for key in before:
                cpus[n][key] = cpus[n].get(key, 0.0) + after[key] - before[key]
    return walls[0], walls[1], cpus[0], cpus[1]


def _cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()) + f" (total {sum(cpu.values()):.2f})"


def _per_request(cpu_seconds: dict[str, float], count: int) -> dict[str, float]:
    """CPU milliseconds per request of a phase, by process group."""
    return {k: v * 1000 / max(count, 1) for k, v in cpu_seconds.items()}


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000 if len(values) > 1 else values[0] * 1000


def _sites_and_items(inst: Installation) -> tuple[list[str], list[str]]:
    """The consultant's school sites, and the non-repeating items of the school checklist."""
    from sqlalchemy import create_engine, text

    engine = create_engine(inst.database_url)
    with engine.connect() as conn:
        sites = conn.execute(text(
            "SELECT s.code FROM sites s JOIN consultant_sites cs ON cs.site_id = s.id "
            "JOIN users u ON u.id = cs.user_id WHERE u.username = :u AND s.kind = 'school' ORDER BY s.code"),
            {"u": USERNAME}).scalars().all()
        items = conn.execute(text(
            "SELECT i.code FROM checklist_items i JOIN checklist_zones z ON z.id = i.zone_id "
            "JOIN checklist_templates t ON t.id = z.template_id "
            "WHERE t.site_kind = 'school' AND NOT z.repeats ORDER BY i.code")).scalars().all()
    engine.dispose()
    if not sites or not items:
        raise RuntimeError("the demo consultant has no school site, or no school checklist is loaded")
    return sites, items


# ---------------------------------------------------------------- PostgreSQL scratch database
class ScratchPostgres:
    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin_url = make_url(server_url)
        self.name = f"fivs_load_{os.getpid()}"
        self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def __enter__(self) -> str:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_available(server_url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(server_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 (any failure means: not available here)
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help=f"write time per database (<= {MAX_SECONDS})")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get(
        "FIVS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-photos", action="store_true", help="answers only")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    results = []
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="fivs-load-") as tmp:
            results.append(run(prepare(None, Path(tmp)), seconds=args.seconds, clients=args.clients,
                               photos=not args.no_photos, label="sqlite", threads=args.threads))
    if args.database in ("postgresql", "both"):
        if not postgres_available(args.pg_url):
            print(f"[postgresql] not available at {args.pg_url}: skipped")
        else:
            with ScratchPostgres(args.pg_url) as url, tempfile.TemporaryDirectory(prefix="fivs-load-") as tmp:
                results.append(run(prepare(url, Path(tmp)), seconds=args.seconds, clients=args.clients,
                                   photos=not args.no_photos, label="postgresql", threads=args.threads))
    for result in results:
        print("\n".join(result.lines()))
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
