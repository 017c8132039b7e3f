"""Sending invitations (claims, retries, stop switch at send time), guarded status transitions,
expiry and reminders (``services.lifecycle``)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import call_command
from django.urls import get_resolver
from django.utils import timezone

from governance.models import StopScope
from integrations.http import AtsAuthError, AtsRateLimited, AtsServerError, AtsTimeout
from integrations.models import ConnectionMode, WritebackJob, WritebackKind, WritebackStatus
from interviews import tasks
from interviews.models import Interview, InterviewStatus, LaunchSkip, LaunchSkipReason
from interviews.services.lifecycle import (
    CLAIM_LEASE,
    MAX_INVITE_ATTEMPTS,
    STARTED_GRACE,
    interview_invite,
    interview_transition,
    interviews_expire_due,
    interviews_invite_sweep,
    interviews_remind_due,
)
from interviews.vendors import registry
from interviews.vendors.base import Invitation, VendorAdapter
from tests.factories import InterviewFactory, StopSwitchFactory

pytestmark = pytest.mark.django_db


class VendorCalls:
    def __init__(self) -> None:
        self.invites: list[int] = []
        self.cancels: list[str] = []
        self.errors: list[Exception] = []  # raised by the next invites, in order
        self.expires_at: dt.datetime | None = None
        self.during_invite: Callable[[Interview], None] | None = None


class FakeAdapter(VendorAdapter):
    def __init__(self, vendor: Any, calls: VendorCalls) -> None:
        super().__init__(vendor)
        self.calls = calls

    def invite(self, interview: Interview) -> Invitation:
        self.calls.invites.append(interview.pk)
        if self.calls.during_invite is not None:
            self.calls.during_invite(interview)
        if self.calls.errors:
            raise self.calls.errors.pop(0)
        return Invitation(
            vendor_reference=f"ref-{interview.pk}",
            invite_url=f"https://vendor.example/i/{interview.pk}",
            expires_at=self.calls.expires_at,
        )

    def cancel(self, interview: Interview) -> None:
        self.calls.cancels.append(interview.vendor_reference)


@pytest.fixture(autouse=True)
def vendor_calls(monkeypatch: pytest.MonkeyPatch) -> VendorCalls:
    # Import every module the URLconf pulls in *before* patching: a module that imported
    # ``adapter_for`` by name while the fake is installed would keep the fake for good.
    _ = get_resolver().url_patterns
    calls = VendorCalls()
    monkeypatch.setattr(registry, "adapter_for", lambda vendor: FakeAdapter(vendor, calls))
    return calls


def later(**delta: float) -> Any:
    return time_machine.travel(timezone.now() + dt.timedelta(**delta), tick=False)


def fresh(interview: Interview) -> Interview:
    interview.refresh_from_db()
    return interview


# -- sending invitations -----------------------------------------------------------------------


def test_an_invitation_is_sent_once_and_the_interview_becomes_invited(vendor_calls):
    interview = InterviewFactory(plan__expiry_days=5)

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        interview_invite(interview_id=interview.pk)

    interview = fresh(interview)
    assert interview.status == InterviewStatus.INVITED
    assert interview.vendor_reference == f"ref-{interview.pk}"
    assert interview.invite_url == f"https://vendor.example/i/{interview.pk}"
    assert interview.invited_at == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert interview.expires_at == dt.datetime(2026, 3, 7, 9, 0, tzinfo=dt.UTC)
    assert interview.failure_reason == ""
    assert vendor_calls.invites == [interview.pk]


def test_the_vendors_own_expiry_wins_over_the_plans(vendor_calls):
    vendor_calls.expires_at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    interview = InterviewFactory()

    interview_invite(interview_id=interview.pk)

    assert fresh(interview).expires_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def test_running_the_invite_task_twice_calls_the_vendor_once(vendor_calls):
    interview = InterviewFactory()

    tasks.interview_invite_task(interview.pk)
    tasks.interview_invite_task(interview.pk)

    assert vendor_calls.invites == [interview.pk]
    assert fresh(interview).status == InterviewStatus.INVITED


def test_an_invitation_in_flight_is_not_sent_again(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.during_invite = lambda _: interview_invite(interview_id=interview.pk)

    interview_invite(interview_id=interview.pk)

    assert vendor_calls.invites == [interview.pk]
    assert fresh(interview).status == InterviewStatus.INVITED


@pytest.mark.parametrize(
    "error",
    [
        AtsServerError("503 Service Unavailable", status_code=503),
        AtsTimeout("read timed out"),
        AtsRateLimited("429 Too Many Requests", status_code=429, retry_after=30),
        KeyError("api_key"),
    ],
    ids=["5xx", "timeout", "429", "unexpected"],
)
def test_a_retryable_error_leaves_the_interview_pending_with_the_next_try_scheduled(
    vendor_calls, error
):
    interview = InterviewFactory()
    vendor_calls.errors = [error]
    failed_at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    with time_machine.travel(failed_at, tick=False):
        interview_invite(interview_id=interview.pk)

    interview = fresh(interview)
    assert interview.status == InterviewStatus.PENDING
    assert interview.invited_at is None  # claim released
    assert interview.invite_attempts == 1
    # The first backoff is at most 60 s; a Retry-After is a floor.
    assert failed_at <= interview.next_invite_at <= failed_at + dt.timedelta(seconds=60)
    assert interview.failure_reason == f"{type(error).__name__}: {str(error).strip()}"


def test_a_rate_limited_retry_waits_at_least_what_the_vendor_asked(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.errors = [AtsRateLimited("429", status_code=429, retry_after=900)]

    interview_invite(interview_id=interview.pk)

    assert fresh(interview).next_invite_at >= timezone.now() + dt.timedelta(seconds=899)
    with later(minutes=14):
        assert interviews_invite_sweep() == 0
    with later(minutes=15, seconds=1):
        assert interviews_invite_sweep() == 1
    assert fresh(interview).status == InterviewStatus.INVITED


def test_the_sweeper_retries_after_the_backoff_and_the_invitation_goes_out(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.errors = [AtsServerError("502 Bad Gateway", status_code=502)]
    interview_invite(interview_id=interview.pk)

    assert interviews_invite_sweep() == 0  # too soon
    with later(minutes=3):  # first backoff is at most 60 s; the sweeper waits 2 minutes
        assert interviews_invite_sweep() == 1

    interview = fresh(interview)
    assert interview.status == InterviewStatus.INVITED
    assert interview.failure_reason == ""
    assert interview.next_invite_at is None
    assert interview.invite_attempts == 2
    assert vendor_calls.invites == [interview.pk, interview.pk]


def test_each_failed_try_counts_and_keeps_only_the_last_error(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.errors = [
        AtsServerError("502 Bad Gateway", status_code=502),
        AtsTimeout("read timed out"),
    ]
    interview_invite(interview_id=interview.pk)

    with later(hours=1):
        assert interviews_invite_sweep() == 1

    interview = fresh(interview)
    assert interview.status == InterviewStatus.PENDING
    assert interview.invite_attempts == 2
    assert interview.next_invite_at is not None
    assert interview.failure_reason == "AtsTimeout: read timed out"


def test_retries_give_up_after_the_last_attempt_and_fail_visibly(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.errors = [
        AtsServerError(f"503 try {n}", status_code=503) for n in range(MAX_INVITE_ATTEMPTS)
    ]

    interview_invite(interview_id=interview.pk)
    for hour in range(1, MAX_INVITE_ATTEMPTS):
        with later(hours=hour):
            assert interviews_invite_sweep() == 1

    interview = fresh(interview)
    assert interview.status == InterviewStatus.FAILED
    assert interview.ended_at is not None
    assert interview.failure_reason.startswith(
        f"Gave up after {MAX_INVITE_ATTEMPTS} attempts to send the invitation: AtsServerError"
    )
    assert interview.invite_attempts == MAX_INVITE_ATTEMPTS
    assert interview.next_invite_at is None
    assert len(vendor_calls.invites) == MAX_INVITE_ATTEMPTS
    with later(hours=MAX_INVITE_ATTEMPTS + 1):
        assert interviews_invite_sweep() == 0


def test_a_permanent_error_fails_the_interview_at_once(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.errors = [AtsAuthError("401 Unauthorized", status_code=401)]

    interview_invite(interview_id=interview.pk)

    interview = fresh(interview)
    assert interview.status == InterviewStatus.FAILED
    assert interview.invited_at is None
    assert interview.invite_attempts == 1
    assert interview.failure_reason == (
        "The vendor refused the invitation: AtsAuthError: 401 Unauthorized"
    )
    with later(hours=1):
        assert interviews_invite_sweep() == 0


@pytest.mark.parametrize("scope", [StopScope.GLOBAL, StopScope.PLAN, StopScope.VENDOR])
def test_a_stop_switch_at_send_time_cancels_and_records_a_stopped_skip(vendor_calls, scope):
    interview = InterviewFactory()
    targets = {
        StopScope.GLOBAL: {"plan": None},
        StopScope.PLAN: {"plan": interview.plan},
        StopScope.VENDOR: {"plan": None, "vendor": interview.vendor},
    }
    StopSwitchFactory(scope=scope, reason="Scoring bug", **targets[scope])

    interview_invite(interview_id=interview.pk)

    interview = fresh(interview)
    assert vendor_calls.invites == []
    assert interview.status == InterviewStatus.CANCELLED
    assert interview.invited_at is None
    assert interview.failure_reason.startswith("Not sent: Stop switch for")
    assert "Scoring bug" in interview.failure_reason
    skip = LaunchSkip.objects.get()
    assert (skip.application, skip.plan, skip.reason) == (
        interview.application,
        interview.plan,
        LaunchSkipReason.STOPPED,
    )


def test_an_opt_out_after_the_launch_stops_the_invitation(vendor_calls):
    interview = InterviewFactory()
    candidate = interview.application.candidate
    candidate.opted_out = True
    candidate.save()

    interview_invite(interview_id=interview.pk)

    assert vendor_calls.invites == []
    assert fresh(interview).status == InterviewStatus.CANCELLED
    assert LaunchSkip.objects.get().reason == LaunchSkipReason.OPTED_OUT


def test_an_interview_cancelled_while_its_invitation_was_sent_is_withdrawn(vendor_calls):
    interview = InterviewFactory()

    def cancel_meanwhile(sending: Interview) -> None:
        other_copy = Interview.objects.get(pk=sending.pk)
        assert interview_transition(interview=other_copy, to=InterviewStatus.CANCELLED)

    vendor_calls.during_invite = cancel_meanwhile

    interview_invite(interview_id=interview.pk)

    interview = fresh(interview)
    assert interview.status == InterviewStatus.CANCELLED
    assert interview.vendor_reference == ""
    assert vendor_calls.cancels == [f"ref-{interview.pk}"]


def claimed_by_a_worker_that_dies(interview: Interview, *, attempt: int) -> None:
    """What the claim of ``interview_invite`` leaves behind when its worker never reports back."""
    Interview.objects.filter(pk=interview.pk).update(
        invited_at=timezone.now(), invite_attempts=attempt
    )


def test_the_sweeper_resends_a_claim_whose_worker_died(vendor_calls):
    interview = InterviewFactory()
    claimed_by_a_worker_that_dies(interview, attempt=1)

    assert interviews_invite_sweep() == 0  # the worker may still be sending
    with later(seconds=CLAIM_LEASE.total_seconds() + 60):
        assert interviews_invite_sweep() == 1

    interview = fresh(interview)
    assert interview.status == InterviewStatus.INVITED
    assert interview.invite_attempts == 2  # the lost try counts
    assert vendor_calls.invites == [interview.pk]


def test_a_worker_lost_on_the_last_attempt_fails_the_interview(vendor_calls):
    interview = InterviewFactory()
    claimed_by_a_worker_that_dies(interview, attempt=MAX_INVITE_ATTEMPTS)

    with later(seconds=CLAIM_LEASE.total_seconds() + 60):
        assert interviews_invite_sweep() == 0

    interview = fresh(interview)
    assert interview.status == InterviewStatus.FAILED
    assert interview.invited_at is None
    assert interview.failure_reason == (
        f"Gave up after {MAX_INVITE_ATTEMPTS} attempts to send the invitation: The worker "
        "sending the invitation was lost; the vendor may have received it."
    )
    assert vendor_calls.invites == []


def test_cancelling_an_interview_waiting_for_a_retry_drops_the_next_try(vendor_calls):
    interview = InterviewFactory()
    vendor_calls.errors = [AtsTimeout("read timed out")]
    interview_invite(interview_id=interview.pk)

    assert interview_transition(interview=fresh(interview), to=InterviewStatus.CANCELLED)

    interview = fresh(interview)
    assert interview.next_invite_at is None
    with later(hours=1):
        assert interviews_invite_sweep() == 0
    assert vendor_calls.invites == [interview.pk]


def test_the_migration_moves_old_retry_notes_into_the_retry_fields():
    migration = importlib.import_module("interviews.migrations.0002_interview_invite_attempts")
    note = "[attempt {}/8, next try after 2026-03-02T10:02:00+00:00] AtsServerError: 503"
    waiting = InterviewFactory(failure_reason=note.format(2))
    in_flight = InterviewFactory(failure_reason=note.format(3))
    Interview.objects.filter(pk=in_flight.pk).update(invited_at=timezone.now())
    first_try_in_flight = InterviewFactory()
    Interview.objects.filter(pk=first_try_in_flight.pk).update(invited_at=timezone.now())
    ended = InterviewFactory(status=InterviewStatus.FAILED, failure_reason="Gave up after 8 …")

    migration.retry_notes_to_fields(django_apps, None)

    waiting = fresh(waiting)
    assert (waiting.invite_attempts, waiting.failure_reason) == (2, "AtsServerError: 503")
    assert waiting.next_invite_at == dt.datetime(2026, 3, 2, 10, 2, tzinfo=dt.UTC)
    assert fresh(in_flight).invite_attempts == 4  # the try in flight counts
    assert fresh(first_try_in_flight).invite_attempts == 1
    ended = fresh(ended)
    assert (ended.invite_attempts, ended.failure_reason) == (0, "Gave up after 8 …")


def test_the_sweeper_leaves_invited_and_ended_interviews_alone(vendor_calls):
    InterviewFactory(invited=True)
    InterviewFactory(completed=True)
    InterviewFactory(status=InterviewStatus.CANCELLED)

    with later(hours=1):
        assert interviews_invite_sweep() == 0
    assert vendor_calls.invites == []


# -- transitions -------------------------------------------------------------------------------


def test_allowed_transitions_move_and_stamp_the_interview():
    interview = InterviewFactory(invited=True)
    started_at = timezone.now() - dt.timedelta(minutes=20)

    assert interview_transition(interview=interview, to="started", at=started_at)
    assert interview_transition(interview=interview, to=InterviewStatus.COMPLETED)

    interview = fresh(interview)
    assert interview.status == InterviewStatus.COMPLETED
    assert interview.started_at == started_at
    assert interview.completed_at is not None
    assert interview.ended_at == interview.completed_at


@pytest.mark.parametrize(
    ("status", "to"),
    [
        (InterviewStatus.PENDING, InterviewStatus.STARTED),
        (InterviewStatus.PENDING, InterviewStatus.COMPLETED),
        (InterviewStatus.COMPLETED, InterviewStatus.CANCELLED),
        (InterviewStatus.EXPIRED, InterviewStatus.COMPLETED),
        (InterviewStatus.CANCELLED, InterviewStatus.INVITED),
        (InterviewStatus.FAILED, InterviewStatus.PENDING),
        (InterviewStatus.STARTED, InterviewStatus.INVITED),
    ],
)
def test_transitions_the_status_machine_forbids_change_nothing(status, to):
    interview = InterviewFactory(status=status)

    assert interview_transition(interview=interview, to=to) is False

    assert fresh(interview).status == status


def test_a_transition_already_made_by_someone_else_returns_false():
    interview = InterviewFactory(invited=True)
    stale = Interview.objects.get(pk=interview.pk)
    assert interview_transition(interview=interview, to=InterviewStatus.CANCELLED, reason="x")

    assert interview_transition(interview=stale, to=InterviewStatus.CANCELLED) is False
    assert stale.status == InterviewStatus.CANCELLED  # re-read


def test_a_stale_instance_can_still_complete_after_a_concurrent_start():
    interview = InterviewFactory(invited=True)
    stale = Interview.objects.get(pk=interview.pk)
    assert interview_transition(interview=interview, to=InterviewStatus.STARTED)

    assert interview_transition(interview=stale, to=InterviewStatus.COMPLETED)
    assert fresh(interview).status == InterviewStatus.COMPLETED


def test_an_unknown_status_is_a_programming_error():
    interview = InterviewFactory()

    with pytest.raises(ValueError, match="bogus"):
        interview_transition(interview=interview, to="bogus")


def test_a_failed_transition_records_the_reason():
    interview = InterviewFactory(started=True)

    assert interview_transition(
        interview=interview, to=InterviewStatus.FAILED, reason="Vendor reported a crash"
    )

    interview = fresh(interview)
    assert interview.failure_reason == "Vendor reported a crash"
    assert interview.ended_at is not None


# -- expiry ------------------------------------------------------------------------------------


def test_invitations_past_their_deadline_expire_and_are_withdrawn(
    vendor_calls, django_capture_on_commit_callbacks
):
    due = InterviewFactory(invited=True)
    not_yet = InterviewFactory(invited=True)
    deadline = due.expires_at
    Interview.objects.filter(pk=not_yet.pk).update(expires_at=deadline + dt.timedelta(hours=1))

    with later(seconds=(deadline - timezone.now()).total_seconds() + 1):
        with django_capture_on_commit_callbacks(execute=True):
            assert interviews_expire_due() == 1
        assert interviews_expire_due() == 0  # safe to run twice

    due = fresh(due)
    assert due.status == InterviewStatus.EXPIRED
    assert due.ended_at is not None
    assert "expired" in due.failure_reason
    assert fresh(not_yet).status == InterviewStatus.INVITED
    assert vendor_calls.cancels == [due.vendor_reference]


def test_a_started_interview_gets_a_grace_period_to_finish():
    interview = InterviewFactory(started=True)
    deadline = interview.expires_at

    with later(seconds=(deadline - timezone.now()).total_seconds() + 60):
        assert interviews_expire_due() == 0
    assert fresh(interview).status == InterviewStatus.STARTED

    with later(seconds=(deadline - timezone.now() + STARTED_GRACE).total_seconds() + 60):
        assert interviews_expire_due() == 1
    assert fresh(interview).status == InterviewStatus.EXPIRED


def test_pending_and_completed_interviews_never_expire():
    pending = InterviewFactory()
    completed = InterviewFactory(completed=True)

    with later(days=30):
        assert interviews_expire_due() == 0

    assert fresh(pending).status == InterviewStatus.PENDING
    assert fresh(completed).status == InterviewStatus.COMPLETED


# -- reminders ---------------------------------------------------------------------------------


def test_an_invitation_not_started_in_time_queues_one_reminder_note_in_the_ats():
    interview = InterviewFactory(
        invited=True,
        plan__reminder_after_hours=48,
        plan__name="Support screen",
        application__candidate__first_name="Ada",
        application__candidate__last_name="Lovelace",
        application__connection__mode=ConnectionMode.LIVE,
    )
    invited_at = interview.invited_at

    with later(seconds=(invited_at - timezone.now()).total_seconds() + 47 * 3600):
        assert interviews_remind_due() == 0
    with later(seconds=(invited_at - timezone.now()).total_seconds() + 48 * 3600 + 1):
        assert interviews_remind_due() == 1
        assert interviews_remind_due() == 0  # one reminder per interview

    interview = fresh(interview)
    assert interview.reminders_sent == 1
    assert interview.reminded_at is not None
    job = WritebackJob.objects.get()
    assert job.kind == WritebackKind.NOTE
    assert job.application == interview.application
    assert job.status == WritebackStatus.PENDING
    assert job.payload["visibility"] == "private"
    body = job.payload["body"]
    assert "Ada Lovelace has not started the automated interview “Support screen”" in body
    assert "expires on" in body
    assert interview.invite_url not in body  # the candidate's personal link stays private


def test_a_reminder_on_a_sandbox_connection_is_recorded_but_never_sent():
    interview = InterviewFactory(invited=True, application__connection__mode=ConnectionMode.SANDBOX)

    with later(hours=72):
        assert interviews_remind_due() == 1

    assert WritebackJob.objects.get().status == WritebackStatus.SANDBOXED
    assert fresh(interview).reminders_sent == 1


@pytest.mark.parametrize(
    "arrange",
    [
        {"started": True},
        {"completed": True},
        {"invited": True, "reminders_sent": 1},
        {"invited": True, "plan__reminder_after_hours": 0},
    ],
    ids=["started", "completed", "already-reminded", "reminders-off"],
)
def test_no_reminder_for_started_finished_reminded_or_opted_out_plans(arrange):
    InterviewFactory(**arrange)

    with later(hours=72):
        assert interviews_remind_due() == 0
    assert not WritebackJob.objects.exists()


# -- beat task and command ---------------------------------------------------------------------


def test_the_beat_task_expires_and_reminds():
    InterviewFactory(invited=True, plan__expiry_days=1)  # expires in 1 day, reminder after 2
    InterviewFactory(invited=True, plan__expiry_days=10, plan__reminder_after_hours=1)

    with later(days=2):
        assert tasks.expire_and_remind_task() == {"expired": 1, "reminded": 1}


def test_the_expire_interviews_command_reports_what_it_did(capsys):
    InterviewFactory(invited=True)

    with later(days=30):
        call_command("expire_interviews")

    assert "1 invitation(s) expired, 0 reminder(s) queued" in capsys.readouterr().out
