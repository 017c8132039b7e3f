"""The rehearsal vendor: sandbox only, deterministic scripted results, the real processing path."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from integrations.http import AtsPermanentError
from integrations.models import (
    CanonicalStage,
    ConnectionMode,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)
from interviews.models import (
    Interview,
    InterviewResult,
    InterviewStatus,
    ResultField,
    ReviewTask,
    Vendor,
    VendorEvent,
    VendorEventStatus,
    VendorKind,
    default_band_thresholds,
)
from interviews.scoring import band_for, is_borderline
from interviews.services import launch, lifecycle, vendor_events
from interviews.vendors import rehearsal
from interviews.vendors.registry import adapter_for
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    CompetencyFactory,
    InterviewFactory,
    InterviewPlanFactory,
    VendorFactory,
    WritebackFieldMappingFactory,
)

pytestmark = pytest.mark.django_db


def rehearsal_vendor(**settings: Any) -> Vendor:
    return VendorFactory(
        kind=VendorKind.REHEARSAL, base_url="", webhook_secret="", settings=settings
    )


def plan_for(vendor: Vendor) -> Any:
    plan = InterviewPlanFactory(vendor=vendor)
    CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=1)
    CompetencyFactory(plan=plan, key="ownership", name="Ownership", position=2)
    return plan


def sandbox_application(**fields: Any) -> Any:
    connection = AtsConnectionFactory(mode=ConnectionMode.SANDBOX)
    return ApplicationFactory(
        connection=connection,
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
        remote_stage_name="AI Interview",
        **fields,
    )


def launch_and_run(application: Any, plan: Any, capture: Any) -> Interview:
    """Launch through the real service and run everything it enqueues (eager Celery)."""
    with capture(execute=True):
        interview = launch.interview_launch(application=application, plan=plan)
    interview.refresh_from_db()
    return interview


# -- sandbox only ------------------------------------------------------------------------------


def test_invite_refuses_an_interview_of_a_live_connection(
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor = rehearsal_vendor()
    interview = InterviewFactory(
        plan=plan_for(vendor), application__connection__mode=ConnectionMode.LIVE
    )

    refusal = "only serves sandbox connections"
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(AtsPermanentError, match=refusal) as refused,
    ):
        adapter_for(vendor).invite(interview)

    assert refused.value.permanent
    assert callbacks == []
    assert not VendorEvent.objects.exists()


def test_launch_never_sends_a_live_connection_interview_to_the_rehearsal_vendor(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Launch refuses first; the adapter's own refusal above is the second line of defence.
    vendor = rehearsal_vendor()
    application = ApplicationFactory(
        connection=AtsConnectionFactory(mode=ConnectionMode.LIVE),
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )

    interview = launch_and_run(application, plan_for(vendor), django_capture_on_commit_callbacks)

    assert interview.status in (InterviewStatus.CANCELLED, InterviewStatus.FAILED)
    assert "sandbox connections only" in interview.failure_reason
    assert interview.vendor_reference == ""
    assert not VendorEvent.objects.exists()


def test_invite_returns_a_reference_and_no_link_and_delivers_only_once_invited(
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor = rehearsal_vendor()
    interview = InterviewFactory(plan=plan_for(vendor))
    adapter = adapter_for(vendor)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = adapter.invite(interview)
    assert invitation.vendor_reference == f"rehearsal-{interview.public_id}"
    assert invitation.invite_url == ""
    assert callbacks == []

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        adapter.invited(interview)
    assert len(callbacks) == 1
    assert not VendorEvent.objects.exists()


def test_cancel_is_a_no_op() -> None:
    vendor = rehearsal_vendor()

    assert adapter_for(vendor).cancel(InterviewFactory(plan=plan_for(vendor))) is None


# -- deterministic results ---------------------------------------------------------------------


def test_the_same_interview_always_gets_the_same_result() -> None:
    vendor = rehearsal_vendor()
    interview = InterviewFactory(plan=plan_for(vendor))

    first, second = rehearsal.scripted_event(interview), rehearsal.scripted_event(interview)

    assert {**first, "occurred_at": None} == {**second, "occurred_at": None}
    assert first["sample"] == rehearsal.sample_for(interview)["name"]
    assert first["rehearsal"] is True
    assert [c["key"] for c in first["result"]["competencies"]] == ["empathy", "ownership"]


def test_the_default_samples_span_every_band_and_include_a_flagged_one() -> None:
    thresholds = default_band_thresholds()
    samples = rehearsal.DEFAULT_SAMPLES

    bands = {band_for(Decimal(sample["score"]), thresholds) for sample in samples}
    assert bands == {"strong", "proceed", "borderline", "insufficient_evidence"}
    assert any(sample.get("flags") for sample in samples)
    assert any(is_borderline(Decimal(s["score"]), thresholds, Decimal(3)) for s in samples)
    for sample in samples:
        assert 1 <= len(sample["summary"]) <= 3
        assert all(len(bullet) <= 280 for bullet in sample["summary"])


def test_the_hash_reaches_every_default_sample() -> None:
    vendor = rehearsal_vendor()
    interview = InterviewFactory(plan=plan_for(vendor))
    seen = set()
    for number in range(300):
        interview.public_id = uuid.UUID(int=number)
        seen.add(rehearsal.sample_for(interview)["name"])

    assert seen == {sample["name"] for sample in rehearsal.DEFAULT_SAMPLES}


SCRIPT = [
    {
        "match": {"candidate_email": "Amara.Okafor@Example.com"},
        "score": 66,
        "summary": ["Near the cut on purpose."],
    },
    {"match": {"candidate_remote_id": "cand_5512"}, "score": 91, "summary": ["By id."]},
]


@pytest.mark.parametrize(
    ("candidate", "expected_score"),
    [
        ({"email": "amara.okafor@example.com", "remote_id": "c-1"}, 66),
        ({"email": "someone@example.com", "remote_id": "cand_5512"}, 91),
    ],
    ids=["by-email", "by-remote-id"],
)
def test_a_scripted_sample_matches_the_candidate(
    candidate: dict[str, str], expected_score: int
) -> None:
    vendor = rehearsal_vendor(script=SCRIPT)
    interview = InterviewFactory(
        plan=plan_for(vendor),
        application__candidate__email=candidate["email"],
        application__candidate__remote_id=candidate["remote_id"],
    )

    event = rehearsal.scripted_event(interview)

    assert event["result"]["score"] == expected_score
    assert event["sample"].startswith("script-")


def test_an_unmatched_candidate_gets_the_default_sample_unless_a_catch_all_exists() -> None:
    vendor = rehearsal_vendor(script=SCRIPT)
    interview = InterviewFactory(plan=plan_for(vendor))

    assert rehearsal.sample_for(interview) in rehearsal.DEFAULT_SAMPLES

    vendor.settings = {"script": [*SCRIPT, {"score": 50, "summary": ["Everyone else."]}]}
    vendor.save()
    interview.refresh_from_db()
    assert rehearsal.sample_for(interview)["score"] == 50


def test_scripted_competencies_and_scale_are_used_as_given() -> None:
    vendor = rehearsal_vendor(
        script=[
            {
                "score": 4,
                "scale_max": 5,
                "competencies": [{"key": "empathy", "score": 5}],
                "summary": ["Scored on a five-point scale."],
            }
        ]
    )
    interview = InterviewFactory(plan=plan_for(vendor))

    [update] = adapter_for(vendor).parse("interview.completed", rehearsal.scripted_event(interview))

    assert update.result is not None
    assert update.result.score == Decimal("80.00")
    assert dict(update.result.competency_scores) == {"empathy": Decimal("100.00")}


# -- end to end through the real processing ----------------------------------------------------


def test_a_rehearsal_runs_end_to_end_and_is_marked_rehearsal(
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor = rehearsal_vendor(
        script=[{"score": 64, "summary": ["Borderline by design: 64 is within 3 of 65."]}]
    )
    application = sandbox_application()
    WritebackFieldMappingFactory(
        connection=application.connection,
        source=ResultField.BAND,
        target_kind=WritebackKind.CUSTOM_FIELDS,
        target_key="ai_interview_band",
    )

    interview = launch_and_run(application, plan_for(vendor), django_capture_on_commit_callbacks)

    assert interview.is_rehearsal
    assert interview.status == InterviewStatus.COMPLETED
    assert interview.vendor_reference == f"rehearsal-{interview.public_id}"
    assert interview.invite_url == ""
    event = VendorEvent.objects.get()
    assert event.delivery_id == f"rehearsal:{interview.public_id}:completed"
    assert (event.status, event.event_type) == (VendorEventStatus.PROCESSED, "interview.completed")
    result = InterviewResult.objects.get(interview=interview)
    assert (result.score, result.band) == (Decimal("64.00"), "borderline")
    assert "borderline" in result.flags
    assert result.raw_payload["rehearsal"] is True
    assert ReviewTask.objects.get(interview=interview).reason == "borderline"
    # What would be written back is visible, and nothing is sent: sandbox jobs are settled.
    jobs = WritebackJob.objects.filter(connection=application.connection)
    assert jobs.exists()
    assert set(jobs.values_list("status", flat=True)) == {WritebackStatus.SANDBOXED}


def test_a_flagged_sample_opens_a_flagged_review(django_capture_on_commit_callbacks: Any) -> None:
    vendor = rehearsal_vendor(
        script=[{"score": 85, "flags": ["integrity"], "summary": ["Read answers aloud."]}]
    )

    interview = launch_and_run(
        sandbox_application(), plan_for(vendor), django_capture_on_commit_callbacks
    )

    result = InterviewResult.objects.get(interview=interview)
    assert "integrity" in result.flags
    assert ReviewTask.objects.get(interview=interview).reason == "flagged"


def test_a_script_breaking_the_result_rules_fails_its_event_with_the_message(
    django_capture_on_commit_callbacks: Any,
) -> None:
    vendor = rehearsal_vendor(script=[{"score": 70, "summary": ["1", "2", "3", "4"]}])

    interview = launch_and_run(
        sandbox_application(), plan_for(vendor), django_capture_on_commit_callbacks
    )

    event = VendorEvent.objects.get()
    assert event.status == VendorEventStatus.FAILED
    assert "4" in event.error
    assert "bullet" in event.error
    assert interview.status == InterviewStatus.INVITED
    assert not InterviewResult.objects.exists()


def test_delivering_twice_stores_one_event(django_capture_on_commit_callbacks: Any) -> None:
    vendor = rehearsal_vendor()
    interview = launch_and_run(
        sandbox_application(), plan_for(vendor), django_capture_on_commit_callbacks
    )

    with django_capture_on_commit_callbacks(execute=True):
        rehearsal.rehearsal_result_deliver(interview_id=interview.pk)

    assert VendorEvent.objects.count() == 1
    assert InterviewResult.objects.filter(interview=interview).count() == 1


def test_delivering_for_a_deleted_interview_does_nothing() -> None:
    rehearsal.rehearsal_result_deliver(interview_id=987654)

    assert not VendorEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_without_a_surrounding_transaction_the_result_follows_the_recorded_invitation() -> None:
    # Production order: launch calls invite() outside any transaction and records the
    # invitation; only then does the rehearsal vendor deliver its result, so it applies at once.
    vendor = rehearsal_vendor()
    application = sandbox_application()
    plan = plan_for(vendor)
    interview = Interview.objects.create(
        application=application, plan=plan, vendor=vendor, is_rehearsal=True
    )
    assert not transaction.get_connection().in_atomic_block

    lifecycle.interview_invite(interview_id=interview.pk)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    assert VendorEvent.objects.get().status == VendorEventStatus.PROCESSED
    assert vendor_events.vendor_events_sweep() == 0
