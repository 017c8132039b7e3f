"""Every metric formula against numbers worked out by hand on tests/governance/metrics_world.py.

The expected values are literals computed in the comments, never by the code under test.
"""

from __future__ import annotations

import pytest
import time_machine

from governance.metrics import MetricsFilters, compute
from governance.metrics.aggregates import percentile_cont
from tests.governance import metrics_world
from tests.governance.metrics_world import NOW, SINCE, UNTIL

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(role_groups):
    return metrics_world.build()


def _report(world, viewer=None, **filters):
    with time_machine.travel(NOW, tick=False):
        return compute(MetricsFilters(since=SINCE, until=UNTIL, **filters), viewer=viewer)


def test_percentile_cont_interpolates_like_postgresql() -> None:
    # [2, 4, 10, 24]: median at position 1.5 → (4 + 10) / 2 = 7; p90 at 2.7 → 10 + 0.7 × 14 = 19.8
    assert percentile_cont([2, 4, 10, 24], 0.5) == pytest.approx(7)
    assert percentile_cont([2, 4, 10, 24], 0.9) == pytest.approx(19.8)
    assert percentile_cont([5], 0.9) == 5
    assert percentile_cont([], 0.5) is None


def test_completion_rate_excludes_cancelled_and_pending(world) -> None:
    completion = _report(world).pilot.completion
    # Invited: I1–I4 completed, I5 expired, I6 failed, I8 invited = 7 (I7 cancelled and I9
    # pending are out; the rehearsal and February's interview are not counted at all).
    assert (completion.invited, completion.completed) == (7, 4)
    assert (completion.expired, completion.failed, completion.in_progress) == (1, 1, 1)
    assert completion.rate.value == pytest.approx(4 / 7)  # 0.5714


def test_time_to_screen_median_and_p90(world) -> None:
    report = _report(world)
    # Pilot: stage entered → first decision: I1 4 h, I2 10 h, I3 24 h, I4 2 h.
    # Sorted [2, 4, 10, 24]: median 7 h, p90 = 10 + 0.7 × (24 − 10) = 19.8 h.
    tts = report.pilot.time_to_screen_hours
    assert tts.count == 4
    assert tts.median == pytest.approx(7)
    assert tts.p90 == pytest.approx(19.8)
    # Baseline: entering recruiter_screen → next stage change: B1 24 h, B2 6 h, B3 48 h.
    # Sorted [6, 24, 48]: median 24 h, p90 = 24 + 0.8 × (48 − 24) = 43.2 h.
    base = report.baseline.time_to_screen_hours
    assert base.count == 3
    assert base.median == pytest.approx(24)
    assert base.p90 == pytest.approx(43.2)


def test_override_rate(world) -> None:
    overrides = _report(world).pilot.overrides
    # Decisions in March on real interviews: D1–D4 (rehearsal and February excluded); D2, D4
    # are overrides: 2 / 4.
    assert (overrides.decisions, overrides.overrides) == (4, 2)
    assert overrides.rate.value == 0.5


def test_sync_failure_rates(world) -> None:
    sync = _report(world).sync
    # March jobs: failed-then-succeeded, dead, clean, pending = 4; failed at least once: 2;
    # dead: 1. Signature failures in March: 2 (one is in February).
    assert (sync.jobs, sync.failed_once, sync.dead, sync.signature_failures) == (4, 2, 1, 2)
    assert sync.failed_once_rate.value == 0.5
    assert sync.dead_rate.value == 0.25


def test_usage_depth(world) -> None:
    usage = _report(world).pilot.usage
    # D1 card 10 min, D2 30 min, D4 120 min (first view 09:00 → 11:00); D3: bob never opened
    # it (alice's view does not count). 3 of 4 with the card.
    assert (usage.decisions, usage.with_card, usage.without_card) == (4, 3, 1)
    assert usage.share_with_card.value == 0.75
    # Sorted [10, 30, 120]: median 30, p90 = 30 + 0.8 × 90 = 102.
    assert usage.card_minutes.median == pytest.approx(30)
    assert usage.card_minutes.p90 == pytest.approx(102)


def test_review_load(world) -> None:
    load = _report(world).review_load
    # Open/claimed at 1 April 12:00: 24 h (open), 48 h (claimed), 84 h (open); one done.
    assert (load.open, load.claimed, load.total) == (2, 1, 3)
    assert load.age_hours.median == pytest.approx(48)
    assert load.age_hours.p90 == pytest.approx(76.8)  # 48 + 0.8 × 36
    assert load.oldest_hours == pytest.approx(84)


def test_recruiter_hours_saved(world) -> None:
    saved = _report(world).hours_saved
    # Support: 40 baseline minutes (the family's override), 4 screened (completed I1–I4),
    # review minutes 10 + 30 + min(120, 60) = 100 → 25 per candidate.
    # (40 − 25) × 4 = 60 minutes = 1.0 hour.
    (row,) = saved.rows
    assert (row.role_family, row.baseline_minutes, row.screened) == ("Support", 40, 4)
    assert row.review_minutes == pytest.approx(100)
    assert row.review_minutes_per_candidate == pytest.approx(25)
    assert saved.hours == pytest.approx(1.0)


def test_recruiter_hours_saved_uses_the_setting_without_a_family_override(world, settings) -> None:
    settings.SCREENBRIDGE_MANUAL_SCREEN_MINUTES = 55
    world.support.manual_screen_minutes = None
    world.support.save()
    (row,) = _report(world).hours_saved.rows
    # (55 × 4 − 100) / 60 = 2.0 hours
    assert row.baseline_minutes == 55
    assert row.hours_saved == pytest.approx(2.0)


def test_pass_through_per_band_with_speed_beside_it(world) -> None:
    report = _report(world)
    rows = {row.band: row for row in report.pilot.pass_through}
    assert [row.band for row in report.pilot.pass_through] == ["strong", "proceed", "borderline"]
    # strong: I1 reached HM review, onsite, offer, hired; screened in 4 h.
    assert rows["strong"].candidates == 1
    assert rows["strong"].reached == {
        "hiring_manager_review": 1,
        "onsite": 1,
        "offer": 1,
        "hired": 1,
    }
    assert rows["strong"].time_to_screen_hours.median == pytest.approx(4)
    # proceed: I2 (HM review, then rejected) and I3 (HM review, onsite): 2/2, 1/2, 0, 0;
    # time to screen [10, 24] → median 17 h.
    assert rows["proceed"].candidates == 2
    assert rows["proceed"].reached == {
        "hiring_manager_review": 2,
        "onsite": 1,
        "offer": 0,
        "hired": 0,
    }
    assert rows["proceed"].rate("onsite").value == 0.5
    assert rows["proceed"].time_to_screen_hours.median == pytest.approx(17)
    # borderline: I4 went nowhere yet.
    assert rows["borderline"].reached == dict.fromkeys(rows["borderline"].reached, 0)
    # Baseline: B1 (HM, onsite), B2 (rejected), B3 (HM, offer, hired; offer is past onsite).
    (base,) = report.baseline.pass_through
    assert base.candidates == 3
    assert base.reached == {"hiring_manager_review": 2, "onsite": 2, "offer": 1, "hired": 1}


def test_a_rescored_interview_counts_under_its_new_band_only(world) -> None:
    from decimal import Decimal

    from interviews.models import InterviewResult
    from tests.factories import InterviewResultFactory

    # I2 (proceed, 70) gets a second result of 90: what interview_result_submit does.
    v1 = InterviewResult.objects.get(
        interview__plan__role_family=world.support, score=Decimal("70.00")
    )
    InterviewResult.objects.filter(pk=v1.pk).update(is_current=False)
    InterviewResultFactory(interview=v1.interview, version=2, score=Decimal("90.00"))

    report = _report(world)
    strong, proceed, _borderline = report.pilot.pass_through
    # strong: I1 and I2 (HM review, then rejected); time to screen [4, 10] → median 7 h.
    assert (strong.band, strong.candidates, strong.time_to_screen_hours.median) == (
        "strong",
        2,
        pytest.approx(7),
    )
    assert list(strong.reached.values()) == [2, 1, 1, 1]  # HM review, onsite, offer, hired
    # proceed: I3 alone (HM review, onsite), 24 h.
    assert (proceed.band, proceed.candidates, proceed.time_to_screen_hours.median) == (
        "proceed",
        1,
        pytest.approx(24),
    )
    assert list(proceed.reached.values()) == [1, 1, 0, 0]
    assert report.pilot.completion.completed == 4  # a new version is not a new interview


def test_weekly_trends(world) -> None:
    weeks = {point.week.isoformat(): point for point in _report(world).weekly}
    assert sorted(weeks) == ["2026-03-02", "2026-03-09", "2026-03-16"]
    # Week of 2 March: baseline B3 (48 h) and B1 (24 h) → median 36 h; no interviews yet.
    assert weeks["2026-03-02"].baseline_median_hours == pytest.approx(36)
    assert weeks["2026-03-02"].invited == 0
    # Week of 9 March: I1–I3 invited and completed; decisions D1–D3, one override (D2);
    # time to screen [4, 10, 24] → median 10 h.
    nine = weeks["2026-03-09"]
    assert (nine.invited, nine.completed, nine.decisions, nine.overrides) == (3, 3, 3, 1)
    assert nine.pilot_median_hours == pytest.approx(10)
    # Week of 16 March: I4, I5, I6, I8 invited (I7 cancelled, I9 pending), 1 completed; D4 is
    # an override; time to screen 2 h; baseline B2 6 h.
    sixteen = weeks["2026-03-16"]
    assert (sixteen.invited, sixteen.completed, sixteen.decisions, sixteen.overrides) == (
        4,
        1,
        1,
        1,
    )
    assert sixteen.pilot_median_hours == pytest.approx(2)
    assert sixteen.baseline_median_hours == pytest.approx(6)


def test_role_family_filter_splits_pilot_and_baseline(world) -> None:
    sales = _report(world, role_family_id=world.sales.pk)
    # Sales has no plan: no interviews, baseline B1 + B2 (24 h, 6 h → median 15 h).
    assert sales.pilot.completion.invited == 0
    assert sales.pilot.pass_through == []
    assert sales.baseline.time_to_screen_hours.median == pytest.approx(15)
    support = _report(world, role_family_id=world.support.pk)
    # Support: the same four decisions; the baseline is B3 alone (before the plan went live).
    assert support.pilot.overrides.decisions == 4
    assert support.baseline.time_to_screen_hours.median == pytest.approx(48)
    assert support.baseline.pass_through[0].candidates == 1


def test_a_scoped_recruiter_sees_only_their_requisitions(world) -> None:
    from governance.models import AccessRole
    from tests.factories import RequisitionAccessFactory

    RequisitionAccessFactory(
        user=world.bob, requisition=world.sales_requisition, role=AccessRole.RECRUITER
    )
    report = _report(world, viewer=world.bob)
    assert report.pilot.overrides.decisions == 0
    assert report.pilot.completion.invited == 0
    assert report.sync.jobs == 0
    assert report.review_load.total == 0
    assert report.baseline.pass_through[0].candidates == 2  # B1, B2 on Sales only


def test_a_decision_stamps_when_the_card_was_opened_and_the_first_decision(alice, requisition):
    from django.db import transaction

    from governance import audit
    from governance.services import decision_record
    from interviews.scoring import recommended_outcome
    from tests.factories import ApplicationFactory, InterviewFactory, InterviewResultFactory

    interview = InterviewFactory(
        application=ApplicationFactory(requisition=requisition), completed=True
    )
    result = InterviewResultFactory(interview=interview)
    opened = metrics_world.at(3, 10)
    with time_machine.travel(opened, tick=False), transaction.atomic():
        audit.record_view(user=alice, target=result, what="score_card")
    with time_machine.travel(metrics_world.at(3, 10, 12), tick=False):
        first = decision_record(
            result=result, actor=alice, outcome=recommended_outcome(result.band)
        )
    interview.refresh_from_db()
    assert first.card_opened_at == opened
    assert interview.first_decided_at == metrics_world.at(3, 10, 12)
    # A correction later does not move the first decision.
    with time_machine.travel(metrics_world.at(4, 9), tick=False):
        decision_record(
            result=result,
            actor=alice,
            outcome=recommended_outcome(result.band),
            corrects=first,
        )
    interview.refresh_from_db()
    assert interview.first_decided_at == metrics_world.at(3, 10, 12)


def test_synthetic_candidates_of_rehearsals_never_count(world) -> None:
    """Rehearsal runs (manage.py rehearse) write stage history and sandboxed writebacks for
    synthetic candidates; none of it may move a metric."""
    from integrations.models import WritebackStatus
    from integrations.services.stage_sync import stage_history_record
    from tests.factories import ApplicationFactory, WritebackAttemptFactory, WritebackJobFactory

    before = _report(world)
    application = ApplicationFactory(
        connection=world.connection,
        requisition=world.sales_requisition,
        candidate__is_synthetic=True,
    )
    # A manual-looking screen (would be baseline) and a dead writeback (would be a failure).
    for old, new, day in (
        (None, "recruiter_screen", 6),
        ("recruiter_screen", "hiring_manager_review", 7),
    ):
        when = metrics_world.at(day)
        stage_history_record(application=application, old=old, new=new, at=when)
    job = WritebackJobFactory(
        connection=world.connection,
        application=application,
        status=WritebackStatus.DEAD,
        created_at=metrics_world.at(11),
    )
    WritebackAttemptFactory(job=job, attempt_number=1, succeeded=False)

    after = _report(world)
    assert after.sync == before.sync
    assert after.baseline == before.baseline
