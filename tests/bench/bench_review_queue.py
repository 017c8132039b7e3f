"""Review queue and score card at scale: response time and query count per page.

    .venv/bin/python tests/bench/bench_review_queue.py [--short]

Generates (once per database; later runs reuse it) 100,000 applications on one ATS connection
across 50 requisitions, 20,000 of them with a completed interview, a current result with two
competency scores and an open review task (``--short``: 10,000 and 2,000). A recruiter with
access to every requisition then loads, through the real views (Django test client, in
process, PostgreSQL): the queue's first page, a filtered page, a deep page, the htmx table
partial, and one score card. Each is timed over 5 loads (median) with its SQL query count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from _support import bench_database_url, figure, say

BATCH = 5_000
REQUISITIONS = 50


def _setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from tests.processes import migrate

    migrate(dict(os.environ))


def generate(slug: str, applications: int, reviews: int) -> Any:
    """The data set (idempotent: an existing complete set is reused)."""
    from django.db import transaction
    from django.utils import timezone

    from governance.models import AccessRole
    from governance.roles import RECRUITER, sync_role_groups
    from integrations.models import (
        Application,
        AtsConnection,
        Candidate,
        CanonicalStage,
    )
    from interviews.models import (
        CompetencyScore,
        Interview,
        InterviewResult,
        InterviewStatus,
        ReviewReason,
        ReviewStatus,
        ReviewTask,
    )
    from interviews.scoring import band_for, is_borderline
    from tests.factories import (
        AtsConnectionFactory,
        CompetencyFactory,
        InterviewPlanFactory,
        RequisitionAccessFactory,
        RequisitionFactory,
        RoleFamilyFactory,
        UserFactory,
        VendorFactory,
    )

    sync_role_groups()
    existing = AtsConnection.objects.filter(slug=slug).first()
    if existing is not None:
        have = ReviewTask.objects.filter(interview__application__connection=existing).count()
        if have == reviews:
            say(f"Reusing the data set {slug!r} ({applications} applications, {reviews} reviews)")
            return existing
        sys.exit(f"an incomplete data set {slug!r} exists: drop the bench database and rerun")

    started = time.monotonic()
    say(f"Generating {applications} applications and {reviews} open review tasks…")
    with transaction.atomic():
        connection = AtsConnectionFactory(slug=slug, provider="greenhouse")
        # Explicit slugs: factory sequences restart in every process, the database persists.
        plan = InterviewPlanFactory(
            role_family=RoleFamilyFactory(slug=f"{slug}-family", name=f"Support {slug}"),
            vendor=VendorFactory(slug=f"{slug}-vendor"),
            vendor_test_id=f"{slug}-test",
        )
        competencies = [
            CompetencyFactory(plan=plan, key="empathy", name="Empathy"),
            CompetencyFactory(plan=plan, key="clarity", name="Clarity"),
        ]
        requisitions = [
            RequisitionFactory(connection=connection, department="Customer Experience")
            for _ in range(REQUISITIONS)
        ]
        reviewer = UserFactory(username=f"{slug}-reviewer", groups=[RECRUITER])
        for requisition in requisitions:
            RequisitionAccessFactory(
                user=reviewer, requisition=requisition, role=AccessRole.RECRUITER
            )
    from interviews.models import RoleFamilyMembership

    RoleFamilyMembership.objects.bulk_create(
        [RoleFamilyMembership(requisition=r, role_family=plan.role_family) for r in requisitions]
    )
    now = timezone.now()
    thresholds = list(plan.band_thresholds)
    reasons = [ReviewReason.BORDERLINE, ReviewReason.LOW_CONFIDENCE, ReviewReason.PILOT_SAMPLE]
    for start in range(0, applications, BATCH):
        stop = min(start + BATCH, applications)
        with transaction.atomic():
            candidates = Candidate.objects.bulk_create(
                [
                    Candidate(
                        connection=connection,
                        remote_id=f"c{n}",
                        first_name=f"First{n}",
                        last_name=f"Last{n}",
                        email=f"candidate{n}@example.com",
                        consents=["ai_interview"],
                    )
                    for n in range(start, stop)
                ]
            )
            interviewed = [n for n in range(start, stop) if n < reviews]
            apps = Application.objects.bulk_create(
                [
                    Application(
                        connection=connection,
                        remote_id=f"a{n}",
                        candidate=candidates[n - start],
                        requisition=requisitions[n % REQUISITIONS],
                        remote_stage_id="s1",
                        remote_stage_name="AI Interview" if n < reviews else "Application Review",
                        canonical_stage=(
                            CanonicalStage.AUTOMATED_INTERVIEW
                            if n < reviews
                            else CanonicalStage.APPLICATION_REVIEW
                        ),
                        applied_at=now - dt.timedelta(days=3, minutes=n),
                        stage_entered_at=now - dt.timedelta(days=2, minutes=n),
                        last_event_at=now - dt.timedelta(days=2, minutes=n),
                    )
                    for n in range(start, stop)
                ]
            )
            if not interviewed:
                say(f"  {stop} applications")
                continue
            interviews = Interview.objects.bulk_create(
                [
                    Interview(
                        application=apps[n - start],
                        plan=plan,
                        vendor=plan.vendor,
                        status=InterviewStatus.COMPLETED,
                        vendor_reference=f"v{n}",
                        invite_url=f"https://vendor.example/i/v{n}",
                        stage_entered_at=now - dt.timedelta(days=2, minutes=n),
                        invited_at=now - dt.timedelta(days=2, minutes=n - 5),
                        started_at=now - dt.timedelta(days=1, minutes=n),
                        completed_at=now - dt.timedelta(hours=20, minutes=n),
                        ended_at=now - dt.timedelta(hours=20, minutes=n),
                        expires_at=now + dt.timedelta(days=5),
                    )
                    for n in interviewed
                ]
            )
            results = []
            for n, interview in zip(interviewed, interviews, strict=True):
                score = Decimal(40 + (n * 7) % 60)
                results.append(
                    InterviewResult(
                        interview=interview,
                        version=1,
                        is_current=True,
                        score=score,
                        band_thresholds=thresholds,
                        band=band_for(score, thresholds),
                        flags=(
                            ["borderline"]
                            if is_borderline(score, thresholds, plan.borderline_margin)
                            else []
                        ),
                        confidence=0.9,
                        summary_bullets=["Restated the problem.", "Named the trade-off."],
                        transcript_url=f"https://vendor.example/t/v{n}",
                        report_url=f"https://vendor.example/r/v{n}",
                        raw_payload={"score": str(score)},
                    )
                )
            results = InterviewResult.objects.bulk_create(results)
            CompetencyScore.objects.bulk_create(
                [
                    CompetencyScore(
                        result=result,
                        competency=competency,
                        score=Decimal(60 + i * 10),
                        evidence="Gave a concrete example.",
                    )
                    for result in results
                    for i, competency in enumerate(competencies)
                ]
            )
            ReviewTask.objects.bulk_create(
                [
                    ReviewTask(
                        interview=interview,
                        result=result,
                        reason=reasons[n % len(reasons)],
                        detail="Generated for the benchmark.",
                        status=ReviewStatus.OPEN,
                    )
                    for n, interview, result in zip(interviewed, interviews, results, strict=True)
                ]
            )
        say(f"  {stop} applications")
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("ANALYZE")
    say(f"Generated in {time.monotonic() - started:.0f} s")
    return connection


def timed(client: Any, url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    """Median milliseconds over 5 loads (after one warm-up) and the query count of one load."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers=headers or {})
    return statistics.median(times), len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="10,000 applications, 2,000 reviews")
    args = parser.parse_args()
    applications, reviews = (10_000, 2_000) if args.short else (100_000, 20_000)
    os.environ["DATABASE_URL"] = bench_database_url("review_queue")
    _setup_django()

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from interviews.models import Interview

    slug = f"bench-queue-{applications}"
    connection = generate(slug, applications, reviews)
    reviewer = get_user_model().objects.get(username=f"{slug}-reviewer")
    client = Client()
    client.force_login(reviewer)
    queue = reverse("interviews:review-queue")
    pages = reviews // 25
    interview = Interview.objects.filter(application__connection=connection).order_by("pk").first()
    assert interview is not None
    score_card = reverse("interviews:score-card", args=[str(interview.public_id)])
    say(f"Viewer: a recruiter on all {REQUISITIONS} requisitions ({reviews} open reviews)")
    figure("queue_applications", applications)
    figure("queue_open_reviews", reviews)
    for key, url, headers in (
        ("queue_first_page", queue, None),
        ("queue_filtered_page", f"{queue}?reason=borderline", None),
        ("queue_deep_page", f"{queue}?page={max(1, pages // 2)}", None),
        ("queue_htmx_partial", f"{queue}?page=2", {"HX-Request": "true"}),
        ("score_card", score_card, None),
    ):
        ms, queries = timed(client, url, headers)
        figure(f"{key}_ms", ms, "ms")
        figure(f"{key}_queries", queries, "queries")


if __name__ == "__main__":
    main()
