"""Consent and notice gating per jurisdiction, tested at its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from governance.compliance import (
    business_days_after,
    jurisdictions_for_location,
    launch_gate,
)
from governance.models import AuditEvent, ConsentDecision
from integrations.models import CanonicalStage
from interviews.models import Interview, LaunchSkip, LaunchSkipReason
from interviews.services.launch import application_stage_changed_handle
from tests.factories import (
    ApplicationFactory,
    BiasAuditFactory,
    ConsentRecordFactory,
    InterviewPlanFactory,
    NoticeRecordFactory,
    RoleFamilyMembershipFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db

# A Friday at noon in the project's time zone.
FRIDAY = dt.datetime(2026, 11, 6, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("Chicago, IL", {"il"}),
        ("Springfield, Illinois", {"il"}),
        ("New York, NY", {"nyc"}),
        ("Brooklyn, New York", {"nyc"}),
        ("Albany, NY", set()),
        ("Berlin, Germany", {"eu"}),
        ("Denver, CO", {"co"}),
        ("Remote", set()),
        ("", set()),
    ],
)
def test_jurisdictions_come_from_the_location(location: str, expected: set[str]) -> None:
    assert jurisdictions_for_location(location) == expected


@override_settings(SCREENBRIDGE_JURISDICTION_RULES=[["eu", r"\bremote-eu\b"]])
def test_the_location_rules_are_configurable() -> None:
    assert jurisdictions_for_location("Remote-EU") == {"eu"}
    assert jurisdictions_for_location("Chicago, IL") == set()


def test_business_days_skip_weekends_and_listed_holidays() -> None:
    friday = dt.date(2026, 11, 6)
    assert business_days_after(friday, dt.date(2026, 11, 19)) == 9  # Thursday, two weeks on
    assert business_days_after(friday, dt.date(2026, 11, 20)) == 10  # the Friday two weeks on
    with override_settings(SCREENBRIDGE_BUSINESS_HOLIDAYS=["2026-11-11"]):
        assert business_days_after(friday, dt.date(2026, 11, 20)) == 9


def _application(location: str) -> tuple:
    vendor = VendorFactory(model_version="v2")
    plan = InterviewPlanFactory(vendor=vendor)
    application = ApplicationFactory(
        requisition__location=location, canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW
    )
    RoleFamilyMembershipFactory(requisition=application.requisition, role_family=plan.role_family)
    return application, plan


def test_a_position_outside_the_profiles_launches_without_records() -> None:
    application, plan = _application("Austin, TX")
    assert launch_gate(application=application, plan=plan) is None


def test_illinois_needs_consent_recorded_before_the_launch() -> None:
    application, plan = _application("Chicago, IL")
    refusal = launch_gate(application=application, plan=plan, now=FRIDAY)
    assert refusal is not None
    assert refusal.reason == LaunchSkipReason.IL_CONSENT_MISSING

    # Recorded after "now": not yet given at launch time.
    consent = ConsentRecordFactory(
        candidate=application.candidate, recorded_at=FRIDAY + dt.timedelta(minutes=1)
    )
    assert launch_gate(application=application, plan=plan, now=FRIDAY) is not None
    consent.recorded_at = FRIDAY
    consent.save()
    assert launch_gate(application=application, plan=plan, now=FRIDAY) is None
    consent.withdrawn_at = FRIDAY
    consent.save()
    assert launch_gate(application=application, plan=plan, now=FRIDAY) is not None


def _nyc_ready(application, plan, *, notice_sent: dt.datetime, audit_age_days: int) -> None:
    NoticeRecordFactory(candidate=application.candidate, sent_at=notice_sent)
    BiasAuditFactory(
        vendor=plan.vendor,
        tool_version=plan.vendor.model_version,
        audit_date=timezone.localdate(FRIDAY) - dt.timedelta(days=audit_age_days),
    )


@pytest.mark.parametrize(("days_before", "allowed"), [(11, False), (14, True)])
def test_nyc_needs_ten_business_days_of_notice(days_before: int, allowed: bool) -> None:
    # Sent on the Monday 11 days before (9 business days) vs the Friday 14 days before (10).
    application, plan = _application("New York, NY")
    _nyc_ready(
        application, plan, notice_sent=FRIDAY - dt.timedelta(days=days_before), audit_age_days=1
    )
    refusal = launch_gate(application=application, plan=plan, now=FRIDAY)
    if allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.reason == LaunchSkipReason.NYC_NOTICE_MISSING
        assert "9 business days" in refusal.detail


@pytest.mark.parametrize(("age", "allowed"), [(365, True), (366, False)])
def test_nyc_needs_a_bias_audit_no_older_than_365_days(age: int, allowed: bool) -> None:
    application, plan = _application("New York, NY")
    _nyc_ready(application, plan, notice_sent=FRIDAY - dt.timedelta(days=30), audit_age_days=age)
    refusal = launch_gate(application=application, plan=plan, now=FRIDAY)
    if allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.reason == LaunchSkipReason.NYC_BIAS_AUDIT


def test_a_bias_audit_of_another_tool_version_does_not_count() -> None:
    application, plan = _application("New York, NY")
    NoticeRecordFactory(candidate=application.candidate, sent_at=FRIDAY - dt.timedelta(days=30))
    BiasAuditFactory(vendor=plan.vendor, tool_version="v1", audit_date=timezone.localdate(FRIDAY))
    refusal = launch_gate(application=application, plan=plan, now=FRIDAY)
    assert refusal is not None
    assert refusal.reason == LaunchSkipReason.NYC_BIAS_AUDIT


def test_an_opt_out_puts_the_candidate_on_the_human_only_path_and_is_never_launched() -> None:
    application, plan = _application("Austin, TX")
    ConsentRecordFactory(
        candidate=application.candidate, jurisdiction="", decision=ConsentDecision.OPTED_OUT
    )

    launched = application_stage_changed_handle(
        application=application, old=CanonicalStage.APPLICATION_REVIEW, new=plan.trigger_stage
    )

    assert launched == []
    assert not Interview.objects.filter(application=application).exists()
    skip = LaunchSkip.objects.get(application=application, plan=plan)
    assert skip.reason == LaunchSkipReason.HUMAN_ONLY
    assert "human-only" in skip.detail


def test_a_refused_launch_records_why_as_a_skip_and_an_audit_event() -> None:
    application, plan = _application("Chicago, IL")

    application_stage_changed_handle(
        application=application, old=CanonicalStage.APPLICATION_REVIEW, new=plan.trigger_stage
    )

    assert not Interview.objects.filter(application=application).exists()
    skip = LaunchSkip.objects.get(application=application, plan=plan)
    assert skip.reason == LaunchSkipReason.IL_CONSENT_MISSING
    event = AuditEvent.objects.get(action="launch.refused")
    assert event.changes["reason"] == "il_consent_missing"
    assert application.candidate.last_name not in event.object_repr

    ConsentRecordFactory(candidate=application.candidate)
    application.refresh_from_db()
    launched = application_stage_changed_handle(
        application=application, old=CanonicalStage.APPLICATION_REVIEW, new=plan.trigger_stage
    )
    assert [interview.application_id for interview in launched] == [application.pk]
