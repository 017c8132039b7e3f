"""Bands at and around every cut, borderline edges, and bands frozen against threshold changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from interviews.models import InterviewResult, ResultFlag, ReviewReason, ReviewTask
from interviews.scoring import band_for, borderline_cut, is_borderline
from interviews.services.results import interview_result_submit
from interviews.vendors.base import ResultData
from tests.factories import InterviewFactory, InterviewPlanFactory

pytestmark = pytest.mark.django_db

DEFAULT = [
    {"name": "strong", "min": 80},
    {"name": "proceed", "min": 65},
    {"name": "borderline", "min": 50},
    {"name": "insufficient_evidence", "min": 0},
]
DELTA = Decimal(3)


def result_data(score: str | Decimal, **fields) -> ResultData:
    fields.setdefault("summary_bullets", ("Walked through a refund with the customer's words.",))
    fields.setdefault("transcript_word_count", 900)
    fields.setdefault("confidence", 0.9)
    return ResultData(score=Decimal(score), **fields)


def submit(score: str | Decimal, *, plan=None, **fields) -> InterviewResult:
    interview = InterviewFactory(started=True, **({"plan": plan} if plan else {}))
    return interview_result_submit(interview=interview, data=result_data(score, **fields))


# -- the scoring rules, directly ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "band"),
    [
        # cut 80: strong above, proceed below
        ("77", "proceed"),
        ("80", "strong"),
        ("83", "strong"),
        # cut 65
        ("62", "borderline"),
        ("65", "proceed"),
        ("68", "proceed"),
        # cut 50
        ("47", "insufficient_evidence"),
        ("50", "borderline"),
        ("53", "borderline"),
        # the ends of the scale
        ("0", "insufficient_evidence"),
        ("100", "strong"),
        ("79.99", "proceed"),
    ],
)
def test_default_band_at_cut_minus_delta_cut_and_cut_plus_delta(score, band) -> None:
    assert band_for(Decimal(score), DEFAULT) == band


@pytest.mark.parametrize("cut", [80, 65, 50])
@pytest.mark.parametrize("offset", ["-3", "-1.5", "0", "1.5", "3"])
def test_scores_within_delta_of_a_default_cut_are_borderline_edges_included(cut, offset) -> None:
    score = Decimal(cut) + Decimal(offset)
    assert borderline_cut(score, DEFAULT, DELTA) == cut
    assert is_borderline(score, DEFAULT, DELTA)


@pytest.mark.parametrize("score", ["76.99", "83.01", "61.99", "68.01", "46.99", "53.01", "2", "72"])
def test_scores_just_outside_delta_are_not_borderline(score) -> None:
    assert not is_borderline(Decimal(score), DEFAULT, DELTA)


def test_the_zero_cut_is_never_a_borderline_cut() -> None:
    assert not is_borderline(Decimal(0), DEFAULT, DELTA)
    assert not is_borderline(Decimal(3), DEFAULT, DELTA)


CUSTOM = [{"name": "pass", "min": 62.5}, {"name": "fail", "min": 0}]


@pytest.mark.parametrize(
    ("score", "band", "borderline"),
    [
        ("57.5", "fail", True),  # cut − δ
        ("57.49", "fail", False),
        ("62.49", "fail", True),
        ("62.5", "pass", True),  # cut
        ("67.5", "pass", True),  # cut + δ
        ("67.51", "pass", False),
    ],
)
def test_custom_thresholds_with_fractional_cut_and_margin(score, band, borderline) -> None:
    assert band_for(Decimal(score), CUSTOM) == band
    assert is_borderline(Decimal(score), CUSTOM, Decimal(5)) is borderline


def test_a_zero_margin_flags_only_the_exact_cut() -> None:
    assert is_borderline(Decimal(65), DEFAULT, Decimal(0))
    assert not is_borderline(Decimal("65.01"), DEFAULT, Decimal(0))
    assert not is_borderline(Decimal("64.99"), DEFAULT, Decimal(0))


# -- through the results service ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "band", "borderline"),
    [
        ("77", "proceed", True),
        ("80", "strong", True),
        ("83", "strong", True),
        ("62", "borderline", True),
        ("65", "proceed", True),
        ("68", "proceed", True),
        ("47", "insufficient_evidence", True),
        ("50", "borderline", True),
        ("53", "borderline", True),
        ("72", "proceed", False),
        ("68.01", "proceed", False),
        ("61.99", "borderline", False),
    ],
)
def test_stored_result_band_and_borderline_flag_at_each_default_cut(
    score, band, borderline
) -> None:
    result = submit(score)

    assert result.band == band
    assert (ResultFlag.BORDERLINE in result.flags) is borderline
    task = ReviewTask.objects.filter(interview=result.interview).first()
    if borderline:
        assert task is not None
        assert task.reason == ReviewReason.BORDERLINE
        assert task.result == result
    else:
        assert task is None


@pytest.mark.parametrize(
    ("score", "band", "borderline"),
    [
        ("55", "fail", True),
        ("60", "pass", True),
        ("65", "pass", True),
        ("54.99", "fail", False),
        ("65.01", "pass", False),
    ],
)
def test_stored_band_uses_the_plans_custom_thresholds_and_margin(score, band, borderline) -> None:
    plan = InterviewPlanFactory(
        band_thresholds=[{"name": "pass", "min": 60}, {"name": "fail", "min": 0}],
        borderline_margin=Decimal(5),
    )
    result = submit(score, plan=plan)
    assert result.band == band
    assert (ResultFlag.BORDERLINE in result.flags) is borderline
    assert result.band_thresholds == [{"name": "pass", "min": 60}, {"name": "fail", "min": 0}]


def test_scores_are_rounded_half_up_before_the_band_is_chosen() -> None:
    result = submit("79.995")
    result.refresh_from_db()
    assert result.score == Decimal("80.00")
    assert result.band == "strong"


def test_changing_thresholds_after_a_result_leaves_its_band_and_snapshot_alone() -> None:
    plan = InterviewPlanFactory()
    first = submit("72", plan=plan)
    assert first.band == "proceed"

    raised = [{"name": "strong", "min": 90}, {"name": "proceed", "min": 75}]
    raised += [{"name": "borderline", "min": 60}, {"name": "insufficient_evidence", "min": 0}]
    plan.band_thresholds = raised
    plan.borderline_margin = Decimal(5)
    plan.save()

    first.refresh_from_db()
    assert first.band == "proceed"
    assert first.band_thresholds == DEFAULT
    assert first.flags == []

    # A new result (another interview) uses the new thresholds and stores them.
    second = submit("72", plan=plan)
    assert second.band == "borderline"
    assert second.band_thresholds == raised
    assert ResultFlag.BORDERLINE in second.flags  # within 5 of 75
    first.refresh_from_db()
    assert first.band == "proceed"


def test_a_resubmission_after_a_threshold_change_gets_the_new_band_and_keeps_the_old_one() -> None:
    plan = InterviewPlanFactory()
    interview = InterviewFactory(started=True, plan=plan)
    v1 = interview_result_submit(interview=interview, data=result_data("72"))
    plan.band_thresholds = [{"name": "pass", "min": 75}, {"name": "fail", "min": 0}]
    plan.save()

    # Replaying v1 changes nothing, even though today's thresholds would band it differently.
    assert interview_result_submit(interview=interview, data=result_data("72")) == v1
    v1.refresh_from_db()
    assert (v1.band, v1.is_current) == ("proceed", True)

    v2 = interview_result_submit(interview=interview, data=result_data("73"))
    v1.refresh_from_db()
    assert (v2.version, v2.band, v2.band_thresholds) == (2, "fail", plan.band_thresholds)
    assert (v1.band, v1.band_thresholds, v1.is_current) == ("proceed", DEFAULT, False)


def test_the_snapshot_is_a_copy_not_a_reference_to_the_plans_list() -> None:
    plan = InterviewPlanFactory()
    result = submit("72", plan=plan)
    plan.band_thresholds[0]["min"] = 99
    assert result.band_thresholds[0]["min"] == 80
