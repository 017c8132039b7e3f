"""Real Redis and a real Celery worker for end-to-end tests.

``redis_server`` starts a private redis-server on a free loopback port (so a test can stop and
restart "the broker" without touching the machine's shared Redis). ``celery_worker`` starts
``celery -A config worker`` as a subprocess against that Redis and the test database, which
must be PostgreSQL (an in-memory SQLite test database cannot be shared with another process).

Both skip when their prerequisites are missing, unless REQUIRE_CELERY=1 (set by CI): then they
fail, so a missing service can never pass silently.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
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
    """One ``celery worker`` subprocess (prefork, one child) bound to a private queue."""

    def __init__(self, broker_url: str, database_url: str, logdir: Path) -> None:
        self.broker_url = broker_url
        self.database_url = database_url
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.logdir = logdir
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
                "1",
                "--loglevel",
                "INFO",
                "--queues",
                self.queue,
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
