"""Benchmark of the retention purge: N artifacts across four policies, some under legal hold.

    .venv/bin/python tests/bench/bench_purge.py [--short] [--artifacts N] [--batch-size N]

Uses ``DATABASE_URL`` if set, else PostgreSQL ``screenbridge_bench_purge`` on 127.0.0.1 (created
if missing; its tables are emptied first). Builds, with bulk inserts:

- results with a recording and a transcript (two artifacts each; requisitions closed 100 days
  ago; policies: 90 days after requisition close) — 60 % of the artifacts;
- processed webhook bodies received 40 days ago (policy: 30 days) — 25 %;
- processed vendor event bodies received 40 days ago (policy: 30 days) — 15 %;
- a legal hold on 0.25 % of the candidates (their results must stay untouched; at most 500 held
  ids are matched against raw bodies, so the hold count is kept below that).

Then it runs the dry run (must change nothing), the purge (timed), and checks that held rows
are untouched and that the receipts add up to what was purged. Prints the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/screenbridge_bench_purge"


def say(text: str) -> None:
    """Print one line of the bench's figures (flushed: the run is long)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="10,000 artifacts")
    parser.add_argument("--artifacts", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    total = args.artifacts or (10_000 if args.short else 200_000)

    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    _ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(total, args.batch_size)


def _reset() -> None:
    from django.db import connection

    from governance.models import (
        DataRequest,
        DeletionReceipt,
        LegalHold,
        RetentionPolicy,
    )
    from integrations.models import (
        Application,
        AtsConnection,
        Candidate,
        InboundEvent,
        Requisition,
    )
    from interviews.models import (
        Interview,
        InterviewPlan,
        InterviewResult,
        RoleFamily,
        RoleFamilyMembership,
        Vendor,
        VendorEvent,
    )

    models = [
        DeletionReceipt,
        DataRequest,
        LegalHold,
        RetentionPolicy,
        InterviewResult,
        Interview,
        InterviewPlan,
        RoleFamilyMembership,
        RoleFamily,
        VendorEvent,
        Vendor,
        InboundEvent,
        Application,
        Candidate,
        Requisition,
        AtsConnection,
    ]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            for model in models:
                model.objects.all().delete()


def run(total: int, batch_size: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from governance.models import (
        AnchorEvent,
        DataCategory,
        DeletionReceipt,
        LegalHold,
        RetentionPolicy,
    )
    from governance.retention import purge_expired
    from integrations.models import (
        Application,
        AtsConnection,
        Candidate,
        InboundEvent,
        Requisition,
        RequisitionStatus,
    )
    from interviews.models import (
        Interview,
        InterviewPlan,
        InterviewResult,
        InterviewStatus,
        RoleFamily,
        RoleFamilyMembership,
        Vendor,
        VendorEvent,
        VendorKind,
    )

    now = timezone.now()
    n_results = int(total * 0.6) // 2
    n_inbound = int(total * 0.25)
    n_vendor = total - 2 * n_results - n_inbound
    chunk = 5000
    say(f"database: {connection.vendor} · {total:,} artifacts · batch size {batch_size}")

    started = time.monotonic()
    _reset()
    user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    connection_ = AtsConnection.objects.create(slug="bench", name="Bench", provider="greenhouse")
    vendor = Vendor.objects.create(slug="bench-vendor", name="Bench", kind=VendorKind.REHEARSAL)
    family = RoleFamily.objects.create(slug="bench", name="Bench")
    plan = InterviewPlan.objects.create(
        role_family=family, name="Bench", vendor=vendor, vendor_test_id="t"
    )
    requisitions = Requisition.objects.bulk_create(
        Requisition(
            connection=connection_,
            remote_id=f"r{i}",
            title="Support",
            location="Austin, TX",
            status=RequisitionStatus.CLOSED,
            closed_at=now - dt.timedelta(days=100),
        )
        for i in range(200)
    )
    RoleFamilyMembership.objects.bulk_create(
        RoleFamilyMembership(requisition=r, role_family=family) for r in requisitions
    )
    completed = now - dt.timedelta(days=120)
    for start in range(0, n_results, chunk):
        size = min(chunk, n_results - start)
        candidates = Candidate.objects.bulk_create(
            Candidate(connection=connection_, remote_id=f"c{start + i}", first_name="A")
            for i in range(size)
        )
        applications = Application.objects.bulk_create(
            Application(
                connection=connection_,
                remote_id=f"a{start + i}",
                candidate=candidate,
                requisition=requisitions[(start + i) % len(requisitions)],
            )
            for i, candidate in enumerate(candidates)
        )
        interviews = Interview.objects.bulk_create(
            Interview(
                application=application,
                plan=plan,
                vendor=vendor,
                status=InterviewStatus.COMPLETED,
                vendor_reference=f"v{start + i}",
                completed_at=completed,
            )
            for i, application in enumerate(applications)
        )
        InterviewResult.objects.bulk_create(
            InterviewResult(
                interview=interview,
                score=70,
                band="proceed",
                recording_url=f"https://vendor.example/r/{interview.pk}",
                transcript_url=f"https://vendor.example/t/{interview.pk}",
            )
            for interview in interviews
        )
    old = now - dt.timedelta(days=40)
    for start in range(0, n_inbound, chunk):
        InboundEvent.objects.bulk_create(
            InboundEvent(
                connection=connection_,
                delivery_id=f"d{start + i}",
                action="candidate_stage_change",
                raw_body='{"payload": {"application": {"id": "x"}}}',
                status="processed",
                received_at=old,
            )
            for i in range(min(chunk, n_inbound - start))
        )
    for start in range(0, n_vendor, chunk):
        VendorEvent.objects.bulk_create(
            VendorEvent(
                vendor=vendor,
                delivery_id=f"m{start + i}",
                raw_body='{"type": "interview.completed"}',
                status="processed",
                received_at=old,
            )
            for i in range(min(chunk, n_vendor - start))
        )
    # A hold on every 400th candidate (0.25 %; raw bodies are matched against at most 500 held
    # ids, so a run with more holds keeps every raw body — see governance.retention).
    held_candidates = list(Candidate.objects.order_by("pk").values_list("pk", flat=True)[::400])
    with transaction.atomic():
        LegalHold.objects.bulk_create(
            LegalHold(reason="bench hold", candidate_id=pk, placed_by=user)
            for pk in held_candidates
        )
    for category, days, anchor in [
        (DataCategory.RECORDING, 90, AnchorEvent.REQUISITION_CLOSED),
        (DataCategory.TRANSCRIPT, 90, AnchorEvent.REQUISITION_CLOSED),
        (DataCategory.INBOUND_EVENT, 30, AnchorEvent.RECEIVED),
        (DataCategory.RAW_VENDOR_PAYLOAD, 30, AnchorEvent.RECEIVED),
    ]:
        RetentionPolicy.objects.create(
            name=f"bench {category}", data_category=category, retention_days=days, anchor=anchor
        )
    held = len(held_candidates)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a bulk load like this one
    say(f"setup: {time.monotonic() - started:.1f} s ({held:,} candidates under legal hold)")

    expected = 2 * (n_results - held) + n_inbound + n_vendor
    t0 = time.monotonic()
    dry = purge_expired(dry_run=True)
    dry_seconds = time.monotonic() - t0
    dry_total = sum(o.count for o in dry)
    untouched = (
        InterviewResult.objects.exclude(recording_url="").count() == n_results
        and not InboundEvent.objects.filter(raw_body="").exists()
        and not DeletionReceipt.objects.exists()
    )
    say(
        f"dry run: {dry_total:,} rows would go in {dry_seconds:.2f} s; nothing changed: {untouched}"
    )
    for outcome in dry:
        say(f"  {outcome.policy.name:<28} {outcome.model:<28} {outcome.count:>9,}")

    t0 = time.monotonic()
    outcomes = purge_expired(batch_size=batch_size)
    seconds = time.monotonic() - t0
    purged = sum(o.count for o in outcomes)
    receipts = DeletionReceipt.objects.all()
    receipt_total = sum(receipts.values_list("count", flat=True))
    held_untouched = (
        InterviewResult.objects.filter(
            interview__application__candidate_id__in=held_candidates, recording_url__gt=""
        ).count()
        == held
    )
    confirmed = not receipts.exclude(vendor_status__in=["confirmed", "not_needed"]).exists()
    say(
        f"purge: {purged:,} artifacts in {seconds:.2f} s "
        f"({purged / seconds:,.0f} rows/s, {receipts.count()} receipts of ≤ {batch_size})"
    )
    say(f"expected {expected:,}; dry run {dry_total:,}; receipts add up to {receipt_total:,}")
    say(f"legal-held rows untouched: {held_untouched}; vendor deletions confirmed: {confirmed}")
    ok = (
        untouched
        and held_untouched
        and confirmed
        and purged == expected == dry_total == receipt_total
    )
    say("OK" if ok else "MISMATCH")
    _reset()
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
