"""Stage-triggered launch: one interview per application and plan, every "no" recorded and
visible, cancellation when the application moves on, and the admin pages for launch skips and
stop switches."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import get_resolver, reverse
from django.utils import timezone

from governance.models import StopScope, StopSwitch
from governance.roles import AUDITOR, HIRING_OPS_ADMIN, RECRUITER, sync_role_groups
from integrations.connectors.base import CandidateData, RequisitionData, StageChange
from integrations.http import AtsServerError
from integrations.models import Application, CanonicalStage, ConnectionMode
from integrations.services.stage_sync import stage_change_apply
from integrations.signals import application_stage_changed
from interviews import tasks
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewStatus,
    LaunchMode,
    LaunchSkip,
    LaunchSkipReason,
    LaunchSource,
    PlanStatus,
    VendorKind,
)
from interviews.selectors import launch_skips_list
from interviews.services.launch import (
    application_stage_changed_handle,
    interview_launch,
    interview_launch_check,
)
from interviews.services.lifecycle import interview_invite, interviews_invite_sweep
from interviews.vendors import registry
from interviews.vendors.base import Invitation, VendorAdapter
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    InterviewFactory,
    InterviewPlanFactory,
    RequisitionFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
    StageMappingFactory,
    StopSwitchFactory,
    UserFactory,
)
from tests.helpers import (
    RecordingTask,
    admin_switch_off,
    admin_switch_on_for_plan,
    postgres_only,
    run_in_threads,
)

pytestmark = pytest.mark.django_db

AI = CanonicalStage.AUTOMATED_INTERVIEW
REVIEW = CanonicalStage.APPLICATION_REVIEW
SCREEN = CanonicalStage.RECRUITER_SCREEN


# -- a fake vendor -----------------------------------------------------------------------------


class VendorCalls:
    """What the fake adapter was asked to do, and how it should fail."""

    def __init__(self) -> None:
        self.invites: list[int] = []
        self.cancels: list[str] = []
        self.invite_error: Exception | None = None
        self.cancel_error: Exception | None = None


class FakeAdapter(VendorAdapter):
    def __init__(self, vendor: Any, calls: VendorCalls) -> None:
        super().__init__(vendor)
        self.calls = calls

    def invite(self, interview: Interview) -> Invitation:
        self.calls.invites.append(interview.pk)
        if self.calls.invite_error is not None:
            raise self.calls.invite_error
        return Invitation(
            vendor_reference=f"ref-{interview.public_id}",
            invite_url=f"https://vendor.example/i/{interview.public_id}",
        )

    def cancel(self, interview: Interview) -> None:
        self.calls.cancels.append(interview.vendor_reference)
        if self.calls.cancel_error is not None:
            raise self.calls.cancel_error


@pytest.fixture(autouse=True)
def vendor_calls(monkeypatch: pytest.MonkeyPatch) -> VendorCalls:
    # Import every module the URLconf pulls in *before* patching: a module that imported
    # ``adapter_for`` by name while the fake is installed would keep the fake for good.
    _ = get_resolver().url_patterns
    calls = VendorCalls()
    monkeypatch.setattr(registry, "adapter_for", lambda vendor: FakeAdapter(vendor, calls))
    return calls


# -- helpers -----------------------------------------------------------------------------------


def applicant(plan: InterviewPlan, *, stage: str = REVIEW, **kwargs: Any) -> Application:
    """An application on a requisition of the plan's role family."""
    application = ApplicationFactory(canonical_stage=stage, **kwargs)
    RoleFamilyMembershipFactory(requisition=application.requisition, role_family=plan.role_family)
    return application


def move(application: Application, new: str, *, old: Any = ...) -> list[Interview]:
    """What the sync does: store the new stage, then publish the change (handler called)."""
    previous = application.canonical_stage if old is ... else old
    Application.objects.filter(pk=application.pk).update(canonical_stage=new)
    application.canonical_stage = new
    return application_stage_changed_handle(application=application, old=previous, new=new)


def skips(application: Application) -> list[tuple[int | None, str]]:
    return list(
        LaunchSkip.objects.filter(application=application)
        .order_by("pk")
        .values_list("plan_id", "reason")
    )


# -- launching ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [PlanStatus.PILOT, PlanStatus.LIVE])
def test_entering_the_trigger_stage_launches_an_interview_for_a_running_plan(status):
    plan = InterviewPlanFactory(status=status)
    application = applicant(plan)

    launched = move(application, AI)

    interview = Interview.objects.get()
    assert launched == [interview]
    assert interview.application == application
    assert interview.plan == plan
    assert interview.vendor == plan.vendor
    assert interview.status == InterviewStatus.PENDING
    assert interview.launch_source == LaunchSource.STAGE_CHANGE
    assert skips(application) == []


def test_the_invitation_goes_out_after_commit(django_capture_on_commit_callbacks, vendor_calls):
    plan = InterviewPlanFactory()
    application = applicant(plan)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        move(application, AI)
        assert vendor_calls.invites == []  # nothing is sent before the launch commits
    for callback in callbacks:
        callback()

    interview = Interview.objects.get()
    assert vendor_calls.invites == [interview.pk]
    assert interview.status == InterviewStatus.INVITED


@pytest.mark.parametrize("in_worker", [True, False])
def test_a_worker_sends_the_invitation_itself_anything_else_enqueues_it(
    in_worker, monkeypatch, django_capture_on_commit_callbacks, vendor_calls
):
    """A stage change processed by a worker invites in the same task (no second task, no
    queue wait behind the rest of a bulk move); a launch from a web request enqueues it."""
    from interviews.services import launch as launch_service

    recorder = RecordingTask()
    monkeypatch.setattr(tasks, "interview_invite_task", recorder)
    monkeypatch.setattr(launch_service, "_in_worker_task", lambda: in_worker)
    plan = InterviewPlanFactory()
    application = applicant(plan)

    with django_capture_on_commit_callbacks(execute=True):
        move(application, AI)

    interview = Interview.objects.get()
    if in_worker:
        assert vendor_calls.invites == [interview.pk]
        assert interview.status == InterviewStatus.INVITED
        assert recorder.enqueued == []
    else:
        assert vendor_calls.invites == []
        assert interview.status == InterviewStatus.PENDING
        assert recorder.enqueued == [interview.pk]


def test_an_invitation_that_cannot_be_sent_in_the_worker_task_is_enqueued(
    monkeypatch, django_capture_on_commit_callbacks
):
    from interviews.services import launch as launch_service

    recorder = RecordingTask()
    monkeypatch.setattr(tasks, "interview_invite_task", recorder)
    monkeypatch.setattr(launch_service, "_in_worker_task", lambda: True)

    def database_gone(*, interview_id: int, launched: Any = None) -> None:
        raise launch_service.IntegrityError("simulated failure before the claim")

    monkeypatch.setattr(launch_service, "interview_invite", database_gone)
    plan = InterviewPlanFactory()
    application = applicant(plan)

    with django_capture_on_commit_callbacks(execute=True):
        move(application, AI)

    assert recorder.enqueued == [Interview.objects.get().pk]


@pytest.mark.parametrize("synthetic", [False, True])
def test_a_synthetic_candidate_is_never_launched_by_a_stage_change(synthetic, vendor_calls):
    # Rehearsal runs launch their own interview with the rehearsal vendor; the plan's real
    # vendor must never see a made-up candidate, even on a live plan.
    plan = InterviewPlanFactory(status=PlanStatus.LIVE)
    application = applicant(plan, candidate__is_synthetic=synthetic)

    launched = move(application, AI)

    assert len(launched) == (0 if synthetic else 1)
    assert Interview.objects.exists() is not synthetic
    assert skips(application) == []


def test_entering_another_stage_launches_nothing():
    plan = InterviewPlanFactory(trigger_stage=AI)
    application = applicant(plan)

    assert move(application, CanonicalStage.APPLIED, old=None) == []
    assert not Interview.objects.exists()
    assert skips(application) == []


def test_a_duplicate_stage_change_creates_exactly_one_interview(
    django_capture_on_commit_callbacks, vendor_calls
):
    plan = InterviewPlanFactory()
    application = applicant(plan)

    with django_capture_on_commit_callbacks(execute=True):
        first = move(application, AI, old=REVIEW)
        second = move(application, AI, old=REVIEW)

    assert len(first) == 1
    assert second == []
    assert Interview.objects.count() == 1
    assert len(vendor_calls.invites) == 1


def test_a_signal_sent_twice_creates_exactly_one_interview(django_capture_on_commit_callbacks):
    plan = InterviewPlanFactory()
    application = applicant(plan, stage=AI)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            application_stage_changed.send(
                sender=Application, application=application, old=REVIEW, new=AI, event=None
            )

    assert Interview.objects.filter(application=application, plan=plan).count() == 1


def test_a_replayed_webhook_through_the_sync_launches_and_invites_once(
    django_capture_on_commit_callbacks, vendor_calls
):
    plan = InterviewPlanFactory()
    connection = AtsConnectionFactory()
    StageMappingFactory(
        connection=connection,
        remote_stage_id="stage-ai",
        remote_stage_name="Automated Interview",
        canonical_stage=AI,
    )
    requisition = RequisitionFactory(connection=connection, remote_id="job-1")
    RoleFamilyMembershipFactory(requisition=requisition, role_family=plan.role_family)
    change = StageChange(
        application_remote_id="app-1",
        candidate=CandidateData(remote_id="cand-1", first_name="Ada"),
        requisition=RequisitionData(remote_id="job-1", title="Support agent"),
        remote_stage_id="stage-ai",
        remote_stage_name="Automated Interview",
        occurred_at=timezone.now(),
    )

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            stage_change_apply(connection=connection, change=change)

    interview = Interview.objects.get()
    assert interview.application.remote_id == "app-1"
    assert interview.status == InterviewStatus.INVITED
    assert vendor_calls.invites == [interview.pk]


def test_re_entering_the_trigger_stage_never_launches_a_second_interview():
    plan = InterviewPlanFactory()
    application = applicant(plan)
    move(application, AI)
    move(application, REVIEW)  # cancels it

    assert move(application, AI) == []
    interview = Interview.objects.get()
    assert interview.status == InterviewStatus.CANCELLED
    assert skips(application) == []


def test_a_stage_change_that_is_no_longer_current_does_nothing():
    plan = InterviewPlanFactory()
    application = applicant(plan, stage=SCREEN)  # a newer change already moved it on

    assert application_stage_changed_handle(application=application, old=REVIEW, new=AI) == []
    assert not Interview.objects.exists()
    assert skips(application) == []


def test_plans_launched_by_an_assessment_partner_ignore_stage_changes():
    plan = InterviewPlanFactory(launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT)
    application = applicant(plan)

    assert move(application, AI) == []
    assert not Interview.objects.exists()


def test_a_sandbox_connection_launches_a_rehearsal_and_a_live_one_does_not():
    plan = InterviewPlanFactory()
    sandbox = applicant(plan, connection__mode=ConnectionMode.SANDBOX)
    live = applicant(plan, connection__mode=ConnectionMode.LIVE)

    (rehearsal,) = move(sandbox, AI)
    (real,) = move(live, AI)

    assert rehearsal.is_rehearsal is True
    assert real.is_rehearsal is False


def test_interview_launch_returns_the_existing_interview_and_enqueues_once(
    django_capture_on_commit_callbacks, vendor_calls
):
    plan = InterviewPlanFactory(launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT)
    application = applicant(plan, stage=AI)

    with django_capture_on_commit_callbacks(execute=True):
        first = interview_launch(
            application=application,
            plan=plan,
            source=LaunchSource.GREENHOUSE_SEND_TEST,
            callback_url="https://app.greenhouse.io/callback/1",
        )
        second = interview_launch(
            application=application, plan=plan, source=LaunchSource.GREENHOUSE_SEND_TEST
        )

    assert first.pk == second.pk
    assert first.callback_url == "https://app.greenhouse.io/callback/1"
    assert first.launch_source == LaunchSource.GREENHOUSE_SEND_TEST
    assert vendor_calls.invites == [first.pk]


def test_interview_launch_check_names_the_reason_for_partner_endpoints():
    plan = InterviewPlanFactory(required_consents=["ai_interview", "recording"])
    application = applicant(plan, candidate__consents=["ai_interview"])

    assert interview_launch_check(application=application, plan=plan) == (
        LaunchSkipReason.MISSING_CONSENT
    )
    application.candidate.consents = ["ai_interview", "recording"]
    assert interview_launch_check(application=application, plan=plan) is None


def test_a_lost_enqueue_is_sent_by_the_sweeper(
    django_capture_on_commit_callbacks, monkeypatch, vendor_calls, caplog
):
    plan = InterviewPlanFactory()
    application = applicant(plan)

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.interview_invite_task, "delay", broker_down)
        with (
            caplog.at_level(logging.WARNING, logger="interviews.services.launch"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            move(application, AI)
    interview = Interview.objects.get()
    assert interview.status == InterviewStatus.PENDING
    assert "the sweeper will" in caplog.text

    assert interviews_invite_sweep() == 0  # not idle long enough yet
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert interviews_invite_sweep() == 1

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.INVITED
    assert vendor_calls.invites == [interview.pk]


# -- real concurrency (PostgreSQL) -------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_stage_change_handlers_launch_and_invite_once(vendor_calls):
    plan = InterviewPlanFactory()
    application = applicant(plan, stage=AI)

    def handle() -> None:
        application_stage_changed_handle(application=application, old=REVIEW, new=AI)

    run_in_threads(*[handle] * 4)

    interview = Interview.objects.get()
    assert interview.status == InterviewStatus.INVITED
    assert vendor_calls.invites == [interview.pk]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_partner_launches_create_one_interview(vendor_calls):
    plan = InterviewPlanFactory(launch_mode=LaunchMode.ASHBY_ASSESSMENT)
    application = applicant(plan, stage=AI)
    launched: list[int] = []

    def start() -> None:
        launched.append(
            interview_launch(application=application, plan=plan, source=LaunchSource.ASHBY_START).pk
        )

    run_in_threads(*[start] * 4)

    interview = Interview.objects.get()
    assert launched == [interview.pk] * 4
    assert vendor_calls.invites == [interview.pk]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_invite_tasks_call_the_vendor_once(vendor_calls):
    interview = InterviewFactory()

    run_in_threads(*[lambda: interview_invite(interview_id=interview.pk)] * 4)

    assert vendor_calls.invites == [interview.pk]
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.INVITED


# -- skip reasons ------------------------------------------------------------------------------


def _draft(plan: InterviewPlan, application: Application) -> None:
    InterviewPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.DRAFT)


def _paused(plan: InterviewPlan, application: Application) -> None:
    InterviewPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.PAUSED)


def _plan_stopped(plan: InterviewPlan, application: Application) -> None:
    StopSwitchFactory(plan=plan)


def _all_stopped(plan: InterviewPlan, application: Application) -> None:
    StopSwitchFactory(scope=StopScope.GLOBAL, plan=None)


def _vendor_stopped(plan: InterviewPlan, application: Application) -> None:
    StopSwitchFactory(scope=StopScope.VENDOR, plan=None, vendor=plan.vendor)


def _opted_out(plan: InterviewPlan, application: Application) -> None:
    application.candidate.opted_out = True
    application.candidate.save()


def _missing_consent(plan: InterviewPlan, application: Application) -> None:
    InterviewPlan.objects.filter(pk=plan.pk).update(required_consents=["ai_interview", "video"])


def _vendor_inactive(plan: InterviewPlan, application: Application) -> None:
    plan.vendor.active = False
    plan.vendor.save()


def _rehearsal_vendor_on_live(plan: InterviewPlan, application: Application) -> None:
    plan.vendor.kind = VendorKind.REHEARSAL
    plan.vendor.save()
    application.connection.mode = ConnectionMode.LIVE
    application.connection.save()


SKIP_CASES: list[tuple[Callable[[InterviewPlan, Application], None], str, str]] = [
    (_draft, LaunchSkipReason.PLAN_DRAFT, "is a draft"),
    (_paused, LaunchSkipReason.PLAN_PAUSED, "is paused"),
    (_plan_stopped, LaunchSkipReason.STOPPED, "Vendor outage"),
    (_all_stopped, LaunchSkipReason.STOPPED, "Stop switch for everything"),
    (_vendor_stopped, LaunchSkipReason.STOPPED, "Stop switch for Interview vendor"),
    (_opted_out, LaunchSkipReason.OPTED_OUT, "opted out"),
    (_missing_consent, LaunchSkipReason.MISSING_CONSENT, "Missing consent: video."),
    (_vendor_inactive, LaunchSkipReason.VENDOR_INACTIVE, "is inactive"),
    (_rehearsal_vendor_on_live, LaunchSkipReason.VENDOR_INACTIVE, "sandbox connections only"),
]


@pytest.mark.parametrize(
    ("arrange", "reason", "detail"), SKIP_CASES, ids=[case[0].__name__ for case in SKIP_CASES]
)
def test_every_reason_not_to_launch_is_recorded_and_nothing_launches(
    arrange, reason, detail, django_capture_on_commit_callbacks, vendor_calls
):
    plan = InterviewPlanFactory()
    application = applicant(plan)
    arrange(plan, application)

    with django_capture_on_commit_callbacks(execute=True):
        assert move(application, AI) == []

    assert not Interview.objects.exists()
    assert vendor_calls.invites == []
    skip = LaunchSkip.objects.get()
    assert (skip.application, skip.plan, skip.reason) == (application, plan, reason)
    assert detail in skip.detail
    assert list(launch_skips_list(reason=reason)) == [skip]


def test_a_stop_switch_skip_says_who_switched_it_on_and_why():
    plan = InterviewPlanFactory()
    application = applicant(plan)
    ops = UserFactory(username="ops-olga")
    StopSwitchFactory(plan=plan, switched_on_by=ops, reason="Scoring bug under investigation")

    move(application, AI)

    skip = LaunchSkip.objects.get(reason=LaunchSkipReason.STOPPED)
    assert "ops-olga" in skip.detail
    assert "Scoring bug under investigation" in skip.detail


def test_a_skip_seen_again_counts_occurrences_on_one_row():
    plan = InterviewPlanFactory(status=PlanStatus.PAUSED)
    application = applicant(plan)
    move(application, AI)
    first_seen = LaunchSkip.objects.get().last_seen_at

    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        move(application, REVIEW)
        move(application, AI)

    skip = LaunchSkip.objects.get()
    assert skip.occurrences == 2
    assert skip.last_seen_at > first_seen
    assert skip.first_seen_at == first_seen


def test_a_running_plan_speaks_for_its_stage_and_draft_siblings_are_not_reported():
    plan = InterviewPlanFactory()
    InterviewPlanFactory(role_family=plan.role_family, status=PlanStatus.DRAFT)
    application = applicant(plan)

    move(application, AI)

    assert Interview.objects.get().plan == plan
    assert skips(application) == []


def test_jumping_from_before_to_after_the_trigger_stage_records_a_skipped_stage():
    plan = InterviewPlanFactory(trigger_stage=AI)
    application = applicant(plan)

    assert move(application, SCREEN, old=REVIEW) == []

    assert not Interview.objects.exists()
    skip = LaunchSkip.objects.get()
    assert (skip.plan, skip.reason) == (plan, LaunchSkipReason.SKIPPED_STAGE)
    assert "past the trigger stage Automated interview" in skip.detail


def test_an_application_first_seen_past_the_trigger_stage_records_a_skipped_stage():
    plan = InterviewPlanFactory(trigger_stage=AI)
    application = applicant(plan)

    move(application, CanonicalStage.ONSITE, old=None)

    assert skips(application) == [(plan.pk, LaunchSkipReason.SKIPPED_STAGE)]


@pytest.mark.parametrize("old", [AI, SCREEN, CanonicalStage.UNMAPPED])
def test_moves_that_did_not_jump_over_the_trigger_stage_record_no_skip(old):
    plan = InterviewPlanFactory(trigger_stage=AI)
    application = applicant(plan)

    move(application, CanonicalStage.HIRING_MANAGER_REVIEW, old=old)

    assert skips(application) == []


def test_no_role_family_is_recorded_only_at_a_trigger_stage_of_a_running_plan():
    InterviewPlanFactory(trigger_stage=AI, name="Support screen")
    InterviewPlanFactory(trigger_stage=CanonicalStage.ONSITE, status=PlanStatus.DRAFT)
    application = ApplicationFactory(
        canonical_stage=REVIEW, requisition__title="Chef", requisition__department="Kitchen"
    )

    move(application, CanonicalStage.ONSITE)  # only a draft plan triggers here
    assert skips(application) == []

    move(application, AI)

    skip = LaunchSkip.objects.get()
    assert skip.plan is None
    assert skip.reason == LaunchSkipReason.NO_ROLE_FAMILY
    assert "Chef" in skip.detail
    assert "Support screen" in skip.detail
    assert not Interview.objects.exists()


def test_a_requisition_joining_a_family_by_rule_launches_on_the_same_sync():
    family = RoleFamilyFactory(title_pattern="support")
    plan = InterviewPlanFactory(role_family=family)
    application = ApplicationFactory(canonical_stage=REVIEW, requisition__title="Support agent")

    (interview,) = move(application, AI)

    assert interview.plan == plan


# -- cancelling --------------------------------------------------------------------------------


def test_leaving_the_trigger_stage_cancels_the_interview_and_withdraws_it_at_the_vendor(
    django_capture_on_commit_callbacks, vendor_calls
):
    plan = InterviewPlanFactory()
    application = applicant(plan)
    with django_capture_on_commit_callbacks(execute=True):
        move(application, AI)
    interview = Interview.objects.get()
    assert interview.status == InterviewStatus.INVITED

    with django_capture_on_commit_callbacks(execute=True):
        move(application, SCREEN)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.CANCELLED
    assert interview.ended_at is not None
    assert "left Automated interview for Recruiter screen" in interview.failure_reason
    assert vendor_calls.cancels == [interview.vendor_reference]


@pytest.mark.parametrize(
    "outcome", [CanonicalStage.REJECTED, CanonicalStage.WITHDRAWN, CanonicalStage.HIRED]
)
def test_an_outcome_in_the_ats_cancels_every_open_interview(outcome):
    interview = InterviewFactory(started=True, launch_source=LaunchSource.GREENHOUSE_SEND_TEST)
    other = InterviewFactory(application=interview.application, invited=True)
    done = InterviewFactory(application=interview.application, completed=True)

    move(interview.application, outcome)

    for row in (interview, other):
        row.refresh_from_db()
        assert row.status == InterviewStatus.CANCELLED
        assert outcome.label.lower() in row.failure_reason
    done.refresh_from_db()
    assert done.status == InterviewStatus.COMPLETED
    assert skips(interview.application) == []


def test_a_partner_launched_interview_survives_a_stage_move():
    interview = InterviewFactory(invited=True, launch_source=LaunchSource.ASHBY_START)

    move(interview.application, SCREEN)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.INVITED


def test_a_pending_interview_is_cancelled_without_calling_the_vendor(
    django_capture_on_commit_callbacks, vendor_calls
):
    interview = InterviewFactory()  # pending: the vendor has not heard of it

    with django_capture_on_commit_callbacks(execute=True):
        move(interview.application, SCREEN)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.CANCELLED
    assert vendor_calls.cancels == []


def test_a_vendor_that_fails_to_withdraw_is_logged_not_raised(
    django_capture_on_commit_callbacks, vendor_calls, caplog
):
    interview = InterviewFactory(invited=True)
    vendor_calls.cancel_error = AtsServerError("503 from vendor", status_code=503)

    with (
        caplog.at_level(logging.WARNING, logger="interviews.services.lifecycle"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        move(interview.application, CanonicalStage.REJECTED)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.CANCELLED
    assert "could not withdraw interview" in caplog.text


# -- admin: launch skips -----------------------------------------------------------------------


def staff(username: str, group: str) -> Any:
    sync_role_groups()
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def skip_row() -> LaunchSkip:
    plan = InterviewPlanFactory(status=PlanStatus.PAUSED, name="Support screen")
    application = applicant(plan, candidate__last_name="Lovelace")
    move(application, AI)
    return LaunchSkip.objects.get()


@pytest.mark.parametrize("group", [HIRING_OPS_ADMIN, AUDITOR])
def test_hiring_ops_admins_and_auditors_see_launch_skips(client, skip_row, group):
    client.force_login(staff("viewer", group))

    response = client.get(reverse("admin:interviews_launchskip_changelist"))

    assert response.status_code == 200
    assert b"Lovelace" in response.content
    assert b"is paused" in response.content
    detail = client.get(reverse("admin:interviews_launchskip_change", args=[skip_row.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content


def test_launch_skips_filter_by_reason_and_plan_and_search(client, skip_row):
    client.force_login(staff("ops", HIRING_OPS_ADMIN))
    url = reverse("admin:interviews_launchskip_changelist")

    by_reason = client.get(url, {"reason": LaunchSkipReason.PLAN_PAUSED})
    other_reason = client.get(url, {"reason": LaunchSkipReason.OPTED_OUT})
    by_plan = client.get(url, {"plan__id__exact": skip_row.plan_id})
    found = client.get(url, {"q": "Lovelace"})
    missed = client.get(url, {"q": "Nobody"})

    assert b"Lovelace" in by_reason.content
    assert b"Lovelace" not in other_reason.content
    assert b"Lovelace" in by_plan.content
    assert b"Lovelace" in found.content
    assert b"Lovelace" not in missed.content


def test_a_recruiter_cannot_see_launch_skips(client, skip_row):
    client.force_login(staff("rita", RECRUITER))

    assert client.get(reverse("admin:interviews_launchskip_changelist")).status_code == 403
    assert (
        client.get(reverse("admin:interviews_launchskip_change", args=[skip_row.pk])).status_code
        == 403
    )


def test_nobody_adds_or_deletes_launch_skips(client, skip_row):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get(reverse("admin:interviews_launchskip_add")).status_code == 403
    delete = reverse("admin:interviews_launchskip_delete", args=[skip_row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert LaunchSkip.objects.filter(pk=skip_row.pk).exists()


# -- admin: stop switches ----------------------------------------------------------------------


def test_switching_on_records_who_and_stops_launches(client):
    plan = InterviewPlanFactory()
    ops = staff("ops", HIRING_OPS_ADMIN)
    client.force_login(ops)

    response = admin_switch_on_for_plan(client, plan)

    assert response.status_code == 302
    switch = StopSwitch.objects.get()
    assert (switch.active, switch.switched_on_by, switch.reason) == (True, ops, "Vendor outage")
    application = applicant(plan)
    move(application, AI)
    assert skips(application) == [(plan.pk, LaunchSkipReason.STOPPED)]


def test_switching_on_needs_a_reason_and_a_target_that_fits_the_scope(client):
    plan = InterviewPlanFactory()
    client.force_login(staff("ops", HIRING_OPS_ADMIN))
    url = reverse("admin:governance_stopswitch_add")

    no_reason = client.post(url, {"scope": StopScope.GLOBAL, "reason": ""})
    no_plan = client.post(url, {"scope": StopScope.PLAN, "reason": "x"})
    global_with_plan = client.post(url, {"scope": StopScope.GLOBAL, "plan": plan.pk, "reason": "x"})

    assert no_reason.status_code == 200
    assert "This field is required." in no_reason.content.decode()
    assert "Choose the plan to stop." in no_plan.content.decode()
    assert "A global switch stops everything" in global_with_plan.content.decode()
    assert not StopSwitch.objects.exists()


def test_a_second_switch_for_the_same_target_gets_a_clear_error(client):
    existing = StopSwitchFactory()
    client.force_login(staff("ops", HIRING_OPS_ADMIN))

    response = client.post(
        reverse("admin:governance_stopswitch_add"),
        {"scope": StopScope.PLAN, "plan": existing.plan_id, "reason": "again"},
    )

    assert response.status_code == 200
    assert "A stop switch for this is already on." in response.content.decode()
    assert StopSwitch.objects.count() == 1


def test_switching_off_records_who_and_when_and_launches_resume(client):
    switch = StopSwitchFactory()
    ops = staff("ops", HIRING_OPS_ADMIN)
    client.force_login(ops)

    response = admin_switch_off(client, switch)

    assert response.status_code == 302
    switch.refresh_from_db()
    assert switch.active is False
    assert switch.switched_off_by == ops
    assert switch.switched_off_at is not None
    application = applicant(switch.plan)
    assert len(move(application, AI)) == 1


def test_switching_off_again_keeps_the_first_switcher(client):
    first = staff("first", HIRING_OPS_ADMIN)
    switch = StopSwitchFactory(active=False, switched_off_by=first, switched_off_at=timezone.now())
    client.force_login(staff("second", HIRING_OPS_ADMIN))

    admin_switch_off(client, switch)

    switch.refresh_from_db()
    assert switch.switched_off_by == first


def test_stop_switches_are_never_deleted_or_edited(client):
    switch = StopSwitchFactory()
    client.force_login(staff("ops", HIRING_OPS_ADMIN))

    delete = reverse("admin:governance_stopswitch_delete", args=[switch.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    detail = client.get(reverse("admin:governance_stopswitch_change", args=[switch.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert StopSwitch.objects.filter(pk=switch.pk, active=True).exists()


def test_an_auditor_sees_stop_switches_but_cannot_switch(client):
    switch = StopSwitchFactory()
    client.force_login(staff("audrey", AUDITOR))

    assert client.get(reverse("admin:governance_stopswitch_changelist")).status_code == 200
    assert client.get(reverse("admin:governance_stopswitch_add")).status_code == 403
    admin_switch_off(client, switch)
    switch.refresh_from_db()
    assert switch.active is True


def test_a_recruiter_cannot_see_or_flip_stop_switches(client):
    switch = StopSwitchFactory()
    client.force_login(staff("rita", RECRUITER))

    assert client.get(reverse("admin:governance_stopswitch_changelist")).status_code == 403
    assert client.get(reverse("admin:governance_stopswitch_add")).status_code == 403
    admin_switch_off(client, switch)
    switch.refresh_from_db()
    assert switch.active is True
