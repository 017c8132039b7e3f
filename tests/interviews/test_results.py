"""Results: validation, flags, review routing, pilot sampling, versions and vendor updates."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from governance.models import Decision
from integrations.models import WritebackJob
from interviews.models import (
    CompetencyScore,
    InterviewResult,
    InterviewStatus,
    PlanStatus,
    ResultFlag,
    RetentionClass,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
)
from interviews.services.results import (
    ResultValidationError,
    interview_result_submit,
    pilot_sampled,
    result_data_validate,
    result_partner_summary,
    result_profile_url,
    vendor_update_apply,
)
from interviews.vendors.base import ResultData, VendorUpdate
from tests.factories import (
    CompetencyFactory,
    InterviewFactory,
    InterviewPlanFactory,
    ReviewTaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BULLET = "Described calming an upset customer by restating the problem and a next step."


@pytest.fixture
def plan():
    plan = InterviewPlanFactory()
    CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=0)
    CompetencyFactory(plan=plan, key="problem_solving", name="Problem solving", position=1)
    return plan


@pytest.fixture
def interview(plan):
    return InterviewFactory(started=True, plan=plan)


def data(score: str = "72", **fields) -> ResultData:
    """A clean result: no flag, no review reason (72 is 7 points from the nearest cut)."""
    fields.setdefault(
        "competency_scores", {"empathy": Decimal(70), "problem_solving": Decimal("74.5")}
    )
    fields.setdefault("summary_bullets", (BULLET,))
    fields.setdefault("confidence", 0.9)
    fields.setdefault("transcript_word_count", 850)
    fields.setdefault("transcript_url", "https://vendor.example/t/1")
    fields.setdefault("report_url", "https://vendor.example/r/1")
    fields.setdefault("raw", {"score": score, "vendor": "example"})
    return ResultData(score=Decimal(score), **fields)


def open_tasks(interview):
    return ReviewTask.objects.filter(
        interview=interview, status__in=[ReviewStatus.OPEN, ReviewStatus.CLAIMED]
    )


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"summary_bullets": ()}, "expected 1 to 3 evidence bullets, got 0"),
        ({"summary_bullets": ("a", "b", "c", "d")}, "expected 1 to 3 evidence bullets, got 4"),
        (
            {"summary_bullets": (BULLET, "x" * 281)},
            "evidence bullet 2 is 281 characters long; the limit is 280",
        ),
        ({"summary_bullets": ("  ",)}, "evidence bullet 1 is empty"),
        ({"score": Decimal(101)}, "score must be a number from 0 to 100, got 101"),
        ({"score": Decimal("-0.5")}, "score must be a number from 0 to 100, got -0.5"),
        (
            {"competency_scores": {"empathy": Decimal(101)}},
            "competency 'empathy' score must be a number from 0 to 100, got 101",
        ),
        (
            {"competency_scores": {"charisma": Decimal(50)}},
            "unknown competency 'charisma': plan 'Plan' scores empathy, problem_solving",
        ),
        ({"confidence": 1.5}, "confidence must be a number from 0 to 1, got 1.5"),
        (
            {"transcript_word_count": -1},
            "transcript_word_count must be a whole number of 0 or more, got -1",
        ),
        (
            {"flags": ("cheating",)},
            "unknown vendor flag 'cheating'; expected one of integrity, technical, "
            "low_confidence, short_transcript",
        ),
        (
            {"report_url": "javascript:alert(1)"},
            "report_url must be an http(s) URL of at most 1000 characters",
        ),
    ],
)
def test_invalid_results_are_refused_with_a_clear_message_and_nothing_is_stored(
    interview, fields, message
) -> None:
    interview.plan.name = "Plan"
    interview.plan.save()
    score = fields.pop("score", Decimal(72))
    bad = data(**fields)
    bad = ResultData(**{**bad.__dict__, "score": score})

    with pytest.raises(ResultValidationError) as caught:
        result_data_validate(bad, plan=interview.plan)
    assert str(caught.value) == message

    with pytest.raises(ResultValidationError, match="^" + re.escape(message) + "$"):
        interview_result_submit(interview=interview, data=bad)
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.STARTED
    assert not InterviewResult.objects.exists()
    assert not CompetencyScore.objects.exists()
    assert not ReviewTask.objects.exists()
    assert not WritebackJob.objects.exists()


def test_a_validation_error_names_the_field_and_is_a_value_error(interview) -> None:
    with pytest.raises(ValueError, match="got 4") as caught:
        result_data_validate(data(summary_bullets=("a", "b", "c", "d")), plan=interview.plan)
    assert caught.value.field == "summary_bullets"


def test_edge_values_are_accepted(interview) -> None:
    edge = data(
        "100",
        summary_bullets=("x" * 280, " padded bullet ", "third"),
        competency_scores={"empathy": Decimal(0)},
        confidence=1.0,
    )
    result = interview_result_submit(interview=interview, data=edge)
    assert result.summary_bullets == ["x" * 280, "padded bullet", "third"]
    assert result.score == Decimal(100)


def test_a_plan_competency_without_a_score_is_allowed_and_simply_absent(interview) -> None:
    result = interview_result_submit(
        interview=interview, data=data(competency_scores={"empathy": Decimal(70)})
    )
    assert [row.competency.key for row in result.competency_scores.all()] == ["empathy"]
    assert result.flags == []
    assert not ReviewTask.objects.exists()


# -- what a result stores ----------------------------------------------------------------------


def test_a_result_completes_the_interview_and_stores_everything(interview) -> None:
    finished = timezone.now() - dt.timedelta(minutes=3)
    result = interview_result_submit(
        interview=interview,
        data=data(recording_url="https://vendor.example/rec/1"),
        completed_at=finished,
    )

    result.refresh_from_db()
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    assert interview.completed_at == finished
    assert (result.version, result.is_current) == (1, True)
    assert (result.score, result.band, result.confidence) == (Decimal(72), "proceed", 0.9)
    assert result.summary_bullets == [BULLET]
    assert result.flags == []
    assert result.raw_payload == {"score": "72", "vendor": "example"}
    assert result.raw_payload_retention_class == RetentionClass.RAW_VENDOR
    assert result.recording_url == "https://vendor.example/rec/1"
    scores = {row.competency.key: row.score for row in result.competency_scores.all()}
    assert scores == {"empathy": Decimal(70), "problem_solving": Decimal("74.5")}
    assert not ReviewTask.objects.exists()
    assert not Decision.objects.exists()


def test_a_low_band_result_never_creates_a_decision(interview) -> None:
    result = interview_result_submit(interview=interview, data=data("12"))
    assert result.band == "insufficient_evidence"
    assert not Decision.objects.exists()
    assert interview.application.canonical_stage == "automated_interview"


# -- flags and review routing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "flags", "reason", "detail"),
    [
        ({"score": "66"}, ["borderline"], "borderline", "within 3 points of the band cut at 65"),
        ({"flags": ("integrity",)}, ["integrity"], "flagged", "integrity concern"),
        ({"flags": ("technical",)}, ["technical"], "flagged", "technical problem"),
        (
            {"transcript_word_count": 149},
            ["short_transcript"],
            "flagged",
            "transcript has 149 words (minimum 150)",
        ),
        (
            {"transcript_word_count": None, "transcript_url": ""},
            ["short_transcript"],
            "flagged",
            "no transcript",
        ),
        ({"confidence": 0.59}, ["low_confidence"], "low_confidence", "confidence 0.59 is below"),
        ({"flags": ("low_confidence",)}, ["low_confidence"], "low_confidence", "onfidence"),
    ],
)
def test_each_flag_routes_the_result_to_review(interview, fields, flags, reason, detail) -> None:
    score = fields.pop("score", "72")
    result = interview_result_submit(interview=interview, data=data(score, **fields))

    assert result.flags == flags
    [task] = open_tasks(interview)
    assert (task.reason, task.result, task.status) == (reason, result, ReviewStatus.OPEN)
    assert detail in task.detail


def test_unflagged_edges_do_not_route(interview) -> None:
    # confidence at the threshold, 150 words, a transcript URL without a count, no confidence.
    for fields in (
        {"confidence": 0.6},
        {"transcript_word_count": 150},
        {"transcript_word_count": None},
        {"confidence": None},
    ):
        other = InterviewFactory(started=True, plan=interview.plan)
        result = interview_result_submit(interview=other, data=data(**fields))
        assert result.flags == [], fields
    assert not ReviewTask.objects.exists()


def test_a_vendor_borderline_flag_is_ignored_ours_is_computed(interview) -> None:
    result = interview_result_submit(interview=interview, data=data(flags=("borderline",)))
    assert result.flags == []


def test_the_low_confidence_threshold_comes_from_settings(interview, settings) -> None:
    settings.SCREENBRIDGE_LOW_CONFIDENCE = 0.95
    result = interview_result_submit(interview=interview, data=data(confidence=0.9))
    assert result.flags == [ResultFlag.LOW_CONFIDENCE]


def test_the_transcript_minimum_comes_from_settings(interview, settings) -> None:
    settings.SCREENBRIDGE_MIN_TRANSCRIPT_WORDS = 1000
    result = interview_result_submit(interview=interview, data=data(transcript_word_count=850))
    assert result.flags == [ResultFlag.SHORT_TRANSCRIPT]


def test_several_reasons_open_one_task_with_the_strongest_reason(interview) -> None:
    result = interview_result_submit(
        interview=interview, data=data("66", confidence=0.3, flags=("technical",))
    )
    assert result.flags == ["borderline", "technical", "low_confidence"]
    [task] = open_tasks(interview)
    assert task.reason == ReviewReason.FLAGGED
    assert "band cut at 65" in task.detail
    assert "confidence 0.3" in task.detail
    assert "technical problem" in task.detail


def test_an_open_task_is_updated_never_duplicated(interview) -> None:
    v1 = interview_result_submit(interview=interview, data=data("66"))
    [task] = open_tasks(interview)
    assert task.reason == ReviewReason.BORDERLINE

    v2 = interview_result_submit(interview=interview, data=data("71", flags=("integrity",)))
    [same] = open_tasks(interview)
    assert same.pk == task.pk
    assert (same.reason, same.result) == (ReviewReason.FLAGGED, v2)
    assert same.detail.index("v2:") < same.detail.index("v1:")  # newest first
    assert v1 != v2

    # A weaker reason later does not demote the task.
    v3 = interview_result_submit(interview=interview, data=data("67"))
    same.refresh_from_db()
    assert (same.reason, same.result) == (ReviewReason.FLAGGED, v3)
    assert ReviewTask.objects.count() == 1


def test_a_claimed_task_keeps_its_reviewer_and_follows_the_new_version(interview) -> None:
    interview_result_submit(interview=interview, data=data("66"))
    task = ReviewTask.objects.get()
    reviewer = UserFactory()
    task.status, task.claimed_by, task.claimed_at = ReviewStatus.CLAIMED, reviewer, timezone.now()
    task.save()

    v2 = interview_result_submit(interview=interview, data=data("90"))
    task.refresh_from_db()
    assert (task.status, task.claimed_by, task.result) == (ReviewStatus.CLAIMED, reviewer, v2)
    assert "v2 received; it has no review reason of its own." in task.detail
    assert ReviewTask.objects.count() == 1


def test_a_resolved_task_does_not_stop_a_new_one(interview) -> None:
    interview_result_submit(interview=interview, data=data("66"))
    ReviewTask.objects.update(status=ReviewStatus.DONE, resolved_at=timezone.now())
    interview_result_submit(interview=interview, data=data("64"))
    assert ReviewTask.objects.count() == 2
    assert open_tasks(interview).get().reason == ReviewReason.BORDERLINE


def test_an_existing_open_task_from_elsewhere_is_reused(interview) -> None:
    existing = ReviewTaskFactory(
        interview=interview, result=None, reason=ReviewReason.INCOMPLETE, detail="waiting"
    )
    result = interview_result_submit(interview=interview, data=data("66"))
    existing.refresh_from_db()
    assert (existing.reason, existing.result) == (ReviewReason.INCOMPLETE, result)
    assert existing.detail.endswith("waiting")


# -- pilot sampling ----------------------------------------------------------------------------


def pilot_interviews(share: str, count: int):
    plan = InterviewPlanFactory(status=PlanStatus.PILOT, pilot_review_share=Decimal(share))
    CompetencyFactory(plan=plan, key="empathy")
    CompetencyFactory(plan=plan, key="problem_solving")
    return [
        InterviewFactory(started=True, plan=plan, public_id=uuid.UUID(int=n + 1))
        for n in range(count)
    ]


def test_a_pilot_share_of_zero_never_samples() -> None:
    for interview in pilot_interviews("0", 20):
        interview_result_submit(interview=interview, data=data())
    assert not ReviewTask.objects.exists()


def test_a_pilot_share_of_one_samples_every_result() -> None:
    interviews = pilot_interviews("1", 20)
    for interview in interviews:
        interview_result_submit(interview=interview, data=data())
    assert ReviewTask.objects.filter(reason=ReviewReason.PILOT_SAMPLE).count() == 20
    assert "pilot sample (100% of this pilot plan's results)" in ReviewTask.objects.first().detail


def test_pilot_sampling_is_deterministic_per_interview() -> None:
    interviews = pilot_interviews("0.5", 60)
    first = [pilot_sampled(i, Decimal("0.5")) for i in interviews]
    assert first == [pilot_sampled(i, Decimal("0.5")) for i in interviews]
    assert 15 <= sum(first) <= 45  # fixed ids: a fixed, roughly even split
    # A larger share keeps everyone a smaller share picked.
    picked_half = [i for i, picked in zip(interviews, first, strict=True) if picked]
    assert all(pilot_sampled(i, Decimal("0.8")) for i in picked_half)

    for interview in interviews:
        interview_result_submit(interview=interview, data=data())
    sampled = set(ReviewTask.objects.values_list("interview_id", flat=True))
    assert sampled == {i.pk for i, picked in zip(interviews, first, strict=True) if picked}


def test_a_live_plan_does_not_sample_even_with_a_share(plan) -> None:
    plan.pilot_review_share = Decimal(1)
    plan.save()
    interview = InterviewFactory(started=True, plan=plan)
    interview_result_submit(interview=interview, data=data())
    assert not ReviewTask.objects.exists()


def test_a_pilot_sample_is_the_weakest_reason() -> None:
    [interview] = pilot_interviews("1", 1)
    interview_result_submit(interview=interview, data=data("66"))
    task = ReviewTask.objects.get()
    assert task.reason == ReviewReason.BORDERLINE
    assert "pilot sample" in task.detail


# -- versions ----------------------------------------------------------------------------------


def test_a_different_result_becomes_version_two(interview) -> None:
    v1 = interview_result_submit(interview=interview, data=data("72"))
    v2 = interview_result_submit(interview=interview, data=data("85"))

    v1.refresh_from_db()
    assert (v1.version, v1.is_current, v1.band) == (1, False, "proceed")
    assert (v2.version, v2.is_current, v2.band) == (2, True, "strong")
    assert v2.competency_scores.count() == 2
    assert v1.competency_scores.count() == 2
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED


@pytest.mark.parametrize(
    "change",
    [
        {"summary_bullets": ("Another bullet entirely.",)},
        {"competency_scores": {"empathy": Decimal(71)}},
        {"confidence": 0.8},
        {"report_url": "https://vendor.example/r/2"},
        {"flags": ("integrity",)},
    ],
)
def test_any_change_in_content_is_a_resubmission(interview, change) -> None:
    interview_result_submit(interview=interview, data=data())
    v2 = interview_result_submit(interview=interview, data=data(**change))
    assert v2.version == 2
    assert InterviewResult.objects.filter(is_current=True).get() == v2


def test_an_identical_replay_creates_no_new_version_task_or_writeback(interview) -> None:
    v1 = interview_result_submit(interview=interview, data=data("66"))
    jobs = WritebackJob.objects.count()
    task = ReviewTask.objects.get()

    again = interview_result_submit(
        interview=interview, data=data("66", raw={"score": "66", "delivered_at": "later"})
    )

    assert again == v1
    assert InterviewResult.objects.count() == 1
    assert WritebackJob.objects.count() == jobs
    task.refresh_from_db()
    assert ReviewTask.objects.get().detail == task.detail


def test_vendor_updates_replayed_change_nothing(interview) -> None:
    update = VendorUpdate(
        vendor_reference=interview.vendor_reference, kind="completed", result=data("66")
    )
    vendor_update_apply(interview=interview, update=update)
    vendor_update_apply(interview=interview, update=update)
    assert InterviewResult.objects.count() == 1
    assert ReviewTask.objects.count() == 1


# -- vendor updates ----------------------------------------------------------------------------


def test_started_expired_and_cancelled_updates_move_the_status(plan) -> None:
    invited = InterviewFactory(invited=True, plan=plan)
    vendor_update_apply(interview=invited, update=VendorUpdate(kind="started"))
    invited.refresh_from_db()
    assert invited.status == InterviewStatus.STARTED

    vendor_update_apply(interview=invited, update=VendorUpdate(kind="expired"))
    invited.refresh_from_db()
    assert invited.status == InterviewStatus.EXPIRED

    other = InterviewFactory(started=True, plan=plan)
    vendor_update_apply(interview=other, update=VendorUpdate(kind="cancelled", detail="withdrew"))
    other.refresh_from_db()
    assert (other.status, other.failure_reason) == (InterviewStatus.CANCELLED, "withdrew")
    assert not ReviewTask.objects.exists()


def test_a_late_started_update_after_completion_is_ignored(interview) -> None:
    vendor_update_apply(interview=interview, update=VendorUpdate(kind="completed", result=data()))
    vendor_update_apply(interview=interview, update=VendorUpdate(kind="started"))
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED


def test_completed_without_a_result_completes_and_the_result_follows(interview) -> None:
    vendor_update_apply(interview=interview, update=VendorUpdate(kind="completed"))
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    assert not InterviewResult.objects.exists()

    vendor_update_apply(interview=interview, update=VendorUpdate(kind="completed", result=data()))
    result = InterviewResult.objects.get()
    assert (result.version, result.is_current) == (1, True)
    assert WritebackJob.objects.exists()


def test_a_failed_interview_reaches_a_person_once(interview) -> None:
    failed = VendorUpdate(kind="failed", detail="camera never connected")
    vendor_update_apply(interview=interview, update=failed)
    vendor_update_apply(interview=interview, update=failed)

    interview.refresh_from_db()
    assert (interview.status, interview.failure_reason) == (
        InterviewStatus.FAILED,
        "camera never connected",
    )
    task = ReviewTask.objects.get()
    assert (task.reason, task.result) == (ReviewReason.INCOMPLETE, None)
    assert task.detail == "The vendor reported that the interview failed: camera never connected"


def test_a_result_for_an_expired_interview_is_kept_and_reviewed_but_not_written(plan) -> None:
    interview = InterviewFactory(invited=True, plan=plan)
    vendor_update_apply(interview=interview, update=VendorUpdate(kind="expired"))

    result = interview_result_submit(interview=interview, data=data())

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.EXPIRED
    assert result.is_current
    task = ReviewTask.objects.get()
    assert (task.reason, task.result) == (ReviewReason.INCOMPLETE, result)
    assert "arrived while the interview was expired" in task.detail
    assert not WritebackJob.objects.exists()


def test_an_unknown_update_kind_is_a_programming_error(interview) -> None:
    with pytest.raises(ValueError, match="unknown vendor update kind 'paused'"):
        vendor_update_apply(interview=interview, update=VendorUpdate(kind="paused"))


# -- partner summary ---------------------------------------------------------------------------


def test_the_partner_summary_is_flat_and_complete(interview, settings) -> None:
    settings.SCREENBRIDGE_PUBLIC_URL = "https://screenbridge.example/"
    result = interview_result_submit(
        interview=interview,
        data=data("72.5", summary_bullets=("First.", "Second.")),
        completed_at=dt.datetime(2026, 4, 10, 15, 2, tzinfo=dt.UTC),
    )

    summary = result_partner_summary(result)

    url = f"https://screenbridge.example/results/{interview.public_id}/"
    assert result_profile_url(interview) == url
    assert summary == {
        "status": "complete",
        "score": 72.5,
        "band": "proceed",
        "band_label": "Proceed",
        "profile_url": url,
        "metadata": {
            "Score band": "Proceed",
            "Empathy": 70,
            "Problem solving": 74.5,
            "Summary 1": "First.",
            "Summary 2": "Second.",
            "Completed At": "2026-04-10T15:02:00+00:00",
        },
        "competencies": [
            {"key": "empathy", "name": "Empathy", "score": 70},
            {"key": "problem_solving", "name": "Problem solving", "score": 74.5},
        ],
    }
    assert all(
        isinstance(value, str | int | float | bool) for value in summary["metadata"].values()
    )
    assert "transcript" not in str(summary).lower()
