"""Retention purge: policies by category, anchor, role family and jurisdiction; legal holds;
receipts; the dry run; vendor deletion."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import responses
from django.core.management import call_command
from django.utils import timezone

from governance.models import (
    AnchorEvent,
    AuditEvent,
    DataCategory,
    DeletionReceipt,
    RetentionPolicy,
    VendorDeletionStatus,
)
from governance.retention import default_policies_seed, purge_expired
from integrations.models import InboundEvent, RequisitionStatus
from interviews.models import CompetencyScore, InterviewResult
from tests.factories import (
    CompetencyScoreFactory,
    InboundEventFactory,
    InterviewFactory,
    InterviewResultFactory,
    LegalHoldFactory,
    RoleFamilyFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _policy(category: str, days: int, anchor: str, **extra) -> RetentionPolicy:
    return RetentionPolicy.objects.create(
        name=f"{category} {days} {extra}",
        data_category=category,
        retention_days=days,
        anchor=anchor,
        **extra,
    )


def _result(*, closed_days_ago: int | None, location: str = "Austin, TX", **kwargs):
    result = InterviewResultFactory(
        interview__application__requisition__location=location,
        recording_url="https://vendor.example/r/1",
        **kwargs,
    )
    requisition = result.interview.application.requisition
    if closed_days_ago is not None:
        requisition.status = RequisitionStatus.CLOSED
        requisition.save()
        type(requisition).objects.filter(pk=requisition.pk).update(
            closed_at=NOW - dt.timedelta(days=closed_days_ago)
        )
    return result


def test_recordings_go_after_their_period_from_requisition_close_and_receipts_count_them() -> None:
    policy = _policy(DataCategory.RECORDING, 90, AnchorEvent.REQUISITION_CLOSED)
    old = [_result(closed_days_ago=91) for _ in range(3)]
    young = _result(closed_days_ago=89)
    still_open = _result(closed_days_ago=None)

    outcomes = purge_expired(now=NOW, batch_size=2)

    for result in old:
        result.refresh_from_db()
        assert result.recording_url == ""
        assert result.transcript_url  # another category, untouched
    for result in (young, still_open):
        result.refresh_from_db()
        assert result.recording_url
    receipts = DeletionReceipt.objects.filter(policy=policy)
    assert sorted(r.count for r in receipts) == [1, 2]  # batches of 2
    assert sum(o.count for o in outcomes if o.policy == policy) == 3
    assert AuditEvent.objects.filter(action="retention.purge").count() == receipts.count()
    assert all(r.policy_label and r.cutoff for r in receipts)


def test_legal_holds_on_candidate_requisition_or_connection_keep_rows() -> None:
    _policy(DataCategory.RECORDING, 30, AnchorEvent.INTERVIEW_COMPLETED)
    results = [_result(closed_days_ago=None) for _ in range(4)]
    InterviewResult.objects.update(received_at=NOW)
    from interviews.models import Interview

    Interview.objects.update(completed_at=NOW - dt.timedelta(days=40))
    by_candidate, by_requisition, by_connection, free = results
    LegalHoldFactory(candidate=by_candidate.interview.application.candidate)
    LegalHoldFactory(candidate=None, requisition=by_requisition.interview.application.requisition)
    LegalHoldFactory(candidate=None, connection=by_connection.interview.application.connection)
    released = LegalHoldFactory(candidate=free.interview.application.candidate)
    released.released_at, released.released_by = NOW, released.placed_by
    released.save()

    purge_expired(now=NOW)

    for result in (by_candidate, by_requisition, by_connection):
        result.refresh_from_db()
        assert result.recording_url, "held rows are untouched"
    free.refresh_from_db()
    assert free.recording_url == ""
    assert DeletionReceipt.objects.get().count == 1


def test_the_most_specific_policy_wins() -> None:
    family = RoleFamilyFactory()
    _policy(DataCategory.RECORDING, 365, AnchorEvent.REQUISITION_CLOSED)
    _policy(DataCategory.RECORDING, 30, AnchorEvent.REQUISITION_CLOSED, jurisdiction="eu")
    _policy(DataCategory.RECORDING, 1000, AnchorEvent.REQUISITION_CLOSED, role_family=family)
    eu = _result(closed_days_ago=60, location="Berlin, Germany")
    us = _result(closed_days_ago=60)
    family_member = _result(closed_days_ago=400, interview__plan__role_family=family)

    purge_expired(now=NOW)

    eu.refresh_from_db()
    us.refresh_from_db()
    family_member.refresh_from_db()
    assert eu.recording_url == ""  # EU: 30 days
    assert us.recording_url  # global: 365 days
    assert family_member.recording_url  # family: 1000 days beats the global 365


def test_the_dry_run_counts_by_policy_and_changes_nothing() -> None:
    _policy(DataCategory.RECORDING, 90, AnchorEvent.REQUISITION_CLOSED)
    _policy(DataCategory.INBOUND_EVENT, 30, AnchorEvent.RECEIVED)
    _result(closed_days_ago=100)
    event = InboundEventFactory(status="processed")
    InboundEvent.objects.filter(pk=event.pk).update(received_at=NOW - dt.timedelta(days=31))
    out = io.StringIO()

    call_command("purge_expired", "--dry-run", stdout=out)

    text = out.getvalue()
    assert "would purge 1" in text
    assert "Dry run: would purge 2 rows" in text
    assert InterviewResult.objects.filter(recording_url="").count() == 0
    assert not InboundEvent.objects.filter(raw_body="").exists()
    assert not DeletionReceipt.objects.exists()

    call_command("purge_expired", stdout=io.StringIO())
    assert InboundEvent.objects.filter(raw_body="").count() == 1


def test_unprocessed_webhook_bodies_are_kept() -> None:
    _policy(DataCategory.INBOUND_EVENT, 30, AnchorEvent.RECEIVED)
    event = InboundEventFactory(status="received")
    InboundEvent.objects.filter(pk=event.pk).update(received_at=NOW - dt.timedelta(days=60))
    purge_expired(now=NOW)
    event.refresh_from_db()
    assert event.raw_body


def test_scores_are_deleted_and_decisions_floors_apply() -> None:
    _policy(DataCategory.SCORES, 10, AnchorEvent.RECEIVED)
    score = CompetencyScoreFactory()
    InterviewResult.objects.update(received_at=NOW - dt.timedelta(days=11))
    purge_expired(now=NOW)
    assert not CompetencyScore.objects.filter(pk=score.pk).exists()
    assert InterviewResult.objects.filter(pk=score.result_id).exists()


@responses.activate
def test_vendor_copies_are_deleted_and_the_confirmation_recorded() -> None:
    vendor = VendorFactory(base_url="https://vendor.example/api")
    vendor.set_api_key("whsec_" + "dGVzdHNlY3JldHRlc3RzZWNyZXQ=")
    vendor.save()
    _policy(DataCategory.RECORDING, 90, AnchorEvent.REQUISITION_CLOSED)
    result = _result(closed_days_ago=100, interview__plan__vendor=vendor)
    calls = responses.post("https://vendor.example/api/deletions", json={"deleted": 1})

    purge_expired(now=NOW)

    assert calls.call_count == 1
    import json

    body = json.loads(calls.calls[0].request.body)
    assert body["artifacts"] == ["recording"]
    assert body["interviews"] == [
        {"id": result.interview.vendor_reference, "external_id": str(result.interview.public_id)}
    ]
    receipt = DeletionReceipt.objects.get()
    assert receipt.vendor_status == VendorDeletionStatus.CONFIRMED
    assert receipt.vendor_confirmed_at is not None


@responses.activate
def test_a_failed_vendor_deletion_is_retried_by_the_next_run() -> None:
    vendor = VendorFactory(base_url="https://vendor.example/api")
    vendor.set_api_key("whsec_" + "dGVzdHNlY3JldHRlc3RzZWNyZXQ=")
    vendor.save()
    _policy(DataCategory.TRANSCRIPT, 90, AnchorEvent.REQUISITION_CLOSED)
    _result(closed_days_ago=100, interview__plan__vendor=vendor)
    responses.post("https://vendor.example/api/deletions", status=503)
    purge_expired(now=NOW)
    receipt = DeletionReceipt.objects.get()
    assert receipt.vendor_status == VendorDeletionStatus.FAILED
    assert "503" in receipt.vendor_error

    responses.replace(responses.POST, "https://vendor.example/api/deletions", json={"deleted": 1})
    purge_expired(now=NOW)
    receipt.refresh_from_db()
    assert receipt.vendor_status == VendorDeletionStatus.CONFIRMED
    assert DeletionReceipt.objects.count() == 1  # nothing new to purge


def test_default_policies_are_seeded_once_and_audit_is_never_purged() -> None:
    created = default_policies_seed()
    assert {p.data_category for p in created} >= {
        DataCategory.RECORDING,
        DataCategory.INBOUND_EVENT,
        DataCategory.AUDIT,
    }
    assert default_policies_seed() == []
    recording = RetentionPolicy.objects.get(data_category=DataCategory.RECORDING)
    assert (recording.retention_days, recording.anchor) == (90, AnchorEvent.REQUISITION_CLOSED)
    before = AuditEvent.objects.count()
    outcomes = purge_expired(now=NOW + dt.timedelta(days=5000))
    audit_outcome = next(o for o in outcomes if o.policy.data_category == DataCategory.AUDIT)
    assert audit_outcome.count == 0
    assert AuditEvent.objects.count() >= before


def test_an_interview_without_a_result_is_not_a_problem() -> None:
    _policy(DataCategory.RECORDING, 1, AnchorEvent.INTERVIEW_COMPLETED)
    InterviewFactory(completed=True)
    assert sum(o.count for o in purge_expired(now=NOW)) == 0


def test_a_requisition_records_when_it_closed_and_forgets_it_when_reopened() -> None:
    from tests.factories import RequisitionFactory

    requisition = RequisitionFactory()
    assert requisition.closed_at is None
    requisition.status = RequisitionStatus.CLOSED
    requisition.save(update_fields=["status", "updated_at"])
    requisition.refresh_from_db()
    assert requisition.closed_at is not None
    requisition.status = RequisitionStatus.OPEN
    requisition.save(update_fields=["status", "updated_at"])
    requisition.refresh_from_db()
    assert requisition.closed_at is None
