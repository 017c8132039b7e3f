"""Decisions: recommendation, overrides with reasons, corrections, scope, writeback, atomicity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from governance import audit
from governance import services as decision_services
from governance.models import AccessRole, AuditEvent, Decision
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from governance.services import (
    DecisionConflictError,
    DecisionValidationError,
    ResultNotCurrentError,
    decision_record,
)
from integrations.models import Provider, WritebackJob, WritebackStatus
from interviews.models import InterviewResult, ReviewStatus, ReviewTask
from interviews.services import writeback
from tests.factories import (
    AtsConnectionFactory,
    InterviewResultFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    UserFactory,
)
from tests.helpers import completed_result

pytestmark = pytest.mark.django_db

REASON_TEXT = "Reference call confirmed escalation skills the interview missed."


def _result_on(requisition, score="72.00"):
    return completed_result(requisition, score=Decimal(score))


@pytest.fixture
def result(requisition):
    """A "proceed" result (recommends advance) with an open review task."""
    result = _result_on(requisition)
    assert result.band == "proceed"
    ReviewTaskFactory(interview=result.interview, result=result)
    return result


def _counts():
    return (Decision.objects.count(), AuditEvent.objects.count(), WritebackJob.objects.count())


def _decline_overriding(*, result, actor):
    """The recruiter declines against an "advance" recommendation (an override)."""
    return decision_record(
        result=result,
        actor=actor,
        outcome="decline",
        override_reason="rubric_mismatch",
        override_text=REASON_TEXT,
    )


# -- recording ---------------------------------------------------------------------------------


def test_following_the_recommendation_is_not_an_override(alice, result) -> None:
    decision = decision_record(result=result, actor=alice, outcome="advance")
    assert decision.outcome == "advance"
    assert decision.recommended_outcome == "advance"
    assert not decision.is_override
    assert decision.override_reason == ""
    assert decision.application == result.interview.application
    assert decision.decided_by == alice
    event = AuditEvent.objects.get(action="decision.record")
    assert event.actor == alice
    assert event.object_id == str(decision.pk)
    assert event.changes["outcome"] == "advance"
    assert event.changes["is_override"] is False


def test_reason_fields_are_ignored_when_following_the_recommendation(alice, result) -> None:
    decision = decision_record(
        result=result,
        actor=alice,
        outcome="advance",
        override_reason="other",
        override_text="Not needed, the band is right.",
    )
    assert not decision.is_override
    assert (decision.override_reason, decision.override_text) == ("", "")


def test_override_with_a_reason_stores_decision_audit_and_writeback_together(alice, result) -> None:
    decision = decision_record(
        result=result,
        actor=alice,
        outcome="decline",
        override_reason="rubric_mismatch",
        override_text=f"  {REASON_TEXT}  ",
    )
    assert decision.is_override
    assert decision.recommended_outcome == "advance"
    assert decision.override_reason == "rubric_mismatch"
    assert decision.override_text == REASON_TEXT  # stripped
    event = AuditEvent.objects.get(action="decision.override")
    assert event.object_id == str(decision.pk)
    assert event.changes["override_text"] == REASON_TEXT
    assert event.changes["recommended_outcome"] == "advance"
    job = WritebackJob.objects.get()
    assert job.application == result.interview.application
    assert "Human decision: Decline (overrides the band's recommendation)" in job.payload["body"]


@pytest.mark.parametrize(
    ("reason", "text", "fields"),
    [
        ("", "", {"override_reason", "override_text"}),
        ("", REASON_TEXT, {"override_reason"}),
        ("rubric_mismatch", "", {"override_text"}),
        ("rubric_mismatch", "too short", {"override_text"}),
        # 14 characters after stripping: whitespace does not count.
        ("rubric_mismatch", "   14 characters!   ", {"override_text"}),
        ("because", REASON_TEXT, {"override_reason"}),
    ],
)
def test_override_without_a_valid_reason_is_refused_and_nothing_is_stored(
    alice, result, reason, text, fields
) -> None:
    before = _counts()
    with pytest.raises(DecisionValidationError) as caught:
        decision_record(
            result=result,
            actor=alice,
            outcome="hold",
            override_reason=reason,
            override_text=text,
        )
    assert set(caught.value.errors) == fields
    assert _counts() == before
    assert ReviewTask.objects.get().status == ReviewStatus.OPEN


def test_fifteen_characters_are_enough(alice, result) -> None:
    decision = decision_record(
        result=result,
        actor=alice,
        outcome="hold",
        override_reason="other",
        override_text="  fifteen chars!!  ",
    )
    assert decision.override_text == "fifteen chars!!"
    assert len(decision.override_text) == 15


def test_unknown_outcome_is_a_field_error(alice, result) -> None:
    with pytest.raises(DecisionValidationError) as caught:
        decision_record(result=result, actor=alice, outcome="reject")
    assert set(caught.value.errors) == {"outcome"}
    assert Decision.objects.count() == 0


def test_band_recommendation_drives_the_override_flag(alice, requisition) -> None:
    borderline = _result_on(requisition, score="55.00")
    assert borderline.band == "borderline"
    assert not decision_record(result=borderline, actor=alice, outcome="hold").is_override
    weak = _result_on(requisition, score="20.00")
    decision = decision_record(
        result=weak,
        actor=alice,
        outcome="advance",
        override_reason="accommodation",
        override_text="Candidate's audio failed; accommodation granted for a retake.",
    )
    assert decision.is_override
    assert decision.recommended_outcome == "decline"


# -- review task and writeback -----------------------------------------------------------------


def test_decision_closes_the_open_review_task(alice, result) -> None:
    task = ReviewTask.objects.get()
    decision = decision_record(result=result, actor=alice, outcome="advance")
    task.refresh_from_db()
    assert task.status == ReviewStatus.DONE
    assert task.resolved_at == decision.created_at
    event = AuditEvent.objects.get(action="decision.record")
    assert event.changes["review_tasks_closed"] == [task.pk]


def test_decision_closes_a_claimed_task_and_leaves_other_interviews_alone(
    alice, result, requisition
) -> None:
    ReviewTask.objects.update(status=ReviewStatus.CLAIMED, claimed_by=alice)
    other = _result_on(requisition)
    other_task = ReviewTaskFactory(interview=other.interview, result=other)
    decision_record(result=result, actor=alice, outcome="advance")
    assert ReviewTask.objects.get(interview=result.interview).status == ReviewStatus.DONE
    other_task.refresh_from_db()
    assert other_task.status == ReviewStatus.OPEN


def test_writeback_job_is_sandboxed_on_a_sandbox_connection_and_carries_the_decision(
    role_groups,
) -> None:
    connection = AtsConnectionFactory(provider=Provider.GENERIC)
    assert connection.is_sandbox
    requisition = RequisitionFactory(connection=connection)
    recruiter = RequisitionAccessFactory(requisition=requisition).user
    result = _result_on(requisition)
    decision = decision_record(
        result=result,
        actor=recruiter,
        outcome="hold",
        override_reason="technical_issue",
        override_text="Video froze for the last two questions of the interview.",
    )
    job = WritebackJob.objects.get()
    assert job.status == WritebackStatus.SANDBOXED
    assert job.payload["interview_id"] == str(result.interview.public_id)
    assert job.payload["decision"] == {
        "outcome": "hold",
        "outcome_label": "Hold",
        "is_override": True,
    }
    assert decision.is_override


def test_decision_without_a_writeback_still_records(alice, result, monkeypatch) -> None:
    # A rehearsal interview on a live connection writes nothing back; the decision stands.
    monkeypatch.setattr(writeback, "result_writeback_enqueue", lambda **kwargs: [])
    decision_record(result=result, actor=alice, outcome="advance")
    assert Decision.objects.count() == 1
    assert WritebackJob.objects.count() == 0


# -- corrections -------------------------------------------------------------------------------


def test_correction_chain(alice, bob, result) -> None:
    first = decision_record(result=result, actor=alice, outcome="advance")
    second = decision_record(
        result=result,
        actor=bob,
        outcome="hold",
        override_reason="additional_evidence",
        override_text="Hiring manager asked to compare with the next two candidates.",
        corrects=first,
    )
    third = decision_record(result=result, actor=alice, outcome="advance", corrects=second)
    assert second.corrects == first
    assert third.corrects == second
    first.refresh_from_db()
    assert first.corrected_by == second
    # Nothing was changed in place: three rows, three audit events, three writebacks.
    assert Decision.objects.count() == 3
    assert AuditEvent.objects.filter(action__startswith="decision.").count() == 3
    assert WritebackJob.objects.count() == 3


def test_a_second_decision_must_correct_the_first(alice, result) -> None:
    decision_record(result=result, actor=alice, outcome="advance")
    with pytest.raises(DecisionConflictError, match="correction"):
        decision_record(result=result, actor=alice, outcome="advance")
    assert Decision.objects.count() == 1


def test_only_the_latest_decision_can_be_corrected(alice, result) -> None:
    first = decision_record(result=result, actor=alice, outcome="advance")
    decision_record(result=result, actor=alice, outcome="advance", corrects=first)
    before = _counts()
    with pytest.raises(DecisionConflictError, match="latest"):
        decision_record(result=result, actor=alice, outcome="advance", corrects=first)
    assert _counts() == before


def test_the_database_refuses_a_branch_even_past_the_service(alice, result) -> None:
    first = decision_record(result=result, actor=alice, outcome="advance")
    decision_record(result=result, actor=alice, outcome="advance", corrects=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            result=result,
            application=result.interview.application,
            decided_by=alice,
            outcome="advance",
            recommended_outcome="advance",
            corrects=first,
        )


def test_correcting_a_decision_of_another_result_is_a_field_error(
    alice, result, requisition
) -> None:
    other = _result_on(requisition)
    foreign = decision_record(result=other, actor=alice, outcome="advance")
    with pytest.raises(DecisionValidationError) as caught:
        decision_record(result=result, actor=alice, outcome="advance", corrects=foreign)
    assert set(caught.value.errors) == {"corrects"}


def test_a_result_that_is_no_longer_current_cannot_be_decided(alice, result) -> None:
    InterviewResult.objects.filter(pk=result.pk).update(is_current=False)
    InterviewResultFactory(interview=result.interview, version=2)
    with pytest.raises(ResultNotCurrentError):
        decision_record(result=result, actor=alice, outcome="advance")
    assert Decision.objects.count() == 0


# -- who may decide ----------------------------------------------------------------------------


def test_cannot_decide_someone_elses_result(charlie, result) -> None:
    with pytest.raises(PermissionDenied):
        decision_record(result=result, actor=charlie, outcome="advance")
    assert _counts() == (0, 0, 0)


@pytest.mark.parametrize("group", [HIRING_MANAGER, AUDITOR, HIRING_OPS_ADMIN])
def test_only_recruiters_decide(role_groups, requisition, result, group) -> None:
    user = UserFactory(groups=[group])
    if group == HIRING_MANAGER:
        RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    with pytest.raises(PermissionDenied):
        decision_record(result=result, actor=user, outcome="advance")
    assert _counts() == (0, 0, 0)


def test_override_needs_the_override_permission(alice, result) -> None:
    from django.contrib.auth.models import Group, Permission

    # A recruiter group without the override permission (a stricter customer policy).
    group = Group.objects.get(name="Recruiter")
    group.permissions.remove(Permission.objects.get(codename="override"))
    alice = type(alice).objects.get(pk=alice.pk)
    with pytest.raises(PermissionDenied, match="override"):
        decision_record(
            result=result,
            actor=alice,
            outcome="decline",
            override_reason="other",
            override_text=REASON_TEXT,
        )
    assert decision_record(result=result, actor=alice, outcome="advance")


# -- atomicity: a failure in any part rolls all back -------------------------------------------


def _fail_after(real):
    """Run the real step (so its rows exist), then fail: proves they are rolled back too."""

    def failing(**kwargs):
        real(**kwargs)
        raise RuntimeError("forced failure")

    return failing


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (audit, "record"),
        (writeback, "result_writeback_enqueue"),
        (decision_services, "_review_tasks_close"),
    ],
    ids=["audit", "writeback", "review-task"],
)
def test_forced_failure_in_any_part_rolls_everything_back(
    alice, result, monkeypatch, target, name
) -> None:
    monkeypatch.setattr(target, name, _fail_after(getattr(target, name)))
    with pytest.raises(RuntimeError, match="forced failure"):
        _decline_overriding(result=result, actor=alice)
    assert _counts() == (0, 0, 0)
    assert ReviewTask.objects.get().status == ReviewStatus.OPEN
    monkeypatch.undo()
    # And the same decision goes through once the failure is gone.
    _decline_overriding(result=result, actor=alice)
    assert _counts() == (1, 1, 1)
    assert ReviewTask.objects.get().status == ReviewStatus.DONE


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failing", [False, True], ids=["commits", "rolls-back"])
def test_commit_is_all_or_nothing_outside_any_test_transaction(
    role_groups, monkeypatch, failing
) -> None:
    requisition = RequisitionFactory()
    recruiter = RequisitionAccessFactory(requisition=requisition).user
    result = _result_on(requisition)
    ReviewTaskFactory(interview=result.interview, result=result)
    if failing:
        monkeypatch.setattr(
            writeback,
            "result_writeback_enqueue",
            _fail_after(writeback.result_writeback_enqueue),
        )
    raised = False
    try:
        _decline_overriding(result=result, actor=recruiter)
    except RuntimeError:
        raised = True
    assert raised == failing
    expected = (0, 0, 0) if failing else (1, 1, 1)
    assert _counts() == expected
    status = ReviewStatus.OPEN if failing else ReviewStatus.DONE
    assert ReviewTask.objects.get().status == status
