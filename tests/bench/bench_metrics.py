# ruff: noqa: S608, T201 - a standalone script: prints its figures; SQL built from our own integers
"""Benchmark: the metrics dashboard's queries over 1,000,000 interviews (``--short``: 20,000).

    .venv/bin/python tests/bench/bench_metrics.py [--short] [--interviews N] [--keep] [--explain]

Uses ``DATABASE_URL`` if set (its data is replaced!), else a PostgreSQL database of its own,
``screenbridge_bench_metrics`` on 127.0.0.1, created if missing. The data is generated set-based
(``INSERT ... SELECT generate_series``) in time order, as rows are appended in real life (so a
date range is a contiguous part of each table), with the related rows the queries read: candidates,
applications, interviews over 900 days (with their current result's band and score stamped),
results, decisions with overrides, score-card view events, stage history (pilot and baseline),
writebacks with failed attempts, review tasks and signature failures. ``--keep`` reuses data of
the same size from an earlier run.

Prints the generation time and, for three selections (the dashboard's default 12 weeks, one role
family over 12 weeks, all 1,095 days), the best and median of five timings of
``governance.metrics.compute`` plus the filter form: every query the dashboard runs.
Target: under 1 s for the default view. ``--explain`` first prints the ``EXPLAIN (ANALYZE,
BUFFERS)`` execution time of each dashboard query (default view and one role family; with
``BENCH_PLANS=1`` the plans too).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "screenbridge_bench_metrics"
FAMILIES = 20  # families 19 and 20 have no plan: baseline only
REQUISITIONS_PER_FAMILY = 10
RECRUITERS = 50
# Three years of history: 1M interviews is years of screening even for a large employer.
DAYS = 1095
PLAN_AGE_DAYS = 900  # plans went live 900 days ago; earlier manual screens are baseline


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DEFAULT_DB]).fetchone():
            c.execute(f'CREATE DATABASE "{DEFAULT_DB}"')
    return f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB}"


def _setup() -> None:
    os.environ["DATABASE_URL"] = _database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


TABLES = [
    "integrations_writebackattempt",
    "integrations_writebackjob",
    "integrations_signaturefailure",
    "integrations_applicationstagechange",
    "interviews_reviewtask",
    "governance_decision",
    "governance_auditevent",
    "interviews_interviewresult",
    "interviews_interview",
    "integrations_application",
    "integrations_candidate",
]


def _h(expr: str, salt: int, modulo: int) -> str:
    """A deterministic pseudo-random integer in [0, modulo) from ``expr``."""
    return f"mod(abs(hashint4(({expr})::int + {salt})), {modulo})"


def _generate(interviews: int) -> float:
    from django.db import connection

    from governance.roles import RECRUITER, sync_role_groups
    from integrations.models import AtsConnection, Requisition
    from interviews.models import InterviewPlan, RoleFamily, RoleFamilyMembership, Vendor
    from tests.factories import UserFactory

    started = time.perf_counter()
    baseline = interviews // 5
    apps = interviews + baseline
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    RoleFamilyMembership.objects.all().delete()
    InterviewPlan.objects.all().delete()
    Requisition.objects.all().delete()
    RoleFamily.objects.all().delete()
    Vendor.objects.all().delete()
    AtsConnection.objects.all().delete()
    sync_role_groups()
    ats = AtsConnection.objects.create(slug="bench", name="Bench", provider="greenhouse")
    vendor = Vendor.objects.create(slug="bench-vendor", name="Bench vendor", kind="generic_http")
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username__startswith="bench-").delete()
    users = [UserFactory(username=f"bench-{n}", groups=[RECRUITER]) for n in range(RECRUITERS)]
    user_ids = "ARRAY[" + ",".join(str(u.pk) for u in users) + "]"
    from django.utils import timezone

    now = timezone.now()
    plan_ids, req_ids = [], []
    for f in range(1, FAMILIES + 1):
        family = RoleFamily.objects.create(slug=f"family-{f}", name=f"Family {f}")
        for r in range(REQUISITIONS_PER_FAMILY):
            req = Requisition.objects.create(
                connection=ats, remote_id=f"req-{f}-{r}", title=f"Job {f}.{r}"
            )
            RoleFamilyMembership.objects.create(requisition=req, role_family=family)
            req_ids.append((f, req.pk))
        if f <= FAMILIES - 2:
            plan = InterviewPlan.objects.create(
                role_family=family,
                name=f"Plan {f}",
                vendor=vendor,
                vendor_test_id="t",
                status="live",
                activated_at=now - __import__("datetime").timedelta(days=PLAN_AGE_DAYS),
            )
            plan_ids.append((f, plan.pk))
    plan_reqs = [pk for f, pk in req_ids if f <= FAMILIES - 2]
    plan_of_req = dict(plan_ids)
    family_of_req = {pk: f for f, pk in req_ids}
    preq = "ARRAY[" + ",".join(map(str, plan_reqs)) + "]"
    pplan = "ARRAY[" + ",".join(str(plan_of_req[family_of_req[r]]) for r in plan_reqs) + "]"
    areq = "ARRAY[" + ",".join(str(pk) for _, pk in req_ids) + "]"
    n_preq, n_areq = len(plan_reqs), len(req_ids)
    pilot_secs = PLAN_AGE_DAYS * 86400
    all_secs = DAYS * 86400
    statements = [
        (
            "candidates",
            f"""INSERT INTO integrations_candidate (connection_id, remote_id, first_name, last_name,
                email, opted_out, is_synthetic, consents, created_at, updated_at)
            SELECT {ats.pk}, 'c' || i, 'First', 'Last' || i, '', false, false, '[]', now(), now()
            FROM generate_series(1, {apps}) i""",
        ),
        (
            "applications",
            f"""INSERT INTO integrations_application (connection_id, remote_id, candidate_id,
                requisition_id, remote_stage_id, remote_stage_name, canonical_stage,
                stage_entered_at, last_event_at, applied_at, furthest_stage_rank, created_at,
                updated_at)
            SELECT {ats.pk}, 'a' || i, i,
                CASE WHEN i <= {interviews} THEN ({preq})[1 + mod(i, {n_preq})]
                     ELSE ({areq})[1 + mod(i, {n_areq})] END,
                '', '', 'application_review', now(), now(), now(),
                -- the furthest rank of the stage history generated below
                CASE WHEN i <= {interviews} THEN (ARRAY[2, 4, 5, 6])[1 + {_h("i", 9, 4)}]
                     ELSE (ARRAY[3, 4, 5])[1 + {_h("i", 12, 3)}] END,
                now(), now()
            FROM generate_series(1, {apps}) i""",
        ),
        (
            "interviews",
            f"""INSERT INTO interviews_interview (application_id, plan_id, status, public_id,
                vendor_id, launch_source, callback_url, reminders_sent, vendor_reference,
                invite_url, is_rehearsal, stage_entered_at, invited_at, invite_attempts,
                started_at, completed_at, expires_at, ended_at, failure_reason, created_at,
                updated_at, first_decided_at, current_score, current_band)
            SELECT i, ({pplan})[1 + mod(i, {n_preq})],
                CASE WHEN h < 70 THEN 'completed' WHEN h < 80 THEN 'expired'
                     WHEN h < 84 THEN 'failed' WHEN h < 88 THEN 'cancelled'
                     WHEN h < 98 THEN 'invited' ELSE 'pending' END,
                gen_random_uuid(), {vendor.pk}, 'stage_change', '', 0, '', '', false,
                t, t + interval '5 minutes', 1, NULL,
                CASE WHEN h < 70 THEN t + interval '1 day' END, t + interval '5 days', NULL, '',
                t, t,
                -- first_decided_at: the decision generated below (75 % of completed ones)
                CASE WHEN h < 70 AND {_h("i", 6, 100)} < 75
                     THEN t + make_interval(secs => 3600 + {_h("i", 4, 72 * 3600)}) END,
                -- the current result's score and band, stamped (the results copy them below)
                s, CASE WHEN s >= 80 THEN 'strong' WHEN s >= 65 THEN 'proceed'
                        WHEN s >= 50 THEN 'borderline' WHEN s >= 0 THEN 'insufficient_evidence'
                   END
            FROM (SELECT i, {_h("i", 1, 100)} AS h,
                         CASE WHEN {_h("i", 1, 100)} < 70 THEN {_h("i", 3, 100)} END AS s,
                         now() - make_interval(secs => ({interviews} - i)::float8 * {pilot_secs}
                             / {interviews} + {_h("i", 2, 3600)}) AS t
                  FROM generate_series(1, {interviews}) i) g""",
        ),
        (
            "results",
            """INSERT INTO interviews_interviewresult (interview_id, version, is_current, score,
                band, band_thresholds, confidence, summary_bullets, flags, transcript_url,
                recording_url, report_url, artifact_retention_class, raw_payload,
                raw_payload_retention_class, received_at)
            SELECT id, 1, true, current_score, current_band,
                '[]', 0.9, '[]', '[]', '', '', '', 'sensitive', '{}', 'raw_vendor', completed_at
            FROM interviews_interview WHERE status = 'completed'""",
        ),
        (
            "decisions",
            f"""INSERT INTO governance_decision (result_id, application_id, decided_by_id, outcome,
                recommended_outcome, is_override, override_reason, override_text, card_opened_at,
                created_at, role_family_id, is_rehearsal)
            SELECT r.id, v.application_id, ({user_ids})[1 + mod(r.id, {RECRUITERS})],
                CASE WHEN o THEN 'hold' ELSE 'advance' END, 'advance', o,
                CASE WHEN o THEN 'other' ELSE '' END,
                CASE WHEN o THEN 'Bench override with a long enough reason.' ELSE '' END,
                CASE WHEN {_h("v.id", 8, 100)} < 80
                     THEN v.first_decided_at - make_interval(secs => 30 + {_h("v.id", 7, 1800)})
                END,
                v.first_decided_at, p.role_family_id, v.is_rehearsal
            FROM interviews_interviewresult r JOIN interviews_interview v ON v.id = r.interview_id
            JOIN interviews_interviewplan p ON p.id = v.plan_id
            CROSS JOIN LATERAL (SELECT {_h("v.id", 5, 100)} < 15 AS o) x
            WHERE v.first_decided_at IS NOT NULL""",
        ),
        (
            "score-card views",
            """INSERT INTO governance_auditevent (occurred_at, actor_id, actor_label, action,
                object_type, object_id, object_repr, changes, request_id, prev_hash, hash)
            SELECT d.card_opened_at,
                d.decided_by_id, 'bench', 'score_card.view', 'interviews.interviewresult',
                d.result_id::text, '', '{}', '', md5('p' || d.id) || md5('q' || d.id),
                md5('h' || d.id) || md5('k' || d.id)
            FROM governance_decision d WHERE d.card_opened_at IS NOT NULL""",
        ),
        (
            "stage history (pilot)",
            f"""INSERT INTO integrations_applicationstagechange (application_id, from_stage,
                to_stage, changed_at, recorded_at)
            SELECT v.application_id, s.from_stage, s.to_stage,
                v.stage_entered_at + make_interval(days => s.n * 3), now()
            FROM interviews_interview v
            CROSS JOIN LATERAL (VALUES
                (0, '', 'automated_interview'),
                (1, 'automated_interview', 'hiring_manager_review'),
                (2, 'hiring_manager_review', 'onsite'),
                (3, 'onsite', 'offer')) s(n, from_stage, to_stage)
            WHERE s.n <= {_h("v.id", 9, 4)}""",
        ),
        (
            "stage history (baseline)",
            f"""INSERT INTO integrations_applicationstagechange (application_id, from_stage,
                to_stage, changed_at, recorded_at)
            SELECT a.id, s.from_stage, s.to_stage,
                t + make_interval(secs => s.n * (3600 + {_h("a.id", 10, 96 * 3600)})), now()
            FROM (SELECT id, now() - make_interval(secs => ({apps} - id)::float8 * {all_secs}
                                     / {max(baseline, 1)} + {_h("id", 11, 3600)}) AS t
                  FROM integrations_application WHERE id > {interviews}) a
            CROSS JOIN LATERAL (VALUES
                (0, '', 'recruiter_screen'),
                (1, 'recruiter_screen', 'hiring_manager_review'),
                (2, 'hiring_manager_review', 'onsite')) s(n, from_stage, to_stage)
            WHERE s.n <= {_h("a.id", 12, 3)}""",
        ),
        (
            "writebacks",
            f"""INSERT INTO integrations_writebackjob (connection_id, application_id, kind, target,
                payload, status, attempts, max_attempts, idempotency_key, last_error,
                created_at, updated_at)
            SELECT {ats.pk}, d.application_id, 'custom_fields', 'decision', '{{}}',
                CASE WHEN {_h("d.id", 13, 100)} < 2 THEN 'dead' ELSE 'succeeded' END, 1, 8,
                gen_random_uuid(), '', d.created_at, d.created_at
            FROM governance_decision d""",
        ),
        (
            "writeback attempts",
            f"""INSERT INTO integrations_writebackattempt (job_id, attempt_number, started_at,
                succeeded, error)
            SELECT j.id, 1, j.created_at, false, 'HTTP 503'
            FROM integrations_writebackjob j WHERE {_h("j.id", 14, 100)} < 10""",
        ),
        (
            "review tasks",
            f"""INSERT INTO interviews_reviewtask (interview_id, result_id, reason, detail, status,
                created_at)
            SELECT r.interview_id, r.id, 'borderline', '',
                CASE WHEN {_h("r.id", 15, 100)} < 5 THEN 'open' ELSE 'done' END, r.received_at
            FROM interviews_interviewresult r WHERE r.band = 'borderline'""",
        ),
        (
            "signature failures",
            f"""INSERT INTO integrations_signaturefailure (connection_id, received_at, reason)
            SELECT {ats.pk}, now() - make_interval(secs => {_h("i", 16, all_secs)}), 'bad'
            FROM generate_series(1, {max(interviews // 100, 1)}) i""",
        ),
    ]
    with connection.cursor() as cursor:
        for label, sql in statements:
            step = time.perf_counter()
            cursor.execute(sql)
            print(f"  {label:<26} {cursor.rowcount:>10,} rows  {time.perf_counter() - step:6.1f} s")
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _count() -> int:
    from interviews.models import Interview

    return Interview.objects.count()


def _time(label: str, runs: int, **filters: object) -> float:
    import datetime as dt

    from django.db import connection, reset_queries
    from django.utils import timezone

    from governance.metrics import MetricsFilters, compute
    from governance.metrics.forms import MetricsFilterForm
    from governance.roles import HIRING_OPS_ADMIN
    from tests.factories import UserFactory

    admin = UserFactory(username=f"bench-admin-{time.monotonic_ns()}", groups=[HIRING_OPS_ADMIN])
    today = timezone.now().date()
    since = filters.pop("since", today - dt.timedelta(weeks=12) + dt.timedelta(days=1))
    timings = []
    queries = 0
    for _ in range(runs):
        reset_queries()
        connection.force_debug_cursor = True
        started = time.perf_counter()
        form = MetricsFilterForm({}, viewer=admin)
        form.is_valid()
        [list(field.field.queryset) for field in form if hasattr(field.field, "queryset")]
        report = compute(MetricsFilters(since=since, until=today, **filters), viewer=admin)
        timings.append(time.perf_counter() - started)
        queries = len(connection.queries)
        connection.force_debug_cursor = False
    best, median = min(timings), statistics.median(timings)
    print(
        f"{label:<44} best {best:6.3f} s  median {median:6.3f} s  ({queries} queries; "
        f"{report.pilot.completion.invited:,} invited, "
        f"{report.baseline.time_to_screen_hours.count:,} baseline screens)"
    )
    return median


def _explain(label: str, **filters: object) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every query ``compute`` runs: execution time and buffers."""
    import datetime as dt
    import re

    from django.db import connection, reset_queries, transaction
    from django.utils import timezone

    from governance.metrics import MetricsFilters, compute
    from governance.roles import HIRING_OPS_ADMIN
    from tests.factories import UserFactory

    admin = UserFactory(username=f"bench-admin-{time.monotonic_ns()}", groups=[HIRING_OPS_ADMIN])
    today = timezone.now().date()
    since = today - dt.timedelta(weeks=12) + dt.timedelta(days=1)
    reset_queries()
    connection.force_debug_cursor = True
    compute(MetricsFilters(since=since, until=today, **filters), viewer=admin)
    connection.force_debug_cursor = False
    statements = [q["sql"] for q in connection.queries if q["sql"].lstrip().startswith("SELECT")]
    print(f"EXPLAIN (ANALYZE, BUFFERS), {label}:")
    total = 0.0
    for number, sql in enumerate(statements, 1):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        ms = float(re.search(r"Execution Time: ([0-9.]+) ms", plan).group(1))
        total += ms
        if os.environ.get("BENCH_PLANS"):
            print(plan)
        tables = re.findall(r'FROM "(\w+)"', sql)
        print(f"  {number:>2}. {ms:9.1f} ms  {tables[0] if tables else ''}: {sql[:100]}")
    print(f"  total execution {total:.1f} ms over {len(statements)} queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="20,000 interviews")
    parser.add_argument("--interviews", type=int, help="number of interviews to generate")
    parser.add_argument("--keep", action="store_true", help="reuse data of the same size")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query")
    args = parser.parse_args()
    size = args.interviews or (20_000 if args.short else 1_000_000)
    _setup()
    from django.conf import settings

    settings.DEBUG = False
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("the metrics bench needs PostgreSQL (set DATABASE_URL or run one)")
    print(f"Database {db['NAME']}; {size:,} interviews")
    if args.keep and _count() == size:
        print("Reusing the existing data (--keep).")
    else:
        print(f"Generated in {_generate(size):.1f} s")
    from interviews.models import RoleFamily

    family = RoleFamily.objects.get(slug="family-1")
    import datetime as dt

    from django.utils import timezone

    if args.explain:
        _explain("default 12 weeks")
        _explain("one role family, 12 weeks", role_family_id=family.pk)
    target = _time("dashboard, default (12 weeks, everything)", args.runs)
    _time("dashboard, one role family, 12 weeks", args.runs, role_family_id=family.pk)
    _time(
        f"dashboard, everything, {DAYS} days",
        max(1, args.runs // 2),
        since=timezone.now().date() - dt.timedelta(days=DAYS),
    )
    verdict = "meets" if target < 1.0 else "MISSES"
    print(f"Default dashboard median {target:.3f} s: {verdict} the 1 s target.")


if __name__ == "__main__":
    main()
