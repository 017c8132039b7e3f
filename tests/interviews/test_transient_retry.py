"""The launch on a stage change and vendor-event processing survive losing a deadlock.

The launch runs after the stage change committed: without the retry, a deadlock there lost the
candidate's interview for good. See tests/integrations/test_transient_retry.py for the helper.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from integrations import db
from integrations.models import CanonicalStage
from integrations.signals import application_stage_changed
from interviews.models import Interview, InterviewResult, PlanStatus, VendorEventStatus
from interviews.services import launch, results, vendor_events
from tests.factories import InterviewPlanFactory, VendorEventFactory
from tests.helpers import postgres_only
from tests.integrations.test_transient_retry import deadlock
from tests.interviews.test_launch import applicant
from tests.interviews.test_vendor_webhooks import event_for, invited_interview

pytestmark = pytest.mark.django_db(transaction=True)

AI = CanonicalStage.AUTOMATED_INTERVIEW


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.time, "sleep", lambda seconds: None)


@pytest.fixture
def quiet_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    from interviews.vendors import registry
    from tests.interviews.test_launch import FakeAdapter, VendorCalls

    calls = VendorCalls()
    monkeypatch.setattr(registry, "adapter_for", lambda vendor: FakeAdapter(vendor, calls))


def test_a_launch_that_lost_a_deadlock_is_retried_after_the_stage_change_committed(
    monkeypatch: pytest.MonkeyPatch, quiet_vendor: None
) -> None:
    plan = InterviewPlanFactory(status=PlanStatus.LIVE, trigger_stage=AI)
    application = applicant(plan, stage=AI)  # the sync stored the new stage, then published
    real_handle = launch.application_stage_changed_handle
    calls: list[int] = []

    def handle_losing_once(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise deadlock()
        return real_handle(**kwargs)

    monkeypatch.setattr(launch, "application_stage_changed_handle", handle_losing_once)

    responses = application_stage_changed.send_robust(
        sender=type(application),
        application=application,
        old=CanonicalStage.APPLICATION_REVIEW,
        new=AI,
    )

    assert [r for _, r in responses if isinstance(r, Exception)] == []
    assert len(calls) == 2
    assert Interview.objects.filter(application=application, plan=plan).count() == 1


def test_a_vendor_event_that_lost_a_deadlock_is_applied_on_the_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interview = invited_interview()
    event = VendorEventFactory(vendor=interview.vendor, raw_body=json.dumps(event_for(interview)))
    real_apply = results.vendor_update_apply
    calls: list[int] = []

    def apply_then_lose_once(*, interview: Interview, update: Any) -> None:
        calls.append(1)
        real_apply(interview=interview, update=update)
        if len(calls) == 1:
            raise deadlock()

    monkeypatch.setattr(results, "vendor_update_apply", apply_then_lose_once)

    processed = vendor_events.vendor_event_process(event_id=event.pk)

    assert processed is not None
    assert processed.status == VendorEventStatus.PROCESSED
    assert processed.attempts == 1
    assert len(calls) == 2
    assert InterviewResult.objects.filter(interview=interview).count() == 1


@postgres_only
def test_storing_a_result_locks_the_interview_row_only() -> None:
    """FOR UPDATE on the joined plan and connection rows serialized every result of a plan and
    deadlocked with launches (their foreign-key checks take KEY SHARE on the plan row while
    they hold the audit-chain lock)."""
    interview = invited_interview()
    event = VendorEventFactory(vendor=interview.vendor, raw_body=json.dumps(event_for(interview)))

    with CaptureQueriesContext(db_connection) as queries:
        vendor_events.vendor_event_process(event_id=event.pk)

    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    interview_locks = [sql for sql in locks if 'FROM "interviews_interview"' in sql]
    assert interview_locks, locks
    for sql in interview_locks:
        assert sql.rstrip().endswith('FOR UPDATE OF "interviews_interview"'), sql
