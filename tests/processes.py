"""Real Redis and a real Celery worker for end-to-end tests.

``redis_server`` starts a private redis-server on a free loopback port (so a test can stop and
restart "the broker" without touching the machine's shared Redis). ``celery_worker`` starts
``celery -A config worker`` as a subprocess against that Redis and the test database, which
must be PostgreSQL (an in-memory SQLite test database cannot be shared with another process).

Both skip when their prerequisites are missing, unless REQUIRE_CELERY=1 (set by CI): then they
fail, so a missing service can never pass silently.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("REQUIRE_CELERY") == "1":
        pytest.fail(f"REQUIRE_CELERY=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], *, timeout: float = 30.0, what: str = "") -> None:
    """Poll ``predicate`` until it is true; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")


class RedisServer:
    """A private redis-server process that can be stopped and started again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.is_up, timeout=10, what=f"redis on port {self.port}")

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        _skip_or_fail("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class CeleryWorker:
    """One ``celery worker`` subprocess (prefork, one child by default) bound to a private queue."""

    concurrency = 1

    def __init__(self, broker_url: str, database_url: str, logdir: Path) -> None:
        self.broker_url = broker_url
        self.database_url = database_url
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.logdir = logdir
        # Consumed in this order of priority (Redis, "queue_order_strategy": "priority").
        self.queues: tuple[str, ...] = (self.queue,)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.logdir / f"worker-{self.starts}.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": self.database_url,
                "CELERY_BROKER_URL": self.broker_url,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "CELERY_TASK_DEFAULT_QUEUE": self.queue,
                # A lost worker's unacknowledged task comes back quickly in tests.
                "CELERY_VISIBILITY_TIMEOUT": "5",
                # libpq names the worker's PostgreSQL sessions (pg_stat_activity) after it.
                "PGAPPNAME": self.queue,
            }
        )
        return env

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "INFO",
                "--queues",
                ",".join(self.queues),
                "--hostname",
                f"{self.queue}-{self.starts}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: b" ready." in self.log_path.read_bytes(), timeout=60, what="worker ready")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        assert self.process is not None
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            if int(fields[1]) == self.process.pid:  # field 4 of /proc/<pid>/stat: the parent
                children.append(int(stat.parent.name))
        return children

    def kill_child(self) -> None:
        """SIGKILL the pool process that runs tasks (the parent survives and sees it lost)."""
        for pid in self.child_pids():
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings['NAME']}"


def _reset_producer_pool(app: Any) -> None:
    """Drop pooled broker connections so the next publish uses the current broker_url."""
    # What Celery itself does after a fork: forget the pools so they are rebuilt for the
    # current broker_url (kombu keeps one pool per broker URL, so none is closed here).
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(
    transactional_db: Any, role_groups: None, redis_server: RedisServer, tmp_path: Path
) -> Iterator[CeleryWorker]:
    """A real worker on a private Redis; the test process publishes to the same queue."""
    if connection.vendor != "postgresql":
        _skip_or_fail("the Celery worker tests need DATABASE_URL to point at PostgreSQL")
    from config.celery import app

    worker = CeleryWorker(redis_server.url, _database_url(), tmp_path)
    saved = {
        key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")
    }
    app.conf.update(
        task_always_eager=False, broker_url=redis_server.url, task_default_queue=worker.queue
    )
    _reset_producer_pool(app)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.update(saved)
        _reset_producer_pool(app)


# -- a private PostgreSQL cluster (PostgreSQL restart faults) ---------------------------------


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), if any."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


class PostgresCluster:
    """A throw-away PostgreSQL cluster on a free loopback port that a test may stop and restart.

    Never the machine's shared PostgreSQL (other sessions use it). Run as root, the server runs
    as the ``postgres`` user (PostgreSQL refuses to run as root).
    """

    def __init__(self, workdir: Path, bindir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.bindir = bindir
        self.data = workdir / "pgdata"

    def _run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.workdir / "postgres.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return "\n".join("|".join(str(v) for v in row) for row in rows)


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster (skips when the server binaries are not installed).

    Skipped on SQLite test runs too, like the worker tests: the PostgreSQL faults belong to the
    PostgreSQL run.
    """
    if connection.vendor != "postgresql":
        _skip_or_fail("the PostgreSQL fault tests run when DATABASE_URL points at PostgreSQL")
    bindir = postgres_bindir()
    if bindir is None:
        _skip_or_fail("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    assert bindir is not None
    workdir = Path(tempfile.mkdtemp(prefix="sb-pg-"))  # /tmp: tmp_path may be unreadable
    cluster = PostgresCluster(workdir, bindir)
    try:
        cluster.init()
        cluster.start()
    except (subprocess.SubprocessError, OSError, LookupError) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        _skip_or_fail(f"a private PostgreSQL cluster could not be started: {exc}")
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):  # stopped by the test already
            cluster.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


# -- the app under gunicorn (fault tests and benchmarks) ----------------------------------------


def migrate(env: dict[str, str]) -> None:
    """``manage.py migrate`` with ``env`` (e.g. against a private database)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )


class Gunicorn:
    """``gunicorn`` serving ``wsgi`` on a free loopback port (gthread workers)."""

    def __init__(
        self,
        env: dict[str, str],
        logdir: Path,
        *,
        workers: int = 2,
        threads: int = 4,
        wsgi: str = "config.wsgi:application",
    ) -> None:
        self.env = env
        self.logdir = logdir
        self.workers = workers
        self.threads = threads
        self.wsgi = wsgi
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.logdir / "gunicorn.log"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                self.wsgi,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not listen on {self.port}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
