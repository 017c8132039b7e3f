"""``manage.py seed_demo`` loads realistic data, deterministically, and is safe to run twice."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import roles
from governance.models import AccessRole, Decision, LegalHold, RequisitionAccess, RetentionPolicy
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    InboundEvent,
    Requisition,
    StageMapping,
    WritebackAttempt,
    WritebackJob,
    WritebackStatus,
)
from interviews.demo.data import DEMO_PASSWORD
from interviews.demo.planner import plan_demo
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    PlanStatus,
    ReviewStatus,
    ReviewTask,
    RoleFamily,
)

pytestmark = pytest.mark.django_db

OUR_APPS = ("integrations", "interviews", "governance")


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    counts = {
        model._meta.label: model.objects.count()
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
    }
    counts["auth.User"] = User.objects.count()
    counts["auth.Group"] = Group.objects.count()
    return counts


def fingerprint() -> list[tuple[Any, ...]]:
    """What must not change between databases: who applied where, stages and scores."""
    scores = {
        r.interview.application_id: str(r.score)
        for r in InterviewResult.objects.select_related("interview")
    }
    statuses = dict(Interview.objects.values_list("application_id", "status"))
    return sorted(
        (
            a.connection.slug,
            a.remote_id,
            a.candidate.remote_id,
            a.candidate.full_name,
            a.candidate.email,
            a.requisition.title,
            a.canonical_stage,
            a.remote_stage_name,
            statuses.get(a.pk, ""),
            scores.get(a.pk, ""),
        )
        for a in Application.objects.select_related("connection", "candidate", "requisition")
    )


@pytest.fixture
def fresh_content_types() -> Iterator[None]:
    """``flush`` recreates content types with new ids; never leak them to other tests."""
    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


def test_first_run_loads_every_kind_of_demo_data() -> None:
    output = seed()

    assert "candidates:" in output
    assert "applications:" in output
    for username, group in [
        ("rita", roles.RECRUITER),
        ("rob", roles.RECRUITER),
        ("hank", roles.HIRING_MANAGER),
        ("ada", roles.HIRING_OPS_ADMIN),
        ("audrey", roles.AUDITOR),
    ]:
        assert User.objects.get(username=username).groups.filter(name=group).exists()
    assert User.objects.get(username="ada").is_staff
    assert User.objects.get(username="audrey").is_staff

    greenhouse = AtsConnection.objects.get(slug="greenhouse-prod")
    lever = AtsConnection.objects.get(slug="lever-sandbox")
    assert (greenhouse.provider, greenhouse.mode) == ("greenhouse", ConnectionMode.LIVE)
    assert (lever.provider, lever.mode) == ("lever", ConnectionMode.SANDBOX)
    assert greenhouse.webhook_secret_env == ""
    assert greenhouse.webhook_secret() == "demo-greenhouse-webhook-secret"
    assert StageMapping.objects.filter(connection=greenhouse).count() >= 8
    assert StageMapping.objects.filter(connection=lever).count() >= 8

    assert RoleFamily.objects.count() == 3
    assert sorted(InterviewPlan.objects.values_list("status", flat=True)) == sorted(
        [PlanStatus.PILOT, PlanStatus.LIVE, PlanStatus.DRAFT]
    )
    for plan in InterviewPlan.objects.annotate(n=Count("competencies")):
        assert 3 <= plan.n <= 4
        assert all(set(c.rubric_anchors) == {"1", "3", "5"} for c in plan.competencies.all())
    assert Requisition.objects.count() == 10
    assert not Requisition.objects.filter(role_family_membership__isnull=True).exists()

    assert 250 <= Application.objects.count() <= 350
    present = set(Application.objects.values_list("canonical_stage", flat=True))
    assert present == set(CanonicalStage.values)
    unmapped = Application.objects.filter(canonical_stage=CanonicalStage.UNMAPPED)
    assert not unmapped.filter(remote_stage_name="").exists()
    mapped_names = set(StageMapping.objects.values_list("normalized_name", flat=True))
    assert not {a.remote_stage_name.casefold() for a in unmapped} & mapped_names
    assert Candidate.objects.filter(opted_out=True).exists()
    shared = Candidate.objects.values("email").annotate(n=Count("pk")).filter(n__gt=1)
    assert shared.exists(), "two candidates should share one e-mail address"

    assert set(Interview.objects.values_list("status", flat=True)) == set(InterviewStatus.values)
    assert ReviewTask.objects.filter(status=ReviewStatus.OPEN).exists()
    claimed = ReviewTask.objects.filter(status=ReviewStatus.CLAIMED)
    assert claimed.filter(claimed_by__username="rita").exists()
    assert Decision.objects.filter(is_override=True).count() >= 2
    assert Decision.objects.filter(is_override=False).exists()

    rita_reqs = set(
        RequisitionAccess.objects.filter(user__username="rita").values_list(
            "requisition", flat=True
        )
    )
    rob_reqs = set(
        RequisitionAccess.objects.filter(user__username="rob").values_list("requisition", flat=True)
    )
    assert len(rita_reqs) > len(rob_reqs) > 0
    assert not rita_reqs & rob_reqs
    assert (
        RequisitionAccess.objects.filter(
            user__username="hank", role=AccessRole.HIRING_MANAGER
        ).count()
        == 3
    )

    job_statuses = set(WritebackJob.objects.values_list("status", flat=True))
    assert {WritebackStatus.SUCCEEDED, WritebackStatus.FAILED, WritebackStatus.DEAD} <= job_statuses
    assert not WritebackJob.objects.filter(
        status__in=[WritebackStatus.FAILED, WritebackStatus.DEAD], last_error=""
    ).exists()
    assert set(InboundEvent.objects.values_list("status", flat=True)) >= {"processed", "failed"}
    assert set(RetentionPolicy.objects.values_list("data_category", "retention_days")) == {
        ("transcript", 365),
        ("raw_vendor_payload", 90),
    }
    assert LegalHold.objects.count() == 1


def test_demo_passwords_are_printed_and_work() -> None:
    output = seed()

    assert DEMO_PASSWORD in output
    for username in ("rita", "rob", "hank", "ada", "audrey"):
        assert username in output
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None


def test_interviews_results_and_reviews_are_consistent() -> None:
    seed()
    # The checks below only bite if the seed has rows in each state.
    assert Interview.objects.filter(invited_at__isnull=False).exists()
    assert Interview.objects.filter(started_at__isnull=False).exists()
    assert Interview.objects.filter(completed_at__isnull=False).exists()
    assert InterviewResult.objects.exists()

    for interview in Interview.objects.select_related("plan", "application"):
        assert interview.vendor == interview.plan.vendor
        assert interview.plan.is_running
        if interview.invited_at:
            assert interview.stage_entered_at <= interview.invited_at
            expiry = dt.timedelta(days=interview.plan.expiry_days)
            assert interview.expires_at == interview.invited_at + expiry
        if interview.started_at:
            assert interview.invited_at < interview.started_at
        if interview.completed_at:
            assert interview.started_at < interview.completed_at
    for result in InterviewResult.objects.select_related("interview__plan"):
        plan = result.interview.plan
        assert result.band_thresholds == plan.band_thresholds
        expected = next(b["name"] for b in plan.band_thresholds if result.score >= b["min"])
        assert result.band == expected
        near_cut = any(
            b["min"] > 0 and abs(result.score - b["min"]) <= plan.borderline_margin
            for b in plan.band_thresholds
        )
        assert ("borderline" in result.flags) == near_cut
        assert 1 <= len(result.summary_bullets) <= 3
        assert all(len(bullet) <= 280 for bullet in result.summary_bullets)
        assert result.report_url.startswith("https://vendor.example/reports/")
        assert result.competency_scores.count() == plan.competencies.count()
        # The interview's copy of its current (only) result, which the metrics group by.
        assert (result.interview.current_band, result.interview.current_score) == (
            result.band,
            result.score,
        )
    assert not Interview.objects.filter(results=None, current_band__isnull=False).exists()
    # One open (or claimed) task per interview at most; every done task has its decision.
    open_tasks = ReviewTask.objects.filter(status__in=["open", "claimed"])
    assert open_tasks.count() == open_tasks.values("interview").distinct().count()
    for task in ReviewTask.objects.filter(status=ReviewStatus.DONE):
        assert Decision.objects.filter(result=task.result).exists()
    for decision in Decision.objects.select_related("result__interview"):
        assert decision.application_id == decision.result.interview.application_id


def test_seeded_rows_pass_model_validation() -> None:
    seed()

    validated = 0
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            for instance in model.objects.all()[:25]:
                instance.full_clean()
                validated += 1
    assert validated > 0


def test_second_run_creates_nothing() -> None:
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "Demo data already present; nothing to do." in output
    assert " 0 created" in output
    assert not [
        line for line in output.splitlines() if "created" in line and " 0 created" not in line
    ]


def test_fresh_databases_get_the_same_data(fresh_content_types: None) -> None:
    seed()
    first, first_counts = fingerprint(), row_counts()
    assert any(score for *_, score in first)

    # A brand-new database: flush removes everything; like migrate, it then recreates the role
    # groups (post_migrate), and nothing else.
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with pending deferred FK checks inside this test transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) == set(roles.ALL_ROLES)
    assert not User.objects.exists()
    seed()

    assert fingerprint() == first
    assert row_counts() == first_counts
    for name, permissions in roles.ROLE_PERMISSIONS.items():
        assert Group.objects.get(name=name).permissions.count() == len(permissions)


def timeline() -> list[tuple[Any, ...]]:
    """Every event timestamp the seed sets, plus the writeback idempotency keys."""
    return [
        sorted(Interview.objects.values_list("vendor_reference", "created_at", "invited_at")),
        sorted(InterviewResult.objects.values_list("interview__vendor_reference", "received_at")),
        sorted(ReviewTask.objects.values_list("interview__vendor_reference", "created_at")),
        sorted(Decision.objects.values_list("result__interview__vendor_reference", "created_at")),
        sorted(WritebackJob.objects.values_list("idempotency_key", "created_at")),
        sorted(WritebackAttempt.objects.values_list("job__idempotency_key", "started_at")),
        sorted(InboundEvent.objects.values_list("delivery_id", "received_at")),
        sorted(LegalHold.objects.values_list("reason", "placed_at")),
    ]


@time_machine.travel(dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC), tick=False)
def test_fresh_databases_get_the_same_timeline_at_the_same_instant(
    fresh_content_types: None,
) -> None:
    seed()
    first = timeline()

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    seed()

    assert timeline() == first


def test_planning_reads_no_database_and_repeats_exactly(
    django_assert_num_queries: Any,
) -> None:
    now = timezone.now()

    with django_assert_num_queries(0):
        first, second = plan_demo(now), plan_demo(now)

    assert first == second
    assert len(first.applications) == 300


def test_seeding_inserts_complete_rows_and_never_updates_them() -> None:
    with CaptureQueriesContext(connection) as queries:
        seed()

    ours = ("integrations_", "interviews_", "governance_")
    changed = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("UPDATE", "DELETE"))
        and any(f'"{prefix}' in q["sql"] or f" {prefix}" in q["sql"] for prefix in ours)
    ]
    assert changed == []


def test_event_timestamps_are_historical_and_in_order() -> None:
    before = timezone.now()
    seed()

    # Nothing happened "at seeding time": events are spread over the past weeks.
    interviews = Interview.objects.all()
    assert not interviews.exclude(created_at=F("stage_entered_at")).exists()
    assert interviews.order_by("created_at").first().created_at < before - dt.timedelta(days=14)
    for result in InterviewResult.objects.select_related("interview"):
        assert result.interview.completed_at < result.received_at < before
    # Every branch below must be exercised by the seed, or it checks nothing.
    assert ReviewTask.objects.filter(result__isnull=False).exists()
    assert ReviewTask.objects.filter(result__isnull=True).exists()
    assert ReviewTask.objects.filter(status=ReviewStatus.DONE).exists()
    assert WritebackJob.objects.exists()
    assert InboundEvent.objects.exists()
    for task in ReviewTask.objects.select_related("result", "interview"):
        assert task.created_at < before
        if task.result is not None:
            assert task.result.received_at < task.created_at
        else:
            assert task.interview.ended_at < task.created_at
    for task in ReviewTask.objects.filter(status=ReviewStatus.DONE):
        decision = Decision.objects.get(result=task.result)
        assert decision.created_at == task.resolved_at
    assert len(set(Decision.objects.values_list("created_at", flat=True))) > 1
    for job in WritebackJob.objects.select_related("application"):
        result = InterviewResult.objects.get(interview__application=job.application)
        assert result.received_at < job.created_at < before
        numbers = [a.attempt_number for a in job.attempt_log.order_by("started_at")]
        assert numbers == list(range(1, job.attempts + 1))
        assert all(job.created_at < a.started_at < before for a in job.attempt_log.all())
    for event in InboundEvent.objects.all():
        assert event.occurred_at < event.received_at < before
    assert LegalHold.objects.get().placed_at <= timezone.now()


def test_rerun_restores_missing_attempts_of_existing_jobs() -> None:
    seed()
    failed = WritebackJob.objects.get(status=WritebackStatus.FAILED)
    planned = list(
        failed.attempt_log.order_by("attempt_number").values_list(
            "attempt_number", "status_code", "error"
        )
    )
    assert len(planned) == 2
    failed.attempt_log.filter(attempt_number=2).delete()
    # A retry the relay made since the first run is kept as it is.
    WritebackAttempt.objects.create(job=failed, attempt_number=3, status_code=200, succeeded=True)

    output = seed()

    assert "writeback attempts:         1 created     6 already present" in output
    restored = failed.attempt_log.order_by("attempt_number").values_list(
        "attempt_number", "status_code", "error"
    )
    assert list(restored)[:2] == planned
    assert failed.attempt_log.count() == 3
