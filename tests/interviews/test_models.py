from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    PlanStatus,
    ReviewStatus,
    ReviewTask,
    default_band_thresholds,
    validate_band_thresholds,
)
from tests.factories import (
    InterviewFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    ReviewTaskFactory,
)

pytestmark = pytest.mark.django_db


def test_default_band_thresholds_are_valid() -> None:
    validate_band_thresholds(default_band_thresholds())


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([], "non-empty"),
        (
            [{"name": "a", "min": 50}, {"name": "b", "min": 60}, {"name": "c", "min": 0}],
            "descending",
        ),
        ([{"name": "a", "min": 50}, {"name": "a", "min": 0}], "used twice"),
        ([{"name": "a", "min": 50}], "start at 0"),
        ([{"name": "a", "min": 150}, {"name": "b", "min": 0}], "0 to 100"),
        ([{"name": "A b", "min": 0}], "identifier"),
        ([{"name": "a", "min": "50"}, {"name": "b", "min": 0}], "number"),
        ([{"name": "a", "min": 0, "extra": 1}], "exactly the keys"),
    ],
)
def test_unordered_or_malformed_band_thresholds_are_rejected(bands, message) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_band_thresholds(bands)


def test_only_one_interview_per_application_and_plan() -> None:
    interview = InterviewFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Interview.objects.create(
            application=interview.application, plan=interview.plan, vendor=interview.vendor
        )


def test_interview_status_outside_the_machine_is_refused() -> None:
    interview = InterviewFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Interview.objects.filter(pk=interview.pk).update(status="scheduled")


def test_interview_transitions_follow_the_status_machine() -> None:
    interview = InterviewFactory.build(status=InterviewStatus.INVITED)
    assert interview.can_transition_to(InterviewStatus.STARTED)
    assert interview.can_transition_to(InterviewStatus.EXPIRED)
    assert not interview.can_transition_to(InterviewStatus.PENDING)
    interview.status = InterviewStatus.COMPLETED
    assert not interview.can_transition_to(InterviewStatus.CANCELLED)


def test_only_one_running_plan_per_role_family_and_trigger_stage() -> None:
    plan = InterviewPlanFactory(status=PlanStatus.LIVE)
    InterviewPlanFactory(role_family=plan.role_family, status=PlanStatus.DRAFT)
    with pytest.raises(IntegrityError), transaction.atomic():
        InterviewPlanFactory(role_family=plan.role_family, status=PlanStatus.PILOT)
    assert InterviewPlan.objects.filter(role_family=plan.role_family).count() == 2


def test_result_score_outside_0_to_100_is_refused() -> None:
    result = InterviewResultFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        InterviewResult.objects.filter(pk=result.pk).update(score=Decimal("100.5"))


def test_only_one_current_result_per_interview() -> None:
    result = InterviewResultFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        InterviewResultFactory(interview=result.interview, version=2, is_current=True)
    InterviewResultFactory(interview=result.interview, version=2, is_current=False)
    assert result.interview.results.count() == 2


def test_only_one_open_review_task_per_interview() -> None:
    task = ReviewTaskFactory(status=ReviewStatus.OPEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewTaskFactory(interview=task.interview, status=ReviewStatus.OPEN)
    ReviewTaskFactory(interview=task.interview, status=ReviewStatus.DONE)
    assert ReviewTask.objects.filter(interview=task.interview).count() == 2


def test_claimed_review_task_needs_a_claimant() -> None:
    task = ReviewTaskFactory(status=ReviewStatus.OPEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewTask.objects.filter(pk=task.pk).update(status=ReviewStatus.CLAIMED, claimed_by=None)
