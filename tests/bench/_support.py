"""Shared pieces of the benchmarks (``tests/bench/bench_*.py``; not collected by pytest).

- :func:`bench_database_url`: ``DATABASE_URL`` if set, else a PostgreSQL database of the bench's
  own (``screenbridge_bench_<name>`` on 127.0.0.1:5432, created if missing);
- :func:`figure`: every figure is printed as ``FIGURE <key> = <value> <unit>`` so `make bench`
  output can be read by people and grepped by scripts;
- :func:`percentile`: nearest-rank percentile of latencies.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

SHARED_PG = "postgres://postgres@127.0.0.1:5432"


def bench_database_url(name: str, *, fresh: bool = False) -> str:
    """The database a bench uses; exits with a clear message when PostgreSQL is unreachable.

    ``fresh``: the bench's own database is dropped and created again (never a DATABASE_URL).
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            sys.exit("the benchmarks need PostgreSQL: DATABASE_URL must be a postgres:// URL")
        return url
    import psycopg

    dbname = f"screenbridge_bench_{name}"
    try:
        with psycopg.connect(f"{SHARED_PG}/postgres", autocommit=True, connect_timeout=5) as conn:
            if fresh:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{dbname}"')
    except psycopg.OperationalError as exc:
        sys.exit(
            f"PostgreSQL is not reachable at {SHARED_PG} ({exc}).\n"
            "Start it (see .ci/run) or set DATABASE_URL to a PostgreSQL database."
        )
    return f"{SHARED_PG}/{dbname}"


def figure(key: str, value: float | int | str, unit: str = "") -> None:
    if isinstance(value, float):
        value = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    say(f"FIGURE {key} = {value} {unit}".rstrip())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def say(message: str) -> None:
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()
