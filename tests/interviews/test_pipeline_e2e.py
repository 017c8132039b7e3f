"""The whole pipeline through a real Celery worker on PostgreSQL and Redis.

Signed Greenhouse stage-change webhook → the worker syncs the application and launches the
plan's interview → the loopback vendor receives a signed invitation → the vendor posts a signed
borderline result → the worker stores it, computes the band and opens a review task → the
mapped custom fields reach the loopback Greenhouse. Replaying the webhook and the result (as
the ATS and the vendor would) changes nothing further.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from integrations.models import (
    Application,
    CanonicalStage,
    InboundEvent,
    StageMapping,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)
from integrations.services.stage_sync import inbound_event_replay
from interviews.models import (
    Interview,
    InterviewResult,
    InterviewStatus,
    PlanStatus,
    ResultField,
    ReviewReason,
    ReviewTask,
    VendorEvent,
    WritebackFieldMapping,
)
from tests.ats_server import AtsServer, Reply, loopback_connection
from tests.factories import (
    CompetencyFactory,
    InterviewPlanFactory,
    RoleFamilyFactory,
    VendorFactory,
)
from tests.factories.interviews import DEFAULT_VENDOR_SECRET
from tests.integrations.test_signatures import fixture_body, greenhouse_headers
from tests.processes import CeleryWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

VENDOR_SIGNING_KEY = "whsec_c2NyZWVuYnJpZGdlLXRvLXZlbmRvci1rZXktMDE="


@pytest.fixture
def vendor_server() -> Iterator[AtsServer]:
    """A second loopback server, standing in for the interview vendor."""
    server = AtsServer().start()
    try:
        yield server
    finally:
        server.stop()


def _vendor_result_delivery(interview: Interview, *, score: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "interview.completed",
            "occurred_at": "2026-11-28T10:00:00Z",
            "interview": {
                "id": interview.vendor_reference,
                "external_id": str(interview.public_id),
            },
            "result": {
                "score": score,
                "scale_max": 100,
                "competencies": [{"key": "empathy", "score": 70}, {"key": "clarity", "score": 62}],
                "summary": [
                    "Restated the customer's billing problem before proposing a refund path.",
                    "Explained the escalation policy in plain words when asked about delays.",
                ],
                "confidence": 0.9,
                "transcript": {"url": "https://vendor.example/t/1", "word_count": 1500},
                "report_url": "https://vendor.example/reports/1",
            },
        }
    ).encode()
    message_id = f"msg-{interview.public_id}-completed"
    sent_at = time.time()

    signer = Webhook(DEFAULT_VENDOR_SECRET)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at)),
        "webhook-signature": signer.sign(
            message_id, dt.datetime.fromtimestamp(sent_at, tz=dt.UTC), body.decode()
        ),
    }
    return body, headers


def _counts(connection: Any) -> dict[str, int]:
    return {
        "applications": Application.objects.filter(connection=connection).count(),
        "interviews": Interview.objects.filter(application__connection=connection).count(),
        "results": InterviewResult.objects.filter(
            interview__application__connection=connection
        ).count(),
        "review_tasks": ReviewTask.objects.filter(
            interview__application__connection=connection
        ).count(),
        "writebacks": WritebackJob.objects.filter(connection=connection).count(),
    }


def test_stage_change_to_invitation_to_result_to_review_to_writeback_exactly_once(
    client: Any,
    celery_worker: CeleryWorker,
    ats_server: AtsServer,
    vendor_server: AtsServer,
) -> None:
    # --- configuration an admin would do --------------------------------------------------
    connection = loopback_connection(
        ats_server, "greenhouse", slug="gh-e2e", settings={"harvest_version": "v1"}
    )
    StageMapping.objects.create(
        connection=connection,
        remote_stage_name="AI Interview",
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )
    family = RoleFamilyFactory(slug="support", department_rule="Customer Experience")
    vendor = VendorFactory(slug="acme-interviews", base_url=vendor_server.url)
    vendor.set_api_key(VENDOR_SIGNING_KEY)
    vendor.save()
    plan = InterviewPlanFactory(role_family=family, vendor=vendor, status=PlanStatus.LIVE)
    CompetencyFactory(plan=plan, key="empathy", name="Empathy")
    CompetencyFactory(plan=plan, key="clarity", name="Clarity")
    for source, key in [(ResultField.BAND, "ai_band"), (ResultField.OVERALL_SCORE, "ai_score")]:
        WritebackFieldMapping.objects.create(
            connection=connection,
            source=source,
            target_kind=WritebackKind.CUSTOM_FIELDS,
            target_key=key,
        )
    vendor_server.on(
        "POST",
        "/interviews",
        Reply(201, json={"id": "V-1001", "invite_url": "https://vendor.example/i/V-1001"}),
    )

    # --- the ATS moves the candidate into the AI interview stage -------------------------
    body = fixture_body("greenhouse", "candidate_stage_change")
    headers = greenhouse_headers(body, event_id="gh-e2e-1")
    url = reverse("integrations:ats-webhook", args=[connection.slug])
    assert (
        client.post(url, data=body, content_type="application/json", headers=headers).status_code
        == 200
    )

    wait_for(
        lambda: Interview.objects.filter(status=InterviewStatus.INVITED).exists(),
        timeout=60,
        what="the worker to sync the application and invite the candidate",
    )
    interview = Interview.objects.get()
    assert interview.vendor_reference == "V-1001"
    [invitation] = vendor_server.requests("POST", "/interviews")
    assert invitation.json["interview_id"] == str(interview.public_id)
    assert invitation.json["test_id"] == plan.vendor_test_id
    Webhook(VENDOR_SIGNING_KEY).verify(invitation.raw_body.decode(), invitation.headers)

    # --- the vendor reports a borderline result (66: within 3 points of the 65 cut) ------
    result_body, result_headers = _vendor_result_delivery(interview, score=66)
    vendor_url = reverse("interviews:vendor-webhook", args=[vendor.slug])
    response = client.post(
        vendor_url, data=result_body, content_type="application/json", headers=result_headers
    )
    assert response.status_code == 200, response.content

    wait_for(
        lambda: len(ats_server.requests("PATCH", "/v1/applications/{id}")) == 1,
        timeout=60,
        what="the mapped fields to reach the ATS",
    )
    result = InterviewResult.objects.get()
    assert result.score == Decimal("66.00")
    assert result.band == "proceed"
    assert "borderline" in result.flags
    task = ReviewTask.objects.get()
    assert task.reason == ReviewReason.BORDERLINE
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    [patch] = ats_server.requests("PATCH", "/v1/applications/{id}")
    assert patch.path == "/v1/applications/265277"
    fields = {item["name_key"]: item["value"] for item in patch.json["custom_fields"]}
    assert fields["ai_band"] in ("proceed", "Proceed")
    assert float(fields["ai_score"]) == 66.0
    wait_for(
        lambda: WritebackJob.objects.filter(status=WritebackStatus.SUCCEEDED).count() >= 1,
        what="the writeback to be recorded as sent",
    )
    before = _counts(connection)

    # --- replays: the ATS and the vendor deliver again; an admin replays the event --------
    assert (
        client.post(url, data=body, content_type="application/json", headers=headers).json()[
            "status"
        ]
        == "duplicate"
    )
    assert (
        client.post(
            vendor_url, data=result_body, content_type="application/json", headers=result_headers
        ).json()["status"]
        == "duplicate"
    )
    inbound_event_replay(
        event_ids=list(InboundEvent.objects.values_list("pk", flat=True)), status=None
    )
    time.sleep(3)  # give the worker time to do anything it (wrongly) would

    assert _counts(connection) == before
    assert VendorEvent.objects.count() == 1
    assert len(vendor_server.requests("POST", "/interviews")) == 1
    assert len(ats_server.requests("PATCH", "/v1/applications/{id}")) == 1
