"""``Interview.current_band`` / ``current_score``: the copy of the current result stays right.

The metrics group pilot interviews by these stamps instead of joining every result, so every
way a result becomes or stops being current must restamp its interview.
"""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from interviews.models import Interview, InterviewResult, stamp_current_result
from interviews.services.results import interview_result_submit
from interviews.vendors.base import ResultData
from tests.factories import InterviewFactory, InterviewResultFactory

pytestmark = pytest.mark.django_db


def result_data(score: str) -> ResultData:
    return ResultData(
        score=Decimal(score),
        summary_bullets=("Described calming an upset customer by restating the problem.",),
        confidence=0.9,
        transcript_word_count=850,
        raw={"score": score},
    )


def stamp(interview: Interview) -> tuple[str | None, Decimal | None]:
    interview.refresh_from_db(fields=["current_band", "current_score"])
    return interview.current_band, interview.current_score


def assert_every_stamp_matches_the_current_result() -> None:
    for interview in Interview.objects.all():
        current = interview.results.filter(is_current=True).first()
        expected = (current.band, current.score) if current else (None, None)
        assert (interview.current_band, interview.current_score) == expected, interview


def test_an_interview_without_a_result_has_no_stamp() -> None:
    assert stamp(InterviewFactory(started=True)) == (None, None)


def test_a_submitted_result_stamps_its_interview() -> None:
    interview = InterviewFactory(started=True)
    result = interview_result_submit(interview=interview, data=result_data("72"))
    assert stamp(interview) == ("proceed", Decimal("72.00")) == (result.band, result.score)


def test_a_resubmission_with_another_band_restamps_and_a_replay_keeps_it() -> None:
    interview = InterviewFactory(started=True)
    interview_result_submit(interview=interview, data=result_data("72"))
    v2 = interview_result_submit(interview=interview, data=result_data("85"))
    assert v2.version == 2
    assert stamp(interview) == ("strong", Decimal("85.00"))

    assert interview_result_submit(interview=interview, data=result_data("85")) == v2  # replay
    assert stamp(interview) == ("strong", Decimal("85.00"))
    v3 = interview_result_submit(interview=interview, data=result_data("40"))
    assert stamp(interview) == (v3.band, Decimal("40.00"))
    assert v3.band != "strong"
    assert_every_stamp_matches_the_current_result()


def test_a_result_that_stops_being_current_unstamps_and_the_next_current_one_stamps() -> None:
    v1 = InterviewResultFactory(score=Decimal(72))
    interview = v1.interview
    v1.is_current = False
    v1.save(update_fields=["is_current"])
    assert stamp(interview) == (None, None)

    v2 = InterviewResultFactory(interview=interview, version=2, score=Decimal(90))
    assert stamp(interview) == (v2.band, Decimal("90.00"))
    # Saving the superseded version again (any field) leaves the current one's stamp.
    v1.save()
    assert stamp(interview) == (v2.band, Decimal("90.00"))


def test_the_callers_interview_instance_carries_the_stamp_too() -> None:
    interview = InterviewFactory(completed=True)
    result = InterviewResultFactory(interview=interview, score=Decimal(85))
    # No reload: a later full save of this instance must not write the old (empty) stamp back.
    assert (interview.current_band, interview.current_score) == (result.band, result.score)
    interview.save()
    assert stamp(interview) == (result.band, result.score)


def test_deleting_the_current_result_unstamps() -> None:
    result = InterviewResultFactory()
    interview = result.interview
    result.delete()
    assert stamp(interview) == (None, None)


def test_a_save_of_fields_the_stamp_does_not_copy_runs_no_extra_query(
    django_assert_num_queries,
) -> None:
    result = InterviewResultFactory()
    with django_assert_num_queries(1):
        result.save(update_fields=["artifacts_deleted_at"])
    with django_assert_num_queries(2):
        result.save(update_fields=["score"])


def test_stamp_current_result_repairs_rows_changed_by_queryset_updates() -> None:
    v1 = InterviewResultFactory(score=Decimal(72))
    interview = v1.interview
    # Queryset updates skip save(): whoever uses them restamps, in one UPDATE.
    InterviewResult.objects.filter(pk=v1.pk).update(is_current=False)
    assert stamp(interview) == ("proceed", Decimal("72.00"))  # stale until restamped
    assert stamp_current_result(Interview.objects.filter(pk=interview.pk)) == 1
    assert stamp(interview) == (None, None)


def test_the_backfill_migration_stamps_older_rows_and_can_run_twice() -> None:
    proceed = InterviewResultFactory(score=Decimal(72)).interview
    superseded = InterviewResultFactory(score=Decimal(30), is_current=False).interview
    strong = InterviewResultFactory(interview=superseded, version=2, score=Decimal(88))
    without = InterviewFactory(started=True)
    # As before the migration: no stamps at all.
    Interview.objects.update(current_band=None, current_score=None)

    backfill = importlib.import_module(
        "interviews.migrations.0008_backfill_interview_current_result"
    )
    for _ in range(2):
        backfill.forwards(apps, None)
        assert stamp(proceed) == ("proceed", Decimal("72.00"))
        assert stamp(superseded) == (strong.band, Decimal("88.00"))
        assert stamp(without) == (None, None)
        assert_every_stamp_matches_the_current_result()
