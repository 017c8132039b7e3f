"""Webhook acknowledgement under gunicorn on PostgreSQL, beside a minimal baseline view.

    .venv/bin/python tests/bench/bench_webhook.py [--short] [--requests N] [--workers 2]

The real app runs under gunicorn (gthread, ``--workers 2 --threads 4`` by default) with the
production settings on PostgreSQL and a private Redis as broker (no Celery worker consumes it:
this measures the acknowledgement path only — verify, store, enqueue, answer). Signed Greenhouse
``candidate_stage_change`` deliveries, 5 % of them repeats of an earlier delivery id, are sent by
a load generator on the same machine (2 processes × 4 threads, keep-alive connections) to:

- ``/webhooks/ats/<slug>/`` — the real endpoint;
- ``/bench/baseline/`` — a bench-only view that checks the same HMAC and inserts one row.

Figures: requests/s, p50 and p99 latency for each, and the ratio real / baseline. Targets
(docs/operations.md): ratio ≥ 0.6; real ≥ 300 requests/s with p99 ≤ 100 ms on 2 cores.
Also the server-side CPU per request (gunicorn workers + their PostgreSQL backends + Redis, read
from /proc over the best round): on a shared 2-core machine requests/s move with whatever else
runs, CPU per request much less, so it is the figure to compare changes with.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _support import BASE_DIR, bench_database_url, figure, percentile, say

from tests.processes import Gunicorn, RedisServer, migrate

SLUG = "bench-greenhouse"
FIXTURE = BASE_DIR / "tests" / "fixtures" / "greenhouse" / "candidate_stage_change.json"
PROCESSES = 2
THREADS = 4


def _env(database_url: str, broker_url: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.bench.webhook_settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "SCREENBRIDGE_FIELD_ENCRYPTION_KEY": "bench-field-encryption-key",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "BENCH_WEBHOOK_SECRET": secret,
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(BASE_DIR),
        }
    )
    return env


SETUP = """
from django.db import connection as db
from integrations.models import AtsConnection
from tests.bench.baseline_urls import TABLE_DDL
connection, _ = AtsConnection.objects.update_or_create(
    slug={slug!r},
    defaults={{"name": "Greenhouse (bench)", "provider": "greenhouse", "active": True}},
)
connection.set_webhook_secret({secret!r})
connection.save()
with db.cursor() as cursor:
    cursor.execute(TABLE_DDL)
"""


def _deliveries(run: str, worker: int, count: int, secret: str) -> list[tuple[bytes, dict]]:
    """Signed deliveries; every 20th repeats the one before it (5 % duplicates)."""
    template = json.loads(FIXTURE.read_bytes())
    out: list[tuple[bytes, dict]] = []
    for n in range(count):
        if n % 20 == 19:
            out.append(out[-1])
            continue
        template["payload"]["application"]["id"] = 10_000_000 * (worker + 1) + n
        body = json.dumps(template).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "Signature": f"sha256 {signature}",
            "Greenhouse-Event-ID": f"{run}-{worker}-{n}",
            "X-Forwarded-Proto": "https",  # as the TLS-terminating proxy sets it
        }
        out.append((body, headers))
    return out


def _load_worker(args: tuple) -> tuple[list[float], dict[int, int], float, float]:
    port, path, run, worker, count, secret, start_at = args
    requests = _deliveries(run, worker, count, secret)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def thread_main(share: list[tuple[bytes, dict]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        codes: dict[int, int] = {}
        for body, headers in share:
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            local.append(time.perf_counter() - began)
            codes[status] = codes.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)
            for code, seen in codes.items():
                statuses[code] = statuses.get(code, 0) + seen

    # Consecutive deliveries go to the same thread, so a duplicate follows its original.
    size = -(-len(requests) // THREADS)
    shares = [requests[i : i + size] for i in range(0, len(requests), size)]
    threads = [threading.Thread(target=thread_main, args=(share,)) for share in shares]
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, began, time.time()


def _cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still running (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def _server_pids(server: Gunicorn, redis: RedisServer, database_url: str) -> dict[int, str]:
    """The gunicorn workers, the database's client backends and redis-server, by role."""
    import psycopg

    master = server.process.pid if server.process else 0
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        children = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    pids = {int(pid): "gunicorn" for pid in children} | {row[0]: "postgres" for row in rows}
    if redis.process is not None:
        pids[redis.process.pid] = "redis"
    return pids


def measure(
    port: int, path: str, total: int, secret: str, cpu: tuple | None = None
) -> dict[str, float]:
    """One round; ``cpu`` = (server, redis, database_url) adds server CPU ms per request."""
    roles = _server_pids(*cpu) if cpu else {}
    before = _cpu_seconds(set(roles))
    run = uuid.uuid4().hex[:8]
    per_process = total // PROCESSES
    start_at = time.time() + 1.5  # every load process has built its requests by then
    jobs = [(port, path, run, w, per_process, secret, start_at) for w in range(PROCESSES)]
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(_load_worker, jobs)
    latencies = [value for result in results for value in result[0]]
    statuses: dict[int, int] = {}
    for result in results:
        for code, seen in result[1].items():
            statuses[code] = statuses.get(code, 0) + seen
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    by_role = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
    if cpu:
        roles = _server_pids(*cpu) | roles
        after = _cpu_seconds(set(roles))
        for pid, seconds in after.items():
            by_role[roles[pid]] += 1000 * (seconds - before.get(pid, 0.0)) / len(latencies)
    return {
        "cpu_ms": sum(by_role.values()),
        "cpu_split": " + ".join(f"{role} {ms:.2f}" for role, ms in by_role.items()),
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "errors": sum(seen for code, seen in statuses.items() if code != 200),
        "count": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a quick run (well under a minute)")
    parser.add_argument("--requests", type=int, help="requests per endpoint and round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()
    total = args.requests or (500 if args.short else 4_000)
    rounds = 1 if args.short else 2

    database_url = bench_database_url("webhook")
    secret = secrets.token_hex(24)
    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-webhook-"))
    redis = RedisServer(workdir)
    redis.start()
    server = None
    try:
        env = _env(database_url, redis.url, secret)
        say(f"Database {database_url.rsplit('/', 1)[-1]}: migrating and configuring…")
        migrate(env)
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP.format(slug=SLUG, secret=secret)],
            cwd=BASE_DIR,
            env=env,
            check=True,
            timeout=120,
        )
        server = Gunicorn(env, workdir, workers=args.workers, threads=args.threads)
        server.start()
        say(
            f"gunicorn gthread {args.workers}×{args.threads} on :{server.port}; "
            f"load {PROCESSES} processes × {THREADS} threads; {total} requests per endpoint "
            f"and round, {rounds} round(s), 5 % duplicates"
        )
        real_path = f"/webhooks/ats/{SLUG}/"
        for path in (real_path, "/bench/baseline/"):  # warm both up
            measure(server.port, path, 100 if args.short else 400, secret)
        best: dict[str, dict[str, float]] = {}
        for round_number in range(1, rounds + 1):
            for name, path in (("webhook", real_path), ("baseline", "/bench/baseline/")):
                result = measure(
                    server.port, path, total, secret, cpu=(server, redis, database_url)
                )
                say(
                    f"  round {round_number} {name:8}: {result['rps']:7.1f} req/s  "
                    f"p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
                    f"server CPU {result['cpu_ms']:.2f} ms/req ({result['cpu_split']})  "
                    f"non-200 {result['errors']}"
                )
                if result["errors"]:
                    say(server.log()[-3000:])
                    sys.exit(f"{name}: {result['errors']} requests were not answered 200")
                if name not in best or result["rps"] > best[name]["rps"]:
                    best[name] = result
    finally:
        if server is not None:
            server.stop()
        redis.stop()

    real, base = best["webhook"], best["baseline"]
    ratio = real["rps"] / base["rps"]
    figure("webhook_ack_rps", real["rps"], "req/s")
    figure("webhook_ack_p50", real["p50"], "ms")
    figure("webhook_ack_p99", real["p99"], "ms")
    figure("baseline_rps", base["rps"], "req/s")
    figure("baseline_p50", base["p50"], "ms")
    figure("baseline_p99", base["p99"], "ms")
    figure("webhook_to_baseline_ratio", ratio)
    figure("webhook_server_cpu_per_request", real["cpu_ms"], "ms")
    figure("baseline_server_cpu_per_request", base["cpu_ms"], "ms")
    met = ratio >= 0.6 and real["rps"] >= 300 and real["p99"] <= 100
    say(f"targets (ratio ≥ 0.6, ≥ 300 req/s, p99 ≤ 100 ms): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
