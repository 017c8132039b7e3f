"""Stop switches: once on, a stage change that would launch records "stopped" and launches
nothing; in-flight interviews are flagged for review; who switched and why is audited; off again,
the next stage change launches."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import get_resolver, reverse
from django.utils import timezone

from governance import audit
from governance.models import AuditEvent, StopScope, StopSwitch
from governance.roles import HIRING_OPS_ADMIN, sync_role_groups
from governance.stop_switch import (
    StopSwitchAlreadyOffError,
    StopSwitchAlreadyOnError,
    StopSwitchError,
    active_stop,
    stop_switch_off,
    stop_switch_on,
)
from integrations.connectors.base import CandidateData, RequisitionData, StageChange
from integrations.models import AtsConnection, CanonicalStage, Requisition
from integrations.services.stage_sync import stage_change_apply
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewStatus,
    LaunchSkip,
    LaunchSkipReason,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
)
from interviews.vendors import registry
from interviews.vendors.base import Invitation, VendorAdapter
from tests.factories import (
    AtsConnectionFactory,
    InterviewFactory,
    InterviewPlanFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    RoleFamilyMembershipFactory,
    StageMappingFactory,
    StopSwitchFactory,
    UserFactory,
)
from tests.helpers import admin_switch_off, admin_switch_on_for_plan

pytestmark = pytest.mark.django_db

AI = CanonicalStage.AUTOMATED_INTERVIEW


class FakeAdapter(VendorAdapter):
    """Accepts every invitation; records which interviews were sent."""

    sent: list[int]

    def invite(self, interview: Interview) -> Invitation:
        self.sent.append(interview.pk)
        return Invitation(
            vendor_reference=f"ref-{interview.public_id}",
            invite_url=f"https://vendor.example/i/{interview.public_id}",
        )

    def cancel(self, interview: Interview) -> None:
        return None


@pytest.fixture(autouse=True)
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    # Load every module of the URLconf first, so none keeps a reference to the fake afterwards.
    _ = get_resolver().url_patterns
    invitations: list[int] = []

    def adapter_for(vendor: Any) -> FakeAdapter:
        adapter = FakeAdapter(vendor)
        adapter.sent = invitations
        return adapter

    monkeypatch.setattr(registry, "adapter_for", adapter_for)
    return invitations


@pytest.fixture
def ops() -> Any:
    sync_role_groups()
    user = UserFactory(username="ops", is_staff=True)
    user.groups.add(Group.objects.get(name=HIRING_OPS_ADMIN))
    return user


@pytest.fixture
def plan() -> InterviewPlan:
    return InterviewPlanFactory()


class Ats:
    """One sandbox connection whose "Automated Interview" stage triggers ``plan``."""

    def __init__(self, plan: InterviewPlan) -> None:
        self.connection: AtsConnection = AtsConnectionFactory()
        StageMappingFactory(
            connection=self.connection,
            remote_stage_id="stage-ai",
            remote_stage_name="Automated Interview",
            canonical_stage=AI,
        )
        self.requisition: Requisition = RequisitionFactory(
            connection=self.connection, remote_id="job-1"
        )
        RoleFamilyMembershipFactory(requisition=self.requisition, role_family=plan.role_family)
        self.count = 0

    def move_new_candidate_into_the_ai_stage(self, capture: Any) -> str:
        """What a webhook's sync does: a new application enters the trigger stage."""
        self.count += 1
        remote_id = f"app-{self.count}"
        change = StageChange(
            application_remote_id=remote_id,
            candidate=CandidateData(remote_id=f"cand-{self.count}", first_name="Ada"),
            requisition=RequisitionData(remote_id="job-1", title="Support agent"),
            remote_stage_id="stage-ai",
            remote_stage_name="Automated Interview",
            occurred_at=timezone.now(),
        )
        # The sync publishes the change after commit; the launch and invitation follow it.
        with capture(execute=True):
            stage_change_apply(connection=self.connection, change=change)
        return remote_id


def switch_for(scope: str, plan: InterviewPlan) -> dict[str, Any]:
    return {
        StopScope.GLOBAL: {"scope": StopScope.GLOBAL},
        StopScope.PLAN: {"scope": StopScope.PLAN, "plan": plan},
        StopScope.VENDOR: {"scope": StopScope.VENDOR, "vendor": plan.vendor},
    }[scope]


def audit_rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


SCOPES = [StopScope.GLOBAL, StopScope.PLAN, StopScope.VENDOR]


# -- the acceptance point ----------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_a_stage_change_after_switching_on_records_stopped_and_launches_nothing(
    scope, plan, ops, sent, django_capture_on_commit_callbacks
):
    ats = Ats(plan)
    stop_switch_on(**switch_for(scope, plan), reason="Vendor scoring incident", actor=ops)

    remote_id = ats.move_new_candidate_into_the_ai_stage(django_capture_on_commit_callbacks)

    assert not Interview.objects.exists()
    assert sent == []
    skip = LaunchSkip.objects.get(application__remote_id=remote_id)
    assert (skip.plan, skip.reason) == (plan, LaunchSkipReason.STOPPED)
    assert "Vendor scoring incident" in skip.detail
    assert "ops" in skip.detail


@pytest.mark.parametrize("scope", SCOPES)
def test_after_switching_off_the_next_stage_change_launches(
    scope, plan, ops, sent, django_capture_on_commit_callbacks
):
    ats = Ats(plan)
    switch = stop_switch_on(**switch_for(scope, plan), reason="Vendor outage", actor=ops)
    stopped = ats.move_new_candidate_into_the_ai_stage(django_capture_on_commit_callbacks)

    stop_switch_off(switch=switch, actor=ops)
    launched = ats.move_new_candidate_into_the_ai_stage(django_capture_on_commit_callbacks)

    interview = Interview.objects.get()
    assert interview.application.remote_id == launched
    assert interview.status == InterviewStatus.INVITED
    assert sent == [interview.pk]
    # The candidate stopped earlier is not launched in a burst by switching off.
    assert not Interview.objects.filter(application__remote_id=stopped).exists()
    assert active_stop(plan=plan, vendor=plan.vendor) is None


def test_a_switch_for_another_plan_or_vendor_stops_nothing_here(
    plan, ops, sent, django_capture_on_commit_callbacks
):
    ats = Ats(plan)
    other = InterviewPlanFactory()
    stop_switch_on(scope=StopScope.PLAN, plan=other, reason="Rubric review", actor=ops)
    stop_switch_on(scope=StopScope.VENDOR, vendor=other.vendor, reason="Outage", actor=ops)

    ats.move_new_candidate_into_the_ai_stage(django_capture_on_commit_callbacks)

    assert Interview.objects.filter(plan=plan).count() == 1
    assert not LaunchSkip.objects.exists()


# -- flagging in-flight interviews -------------------------------------------------------------


def test_switching_on_flags_every_in_flight_interview_in_scope(plan, ops):
    pending = InterviewFactory(plan=plan)
    invited = InterviewFactory(plan=plan, invited=True)
    started = InterviewFactory(plan=plan, started=True)
    completed = InterviewFactory(plan=plan, completed=True)
    cancelled = InterviewFactory(plan=plan, status=InterviewStatus.CANCELLED)
    elsewhere = InterviewFactory(invited=True)  # another plan and vendor

    stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="Bias audit pending", actor=ops)

    tasks = {task.interview_id: task for task in ReviewTask.objects.all()}
    assert set(tasks) == {pending.pk, invited.pk, started.pk}
    for task in tasks.values():
        assert task.reason == ReviewReason.FLAGGED
        assert task.status == ReviewStatus.OPEN
        assert task.detail == "Stop switch on: Bias audit pending"
    assert not ReviewTask.objects.filter(interview__in=[completed, cancelled, elsewhere]).exists()


def test_a_vendor_switch_flags_that_vendors_interviews_and_a_global_one_all(plan, ops):
    mine = InterviewFactory(plan=plan, invited=True)
    same_vendor = InterviewFactory(plan=InterviewPlanFactory(vendor=plan.vendor), started=True)
    other_vendor = InterviewFactory(invited=True)

    stop_switch_on(scope=StopScope.VENDOR, vendor=plan.vendor, reason="Outage", actor=ops)
    assert set(ReviewTask.objects.values_list("interview_id", flat=True)) == {
        mine.pk,
        same_vendor.pk,
    }

    stop_switch_on(scope=StopScope.GLOBAL, reason="Everything stops", actor=ops)
    assert set(ReviewTask.objects.values_list("interview_id", flat=True)) == {
        mine.pk,
        same_vendor.pk,
        other_vendor.pk,
    }
    # One open task per interview: the second switch added its note to the first one's task.
    task = ReviewTask.objects.get(interview=mine)
    assert task.detail == "Stop switch on: Everything stops\nStop switch on: Outage"


def test_an_open_review_task_gains_the_note_instead_of_a_second_task(plan, ops):
    interview = InterviewFactory(plan=plan, started=True)
    task = ReviewTaskFactory(
        interview=interview,
        result=None,
        reason=ReviewReason.LOW_CONFIDENCE,
        detail="v1: vendor confidence 0.4.",
        status=ReviewStatus.CLAIMED,
        claimed_by=ops,
        claimed_at=timezone.now(),
    )

    stop_switch_on(scope=StopScope.GLOBAL, reason="Vendor outage", actor=ops)

    assert ReviewTask.objects.count() == 1
    task.refresh_from_db()
    assert task.reason == ReviewReason.FLAGGED
    assert task.status == ReviewStatus.CLAIMED
    assert task.claimed_by == ops
    assert task.detail == "Stop switch on: Vendor outage\nv1: vendor confidence 0.4."


def test_a_done_review_task_does_not_stop_a_new_one_from_opening(plan, ops):
    interview = InterviewFactory(plan=plan, invited=True)
    done = ReviewTaskFactory(interview=interview, result=None, status=ReviewStatus.DONE)

    stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="Outage", actor=ops)

    new = ReviewTask.objects.exclude(pk=done.pk).get()
    assert (new.interview, new.reason, new.status) == (
        interview,
        ReviewReason.FLAGGED,
        ReviewStatus.OPEN,
    )


def test_a_long_reason_is_cut_to_the_detail_column(plan, ops):
    InterviewFactory(plan=plan, invited=True)

    stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="x" * 800, actor=ops)

    detail = ReviewTask.objects.get().detail
    assert len(detail) == 500
    assert detail.startswith("Stop switch on: xxx")
    assert detail.endswith("…")


# -- audit -------------------------------------------------------------------------------------


def test_switching_on_and_off_writes_audit_events_with_who_and_why(plan, ops):
    InterviewFactory(plan=plan, invited=True)

    switch = stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="Rubric mismatch", actor=ops)
    stop_switch_off(switch=switch, actor=ops)

    [on] = audit_rows("stop_switch.on")
    assert on.actor == ops
    assert on.object_id == str(switch.pk)
    assert on.changes["scope"] == "plan"
    assert on.changes["reason"] == "Rubric mismatch"
    assert plan.name in on.changes["target"]
    assert on.changes["flagged_interviews"] == 1
    [off] = audit_rows("stop_switch.off")
    assert off.actor == ops
    assert off.object_id == str(switch.pk)
    switch.refresh_from_db()
    assert (switch.active, switch.switched_off_by) == (False, ops)
    assert switch.switched_off_at is not None


def test_a_failing_audit_write_rolls_the_whole_switch_on_back(plan, ops, monkeypatch):
    InterviewFactory(plan=plan, invited=True)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="Outage", actor=ops)

    assert not StopSwitch.objects.exists()
    assert not ReviewTask.objects.exists()


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_a_second_active_switch_for_the_same_target_is_refused_clearly(scope, plan, ops):
    first = stop_switch_on(**switch_for(scope, plan), reason="First", actor=ops)

    with pytest.raises(StopSwitchAlreadyOnError, match="already on") as caught:
        stop_switch_on(**switch_for(scope, plan), reason="Second", actor=ops)

    assert caught.value.existing == first
    assert "switched on by ops" in str(caught.value)
    assert "First" in str(caught.value)
    assert StopSwitch.objects.count() == 1
    assert len(audit_rows("stop_switch.on")) == 1


def test_after_switching_off_the_same_target_can_be_switched_on_again(plan, ops):
    first = stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="First", actor=ops)
    stop_switch_off(switch=first, actor=ops)

    second = stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="Again", actor=ops)

    assert active_stop(plan=plan) == second


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": StopScope.GLOBAL, "reason": "   "}, "reason is required"),
        ({"scope": StopScope.GLOBAL, "reason": ""}, "reason is required"),
        ({"scope": StopScope.PLAN, "reason": "x"}, "needs the plan"),
        ({"scope": StopScope.VENDOR, "reason": "x"}, "needs the vendor"),
        ({"scope": "everything", "reason": "x"}, "Unknown scope"),
    ],
)
def test_a_blank_reason_or_a_missing_target_is_refused_and_nothing_stored(kwargs, message, ops):
    with pytest.raises(StopSwitchError, match=message):
        stop_switch_on(**kwargs, actor=ops)

    assert not StopSwitch.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_global_switch_with_a_plan_is_refused(plan, ops):
    with pytest.raises(StopSwitchError, match="global switch stops everything"):
        stop_switch_on(scope=StopScope.GLOBAL, plan=plan, reason="x", actor=ops)


def test_switching_off_twice_keeps_the_first_person_and_one_audit_event(plan, ops):
    switch = stop_switch_on(scope=StopScope.PLAN, plan=plan, reason="Outage", actor=ops)
    stop_switch_off(switch=switch, actor=ops)
    other = UserFactory(username="other")

    with pytest.raises(StopSwitchAlreadyOffError, match=r"already off.*ops"):
        stop_switch_off(switch=switch, actor=other)

    switch.refresh_from_db()
    assert switch.switched_off_by == ops
    assert len(audit_rows("stop_switch.off")) == 1


# -- the admin uses the services ---------------------------------------------------------------


def test_the_admin_switch_on_flags_interviews_and_audits(client, plan, ops):
    interview = InterviewFactory(plan=plan, invited=True)
    client.force_login(ops)

    response = admin_switch_on_for_plan(client, plan)

    assert response.status_code == 302
    switch = StopSwitch.objects.get()
    assert (switch.active, switch.switched_on_by, switch.reason) == (True, ops, "Vendor outage")
    assert ReviewTask.objects.get().interview == interview
    [event] = audit_rows("stop_switch.on")
    assert (event.actor, event.object_id) == (ops, str(switch.pk))


def test_the_admin_switch_off_action_audits_each_switch(client, plan, ops):
    first = StopSwitchFactory(plan=plan)
    second = StopSwitchFactory(scope=StopScope.GLOBAL, plan=None)
    already_off = StopSwitchFactory(active=False, switched_off_at=timezone.now())
    client.force_login(ops)

    response = admin_switch_off(client, first, second, already_off)

    assert response.status_code == 302
    assert not StopSwitch.objects.filter(active=True).exists()
    assert {e.object_id for e in audit_rows("stop_switch.off")} == {str(first.pk), str(second.pk)}


def test_an_admin_switch_on_that_loses_a_race_says_so_without_an_error_page(
    client, plan, ops, monkeypatch
):
    from governance import admin_stop

    def already_on(**kwargs: Any) -> StopSwitch:
        raise StopSwitchAlreadyOnError(None)

    monkeypatch.setattr(admin_stop, "stop_switch_on", already_on)
    client.force_login(ops)

    response = client.post(
        reverse("admin:governance_stopswitch_add"),
        {"scope": StopScope.PLAN, "plan": plan.pk, "vendor": "", "reason": "Outage"},
        follow=True,
    )

    assert response.status_code == 200
    assert "A stop switch for this is already on." in response.content.decode()
    assert not StopSwitch.objects.exists()
