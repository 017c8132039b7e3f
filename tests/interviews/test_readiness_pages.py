"""The readiness page with the go-live form, the rehearsal run page, and the plan admin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import AuditEvent
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN, RECRUITER
from interviews.models import InterviewPlan, PlanStatus
from interviews.readiness import CHECKS
from tests.factories import RehearsalCandidateFactory, UserFactory
from tests.interviews.conftest import Ready

pytestmark = pytest.mark.django_db

REASON = "Pilot numbers reviewed with legal; stage rename lands next week."


def client_for(group: str | None) -> Client:
    client = Client()
    if group is not None:
        client.force_login(UserFactory(groups=[group], is_staff=group == HIRING_OPS_ADMIN))
    return client


def readiness_url(plan: InterviewPlan) -> str:
    return reverse("interviews:plan-readiness", args=[plan.pk])


def go_live_url(plan: InterviewPlan) -> str:
    return reverse("interviews:plan-go-live", args=[plan.pk])


# -- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [RECRUITER, HIRING_MANAGER, AUDITOR])
def test_people_other_than_admins_get_403_on_every_page(ready: Ready, group: str) -> None:
    client = client_for(group)

    assert client.get(readiness_url(ready.plan)).status_code == 403
    run_url = reverse("interviews:rehearsal-run", args=[ready.run.pk])
    assert client.get(run_url).status_code == 403
    response = client.post(go_live_url(ready.plan), {"override_reason": REASON})
    assert response.status_code == 403
    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.PILOT


def test_anonymous_users_go_to_the_login_page(ready: Ready) -> None:
    for response in (
        Client().get(readiness_url(ready.plan)),
        Client().post(go_live_url(ready.plan)),
        Client().get(reverse("interviews:rehearsal-run", args=[ready.run.pk])),
    ):
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_an_unknown_plan_or_run_is_404(ready: Ready) -> None:
    client = client_for(HIRING_OPS_ADMIN)

    assert client.get(reverse("interviews:plan-readiness", args=[999999])).status_code == 404
    assert client.get(reverse("interviews:rehearsal-run", args=[999999])).status_code == 404


# -- the readiness page ------------------------------------------------------------------------


def test_the_checklist_says_passed_and_failed_in_words(ready: Ready) -> None:
    ready.live.stage_mappings.all().delete()

    response = client_for(HIRING_OPS_ADMIN).get(readiness_url(ready.plan))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Failed:</strong> Every stage on the trigger path is mapped" in body
    assert "Passed:</strong> Retention policies cover every artifact kind" in body
    assert f"Not ready: 1 of {len(CHECKS)} failing" in body
    assert "Go live despite failing checks" in body
    assert reverse("interviews:rehearsal-run", args=[ready.run.pk]) in body


def test_check_again_returns_only_the_checklist_region(ready: Ready) -> None:
    response = client_for(HIRING_OPS_ADMIN).get(readiness_url(ready.plan), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="readiness-checklist"')
    assert "<html" not in body
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_going_live_from_the_page_without_javascript(ready: Ready) -> None:
    response = client_for(HIRING_OPS_ADMIN).post(go_live_url(ready.plan))

    assert response.status_code == 302
    assert response["Location"] == readiness_url(ready.plan)
    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.LIVE
    assert AuditEvent.objects.filter(action="plan.go_live").count() == 1


def test_a_refusal_rerenders_the_form_naming_the_failing_item(ready: Ready) -> None:
    ready.live.stage_mappings.all().delete()

    response = client_for(HIRING_OPS_ADMIN).post(go_live_url(ready.plan), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="go-live-form"')
    assert "Every stage on the trigger path is mapped" in body
    assert 'role="alert"' in body
    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.PILOT


def test_an_override_from_the_page_is_audited_and_redirects_htmx(ready: Ready) -> None:
    ready.live.stage_mappings.all().delete()

    response = client_for(HIRING_OPS_ADMIN).post(
        go_live_url(ready.plan), {"override_reason": REASON}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == readiness_url(ready.plan)
    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.LIVE
    event = AuditEvent.objects.get(action="plan.go_live_override")
    assert event.changes["override_reason"] == REASON


# -- the rehearsal run page --------------------------------------------------------------------


def test_the_run_page_shows_each_candidate_and_narrows_to_rejected(ready: Ready) -> None:
    RehearsalCandidateFactory(
        run=ready.run,
        name="Rejected Person",
        rejected=True,
        review_reason="borderline",
        review_detail="within 3 points of the 65 cut",
        writebacks=[
            {"kind": "custom_fields", "target": "result", "payload": {"ai_band": "Proceed"}}
        ],
        mappings=[
            {
                "mapping": "Competency subscore → custom_fields:ai_typing",
                "signature": [],
                "written": False,
                "problem": "no value: competency “typing” has no subscore",
            }
        ],
    )
    client = client_for(HIRING_OPS_ADMIN)
    url = reverse("interviews:rehearsal-run", args=[ready.run.pk])

    page = client.get(url).content.decode()
    narrowed = client.get(f"{url}?show=rejected", HTTP_HX_REQUEST="true").content.decode()

    assert ready.row.name in page
    assert "Rejected Person" in page
    assert "72 ≥ 65 (proceed); strong needs 80" in page
    assert "within 3 points of the 65 cut" in page
    assert "Rejected:</strong> Competency subscore" in page
    assert "ai_band" in page
    assert narrowed.lstrip().startswith('<section id="rehearsal-table"')
    assert "Rejected Person" in narrowed
    assert ready.row.name not in narrowed


# -- the plan admin ----------------------------------------------------------------------------


def plan_form(plan: InterviewPlan, **changes: Any) -> dict[str, Any]:
    data = {
        "role_family": plan.role_family_id,
        "name": plan.name,
        "trigger_stage": plan.trigger_stage,
        "status": plan.status,
        "vendor": plan.vendor_id,
        "vendor_test_id": plan.vendor_test_id,
        "launch_mode": plan.launch_mode,
        "band_thresholds": json.dumps(plan.band_thresholds),
        "borderline_margin": str(plan.borderline_margin),
        "pilot_review_share": str(plan.pilot_review_share),
        "expiry_days": plan.expiry_days,
        "reminder_after_hours": plan.reminder_after_hours,
        "required_consents": json.dumps(plan.required_consents),
        "competencies-TOTAL_FORMS": "0",
        "competencies-INITIAL_FORMS": "0",
        "competencies-MIN_NUM_FORMS": "0",
        "competencies-MAX_NUM_FORMS": "1000",
    }
    return data | changes


def test_the_admin_cannot_set_a_plan_live_and_links_to_the_readiness_page(ready: Ready) -> None:
    client = client_for(HIRING_OPS_ADMIN)
    url = reverse("admin:interviews_interviewplan_change", args=[ready.plan.pk])

    page = client.get(url)
    response = client.post(url, plan_form(ready.plan, status=PlanStatus.LIVE))

    assert readiness_url(ready.plan) in page.content.decode()
    assert response.status_code == 200
    assert "go-live readiness page" in response.context["adminform"].form.errors["status"][0]
    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.PILOT


def test_the_admin_still_pauses_a_plan_and_keeps_a_live_one_live(ready: Ready) -> None:
    client = client_for(HIRING_OPS_ADMIN)
    url = reverse("admin:interviews_interviewplan_change", args=[ready.plan.pk])
    InterviewPlan.objects.filter(pk=ready.plan.pk).update(status=PlanStatus.LIVE)
    ready.plan.refresh_from_db()

    kept = client.post(url, plan_form(ready.plan, name="Renamed"))
    ready.plan.refresh_from_db()
    assert (ready.plan.name, ready.plan.status) == ("Renamed", PlanStatus.LIVE)
    paused = client.post(url, plan_form(ready.plan, status=PlanStatus.PAUSED))

    assert kept.status_code == 302
    assert paused.status_code == 302
    ready.plan.refresh_from_db()
    assert (ready.plan.name, ready.plan.status) == ("Renamed", PlanStatus.PAUSED)
