"""Brute-force limits shared by several workers through Redis (FIVS_RATELIMIT_URL=redis://…).

Each "worker" is its own Python process that calls create_app() and answers requests through a test client,
as each gunicorn worker does: the Limiter in fivs.extensions is one object per process, so two apps in this
process would share it whatever the storage, and would prove nothing. A real redis-server is started on a free
loopback port (`make test` and .ci/run install Debian's redis-server).

Run as `python -m tests.test_ratelimit_redis`, this module is such a worker: one JSON command per stdin line,
one JSON answer per stdout line.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from tests.conftest import PASSWORD, ROOT

ANSWER_TIMEOUT = 60  # seconds for a worker to start or answer one command


# ---------------------------------------------------------------- redis-server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A real redis-server on a free loopback port, without persistence; terminated after the module."""
    import redis

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    assert os.path.exists(binary), "redis-server is missing: `make test` installs it (apt-get install redis-server)"
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    log = open(workdir / "redis.log", "w+")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=log, stderr=subprocess.STDOUT)
    conn = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"redis-server exited: {(workdir / 'redis.log').read_text()}"
            try:
                if conn.ping():
                    break
            except redis.ConnectionError:
                pass
            assert time.monotonic() < deadline, "redis-server did not answer PING within 20 s"
            time.sleep(0.05)
        yield SimpleNamespace(url=f"redis://127.0.0.1:{port}", conn=conn)
    finally:
        conn.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def redis_url(redis_server):
    redis_server.conn.flushall()
    return redis_server.url


# ---------------------------------------------------------------- worker processes
class Worker:
    """One worker process (create_app() of its own), driven line by line."""

    def __init__(self, app, ratelimit_url: str | None, tmp_path, name: str) -> None:
        env = dict(os.environ)
        env.pop("FIVS_RATELIMIT_URL", None)
        if ratelimit_url:
            env["FIVS_RATELIMIT_URL"] = ratelimit_url
        self.name, self.stderr_path = name, tmp_path / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "w+")  # noqa: SIM115  (closed in stop())
        config = {"database_url": app.config["SQLALCHEMY_DATABASE_URI"], "media_root": app.config["MEDIA_ROOT"]}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.test_ratelimit_redis", json.dumps(config)],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, bufsize=1)

    def read(self) -> dict:
        ready, _w, _x = select.select([self.proc.stdout], [], [], ANSWER_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self._stderr.flush()
            raise AssertionError(f"{self.name} gave no answer; stderr:\n{self.stderr_path.read_text()[-4000:]}")
        return json.loads(line)

    def ask(self, **command) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def login(self, username: str, password: str = "wrong-password", ip: str = "10.20.0.1") -> dict:
        return self.ask(op="login", username=username, password=password, ip=ip)

    def token(self, token: str, ip: str = "10.20.0.1") -> dict:
        return self.ask(op="token", token=token, ip=ip)

    def clock(self, at: float) -> None:
        assert self.ask(op="clock", at=at) == {"clock": at}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture
def workers(app, tmp_path):
    """workers(url) -> two started worker processes, both configured with FIVS_RATELIMIT_URL=url."""
    started: list[Worker] = []

    def _start(ratelimit_url: str | None) -> tuple[Worker, Worker]:
        pair = (Worker(app, ratelimit_url, tmp_path, "worker1"), Worker(app, ratelimit_url, tmp_path, "worker2"))
        started.extend(pair)
        storage = "RedisStorage" if ratelimit_url else "MemoryStorage"
        for worker in pair:
            assert worker.read() == {"ready": True, "storage": storage, "strategy": "MovingWindowRateLimiter"}
        return pair

    yield _start
    for worker in started:
        worker.stop()


def _is_429(answer: dict) -> bool:
    return answer["status"] == 429 and answer["retry_after"] == "60"


# ---------------------------------------------------------------- tests
def test_two_workers_share_the_failed_login_count_through_redis(workers, redis_url, db):
    from tests.factories import make_user

    victim, other = make_user("principal").username, make_user("consultant").username
    db.session.commit()  # and no reading after it: this process then holds no SQLite lock the workers wait for
    one, two = workers(redis_url)
    for worker in (one, two):
        for _ in range(5):
            assert worker.login(victim)["status"] == 401
    # The 11th failure, through either worker, is refused; so is the right password for now.
    assert _is_429(one.login(victim))
    assert _is_429(two.login(victim, PASSWORD))
    # Per username too: another address trying the same account is refused.
    assert _is_429(one.login(victim, ip="10.20.0.99"))
    # Legitimate work goes on: another user from another address logs in through both workers.
    assert one.login(other, PASSWORD, ip="10.20.0.2")["status"] == 302
    assert two.login(other, PASSWORD, ip="10.20.0.2")["status"] == 302


def test_two_workers_share_the_failed_api_token_count_through_redis(workers, redis_url, db):
    from tests.api_support import token_for
    from tests.factories import make_site, make_user

    consultant = make_user("consultant", assigned=[make_site()])
    db.session.commit()
    good = token_for(consultant)  # commits last: this process holds no SQLite lock the workers wait for
    one, two = workers(redis_url)
    for n in range(10):
        answer = (one, two)[n % 2].token(f"wrong-{n}")
        assert (answer["status"], answer["code"]) == (401, "invalid_token")
    for worker in (one, two):
        answer = worker.token("wrong-10")
        assert _is_429(answer) and answer["code"] == "too_many_attempts"
        assert worker.token(good)["status"] == 200  # a right token from that address is never refused
    # Other clients are not affected.
    assert one.token(good, ip="10.20.0.2")["status"] == 200
    assert two.token(good, ip="10.20.0.2")["status"] == 200


def test_without_redis_each_worker_counts_alone(workers, db):
    """Why production with several workers needs FIVS_RATELIMIT_URL: memory counts are per process
    (and this shows the two workers above really are separate)."""
    one, two = workers(None)
    for worker in (one, two):
        for _ in range(5):
            assert worker.login("nobody")["status"] == 401
    assert one.login("nobody")["status"] == 401
    assert two.login("nobody")["status"] == 401


def test_the_redis_limit_is_a_moving_window_across_workers(workers, redis_url, db):
    """1 failure at t0 and 9 at t0+59 s: at t0+61 s the first has left the last minute, so one more
    failure is answered (401) and the next is refused. A fixed window would have restarted at t0+60 s."""
    one, two = workers(redis_url)
    t0 = time.time()

    def at(seconds: float) -> None:
        one.clock(t0 + seconds)
        two.clock(t0 + seconds)

    at(0)
    assert one.login("nobody")["status"] == 401
    at(59)
    for n in range(9):
        assert (one, two)[n % 2].login("nobody")["status"] == 401
    at(61)
    assert two.login("nobody")["status"] == 401
    assert _is_429(one.login("nobody"))
    assert _is_429(two.login("nobody"))
    at(118.5)  # the nine failures at t0+59 s are still within the last minute
    assert _is_429(one.login("nobody"))
    at(119.5)  # now they are not
    assert one.login("nobody")["status"] == 401


def test_when_redis_does_not_answer_work_goes_on_unlimited(workers, db):
    """A Redis outage must not stop logins and tablets: nothing is counted, nobody is blocked, no 500."""
    from tests.api_support import token_for
    from tests.factories import make_site, make_user

    consultant = make_user("consultant", assigned=[make_site()])
    db.session.commit()
    username = consultant.username
    good = token_for(consultant)  # commits last: this process holds no SQLite lock the workers wait for
    one, two = workers(f"redis://127.0.0.1:{_free_port()}")  # nothing listens there
    for worker in (one, two):
        for n in range(12):
            assert worker.login(username)["status"] == 401
            assert worker.token(f"wrong-{n}")["status"] == 401
        assert worker.login(username, PASSWORD)["status"] == 302
        assert worker.token(good)["status"] == 200


# ---------------------------------------------------------------- the worker itself
class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def _serve(config: dict) -> None:  # pragma: no cover  (runs in the worker processes)
    import limits.storage.memory
    import limits.storage.redis

    from fivs import create_app
    from fivs.extensions import limiter
    from tests.conftest import Client, _config

    answers, sys.stdout = sys.stdout, sys.stderr  # only answers go to the real stdout
    app = create_app(_config(config["database_url"], config["media_root"]))
    app.test_client_class = Client
    client = app.test_client()

    def answer(**data) -> None:
        answers.write(json.dumps(data) + "\n")
        answers.flush()

    with app.app_context():
        answer(ready=True, storage=type(limiter.limiter.storage).__name__,
               strategy=type(limiter.limiter).__name__)
        for line in sys.stdin:
            command = json.loads(line)
            environ = {"REMOTE_ADDR": command.get("ip", "10.20.0.1")}
            if command["op"] == "clock":
                clock = _Clock(command["at"])
                limits.storage.memory.time = clock
                limits.storage.redis.time = clock
                answer(clock=command["at"])
                continue
            if command["op"] == "login":
                resp = client.post("/auth/login", environ_base=environ, data={
                    "username": command["username"], "password": command["password"], "csrf_token": client.csrf()})
            else:
                resp = client.get("/api/v1/sites", environ_base=environ,
                                  headers={"Authorization": f"Bearer {command['token']}"})
            body = resp.get_json(silent=True) or {}
            answer(status=resp.status_code, retry_after=resp.headers.get("Retry-After"),
                   code=(body.get("error") or {}).get("code"))


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
