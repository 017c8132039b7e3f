"""The Django admin: configuration pages, write-only secrets and the read-only record views."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import (
    ApiToken,
    AuditEvent,
    BiasAudit,
    CalibrationItem,
    CalibrationRating,
    CalibrationSession,
    CandidateDemographics,
    ConsentRecord,
    DataRequest,
    Decision,
    DeletionReceipt,
    LegalHold,
    NoticeRecord,
    RequisitionAccess,
    RetentionPolicy,
    StopSwitch,
)
from governance.roles import AUDITOR, HIRING_OPS_ADMIN, sync_role_groups
from integrations.admin_secrets import SecretInput, SecretsAdminMixin, secrets_form
from integrations.models import (
    Application,
    ApplicationStageChange,
    AtsConnection,
    Candidate,
    InboundEvent,
    Requisition,
    SignatureFailure,
    StageMapping,
    UnmappedStage,
    WritebackAttempt,
    WritebackJob,
)
from interviews.models import (
    Competency,
    CompetencyScore,
    Interview,
    InterviewPlan,
    InterviewResult,
    LaunchSkip,
    RehearsalCandidate,
    RehearsalRun,
    ReviewTask,
    RoleFamily,
    RoleFamilyMembership,
    Vendor,
    VendorEvent,
    WritebackFieldMapping,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value-xyz"
API_KEY = "api-k3y-value-abc"


# -- helpers -----------------------------------------------------------------------------------


def admin_url(model: type[Any], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def make_staff(django_user_model: Any, username: str, group: str | None = None) -> Any:
    user = django_user_model.objects.create_user(
        username, f"{username}@example.com", "pw", is_staff=True
    )
    if group:
        # The data migration creates the groups; a transactional test elsewhere may have
        # flushed them, so make sure they exist (idempotent).
        sync_role_groups()
        user.groups.add(Group.objects.get(name=group))
    return user


def make_pipeline(connection: AtsConnection, index: int, user: Any) -> dict[str, Any]:
    """One of every record, from the synced mirror to the audit trail."""
    candidate = Candidate.objects.create(
        connection=connection, remote_id=f"c-{index}", first_name="Ada", last_name=f"L{index}"
    )
    requisition = Requisition.objects.create(
        connection=connection, remote_id=f"r-{index}", title=f"Support agent {index}"
    )
    application = Application.objects.create(
        connection=connection,
        remote_id=f"a-{index}",
        candidate=candidate,
        requisition=requisition,
        remote_stage_name="Mystery stage",
    )
    ApplicationStageChange.objects.create(
        application=application, to_stage="automated_interview", changed_at=timezone.now()
    )
    family = RoleFamily.objects.create(slug=f"support-{index}", name=f"Support {index}")
    RoleFamilyMembership.objects.create(requisition=requisition, role_family=family)
    vendor = demo_vendor()
    plan = InterviewPlan.objects.create(
        role_family=family, name=f"Plan {index}", vendor=vendor, vendor_test_id="t-1"
    )
    competency = Competency.objects.create(plan=plan, key="empathy", name="Empathy")
    interview = Interview.objects.create(
        application=application, plan=plan, vendor=vendor, vendor_reference=f"v-{index}"
    )
    result = InterviewResult.objects.create(
        interview=interview,
        score=Decimal("71.5"),
        band="proceed",
        transcript_url=f"https://vendor.example/transcripts/t-{index}",
        recording_url=f"https://vendor.example/recordings/r-{index}",
    )
    CompetencyScore.objects.create(result=result, competency=competency, score=Decimal(70))
    ReviewTask.objects.create(interview=interview, result=result, reason="pilot_sample")
    StageMapping.objects.create(
        connection=connection,
        remote_stage_name=f"Phone screen {index}",
        canonical_stage="recruiter_screen",
    )
    InboundEvent.objects.create(connection=connection, delivery_id=f"d-{index}", raw_body="{}")
    SignatureFailure.objects.create(connection=connection, reason="signature does not match")
    UnmappedStage.objects.create(
        connection=connection, remote_stage_name=f"Take Home {index}", seen_count=1
    )
    VendorEvent.objects.create(vendor=vendor, delivery_id=f"d-{index}", raw_body="{}")
    LaunchSkip.objects.create(application=application, plan=plan, reason="plan_paused")
    run = RehearsalRun.objects.create(
        plan=plan, connection=connection, vendor=vendor, candidates_requested=1
    )
    RehearsalCandidate.objects.create(
        run=run, position=1, application=application, interview=interview, name="Ada L"
    )
    StopSwitch.objects.create(scope="plan", plan=plan, reason="Vendor outage", switched_on_by=user)
    WritebackFieldMapping.objects.create(
        connection=connection, source="band", target_kind="note", target_key=f"Band {index}"
    )
    job = WritebackJob.objects.create(
        connection=connection, application=application, kind="note", target=f"result-{index}"
    )
    WritebackAttempt.objects.create(
        job=job, attempt_number=1, status_code=500, error="server error"
    )
    decision = Decision.objects.create(
        result=result,
        application=application,
        decided_by=user,
        outcome="advance",
        recommended_outcome="advance",
    )
    audit_event = AuditEvent.objects.create(
        occurred_at=timezone.now(),
        actor=user,
        actor_label=user.username,
        action="result.viewed",
        object_type="interviewresult",
        object_id=str(result.pk),
        prev_hash="0" * 64,
        hash=f"{index:064x}",
    )
    RetentionPolicy.objects.create(
        name=f"Transcripts {index}",
        data_category="transcript",
        role_family=family,
        retention_days=90,
    )
    LegalHold.objects.create(reason="Litigation", candidate=candidate, placed_by=user)
    request = DataRequest.objects.create(
        candidate=candidate,
        source="admin",
        basis="other",
        received_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=30),
    )
    DeletionReceipt.objects.create(
        source="data_request", data_category="candidate_pii", data_request=request, count=3
    )
    ConsentRecord.objects.create(candidate=candidate, jurisdiction="il", decision="given")
    NoticeRecord.objects.create(
        candidate=candidate, jurisdiction="nyc", channel="email", sent_at=timezone.now()
    )
    BiasAudit.objects.create(
        vendor=vendor, tool_version="v1", audit_date=timezone.localdate(), auditor="Audit LLC"
    )
    RequisitionAccess.objects.create(user=user, requisition=requisition, role="recruiter")
    session = CalibrationSession.objects.create(name=f"Round {index}", plan=plan, created_by=user)
    item = CalibrationItem.objects.create(session=session, result=result, position=1)
    CalibrationRating.objects.create(item=item, competency=competency, reviewer=user, score=3)
    CandidateDemographics.objects.create(candidate=candidate, sex="female", source="csv_import")
    ApiToken.objects.get_or_create(
        user=user, defaults={"key_hash": f"{user.pk:064x}", "key_prefix": "testkey0"}
    )
    return {
        "candidate": candidate,
        "requisition": requisition,
        "application": application,
        "plan": plan,
        "result": result,
        "job": job,
        "decision": decision,
        "audit_event": audit_event,
    }


def connection_form_data(connection: AtsConnection, **overrides: str) -> dict[str, str]:
    """POST data of the connection change page, with no stage mapping rows."""
    data = {
        "name": connection.name,
        "provider": connection.provider,
        "mode": connection.mode,
        "base_url": connection.base_url,
        "webhook_secret_env": connection.webhook_secret_env,
        "new_webhook_secret": "",
        "api_key_env": connection.api_key_env,
        "new_api_key": "",
        "api_client_id": connection.api_client_id,
        "on_behalf_of": connection.on_behalf_of,
        "settings": json.dumps(connection.settings),
        "stage_mappings-TOTAL_FORMS": "0",
        "stage_mappings-INITIAL_FORMS": "0",
        "stage_mappings-MIN_NUM_FORMS": "0",
        "stage_mappings-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    if connection.active:
        data["active"] = "on"
    data.update(overrides)
    return data


def demo_vendor() -> Vendor:
    vendor, _ = Vendor.objects.get_or_create(
        slug="generic-http", defaults={"name": "Vendor", "kind": "generic_http"}
    )
    return vendor


def plan_form_data(family: RoleFamily, **overrides: str) -> dict[str, str]:
    data = {
        "role_family": str(family.pk),
        "name": "Support screen",
        "trigger_stage": "automated_interview",
        "status": "draft",
        "vendor": str(demo_vendor().pk),
        "vendor_test_id": "test-42",
        "launch_mode": "stage_change",
        "band_thresholds": json.dumps([{"name": "pass", "min": 60}, {"name": "fail", "min": 0}]),
        "borderline_margin": "3.0",
        "pilot_review_share": "0.00",
        "expiry_days": "5",
        "reminder_after_hours": "48",
        "required_consents": "[]",
        "competencies-TOTAL_FORMS": "0",
        "competencies-INITIAL_FORMS": "0",
        "competencies-MIN_NUM_FORMS": "0",
        "competencies-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(overrides)
    return data


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def ops_admin(django_user_model: Any) -> Any:
    return make_staff(django_user_model, "ops", HIRING_OPS_ADMIN)


@pytest.fixture
def auditor(django_user_model: Any) -> Any:
    return make_staff(django_user_model, "audrey", AUDITOR)


@pytest.fixture
def ats() -> AtsConnection:
    return AtsConnection.objects.create(
        slug="acme-gh", name="Acme Greenhouse", provider="greenhouse"
    )


@pytest.fixture
def world(ats: AtsConnection, superuser: Any) -> dict[str, Any]:
    return make_pipeline(ats, 0, superuser)


# -- every page renders ------------------------------------------------------------------------


def test_every_registered_changelist_and_add_page_renders_for_a_superuser(
    client, rf, superuser, world
):
    client.force_login(superuser)
    request = rf.get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        expected = 200 if model_admin.has_add_permission(request) else 403
        assert client.get(admin_url(model, "add")).status_code == expected, model


def test_every_registered_change_page_renders_for_a_superuser(client, superuser, world):
    client.force_login(superuser)
    for model in admin.site._registry:
        obj = model._default_manager.first()
        assert obj is not None, model
        assert client.get(admin_url(model, "change", obj.pk)).status_code == 200, model


def test_synced_records_and_trails_cannot_be_added_even_by_a_superuser(client, superuser):
    client.force_login(superuser)
    read_only = [
        Candidate,
        Requisition,
        Application,
        ApplicationStageChange,
        InboundEvent,
        WritebackJob,
        Interview,
        InterviewResult,
        ReviewTask,
        Decision,
        AuditEvent,
    ]
    for model in read_only:
        assert client.get(admin_url(model, "add")).status_code == 403, model


@pytest.mark.parametrize(
    "model",
    [
        AtsConnection,
        StageMapping,
        Candidate,
        Requisition,
        Application,
        InboundEvent,
        WritebackJob,
        RoleFamily,
        InterviewPlan,
        Competency,
        Interview,
        InterviewResult,
        ReviewTask,
        RetentionPolicy,
        LegalHold,
        RequisitionAccess,
        Decision,
        AuditEvent,
        CalibrationSession,
        CalibrationItem,
        CalibrationRating,
        CandidateDemographics,
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(client, superuser, ats, model):
    client.force_login(superuser)
    make_pipeline(ats, 0, superuser)
    url = admin_url(model, "changelist")
    client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(db_connection) as one_row:
        assert client.get(url).status_code == 200
    for index in range(1, 4):
        make_pipeline(ats, index, superuser)
    with CaptureQueriesContext(db_connection) as four_rows:
        assert client.get(url).status_code == 200
    assert len(four_rows) == len(one_row), [q["sql"] for q in four_rows.captured_queries]


# -- write-only connection secrets -------------------------------------------------------------


def test_connection_pages_never_show_a_stored_secret(client, superuser, ats):
    ats.set_webhook_secret(SECRET)
    ats.set_api_key(API_KEY)
    ats.save()
    client.force_login(superuser)

    for url in (admin_url(AtsConnection, "changelist"), admin_url(AtsConnection, "change", ats.pk)):
        body = client.get(url).content
        assert SECRET.encode() not in body
        assert API_KEY.encode() not in body
        assert ats.webhook_secret_encrypted.encode() not in body
        assert ats.api_key_encrypted.encode() not in body
    assert (
        b"Stored encrypted in the database"
        in client.get(admin_url(AtsConnection, "change", ats.pk)).content
    )


def test_connection_list_says_which_secrets_are_configured(client, superuser, ats):
    ats.set_webhook_secret(SECRET)
    ats.save()
    client.force_login(superuser)

    response = client.get(admin_url(AtsConnection, "changelist"))

    changelist = response.context["cl"]
    row = changelist.result_list.get(pk=ats.pk)
    model_admin = changelist.model_admin
    assert model_admin.webhook_secret_configured(row) is True
    assert model_admin.api_key_configured(row) is False


def test_posting_a_new_webhook_secret_stores_it_encrypted(client, ops_admin, ats):
    client.force_login(ops_admin)

    response = client.post(
        admin_url(AtsConnection, "change", ats.pk),
        connection_form_data(ats, new_webhook_secret=SECRET, new_api_key=API_KEY),
    )

    assert response.status_code == 302
    ats.refresh_from_db()
    assert ats.webhook_secret() == SECRET
    assert ats.api_key() == API_KEY
    stored = AtsConnection.objects.values("webhook_secret_encrypted", "api_key_encrypted").get(
        pk=ats.pk
    )
    assert stored["webhook_secret_encrypted"]
    assert SECRET not in stored["webhook_secret_encrypted"]
    assert API_KEY not in stored["api_key_encrypted"]
    # The admin history names the changed fields, never their values.
    entry = LogEntry.objects.get(object_id=str(ats.pk))
    assert SECRET not in entry.change_message
    assert "webhook" in entry.get_change_message().lower()


def test_a_new_connection_can_be_added_with_a_secret(client, ops_admin):
    client.force_login(ops_admin)
    data = connection_form_data(
        AtsConnection(name="Acme Lever", provider="lever"), new_webhook_secret=SECRET
    )

    response = client.post(admin_url(AtsConnection, "add"), {**data, "slug": "acme-lever"})

    assert response.status_code == 302
    created = AtsConnection.objects.get(slug="acme-lever")
    assert created.webhook_secret() == SECRET
    assert SECRET not in created.webhook_secret_encrypted


def test_a_blank_new_secret_keeps_the_stored_one(client, superuser, ats):
    ats.set_webhook_secret(SECRET)
    ats.save()
    stored_before = ats.webhook_secret_encrypted
    client.force_login(superuser)

    response = client.post(
        admin_url(AtsConnection, "change", ats.pk),
        connection_form_data(ats, name="Acme GH (renamed)"),
    )

    assert response.status_code == 302
    ats.refresh_from_db()
    assert ats.name == "Acme GH (renamed)"
    assert ats.webhook_secret_encrypted == stored_before
    assert ats.webhook_secret() == SECRET


def test_the_clear_checkbox_removes_the_stored_secret(client, superuser, ats):
    ats.set_webhook_secret(SECRET)
    ats.save()
    client.force_login(superuser)

    response = client.post(
        admin_url(AtsConnection, "change", ats.pk),
        connection_form_data(ats, clear_webhook_secret="on"),
    )

    assert response.status_code == 302
    ats.refresh_from_db()
    assert ats.webhook_secret_encrypted == ""
    assert not ats.has_webhook_secret


def test_a_new_secret_and_clear_together_is_an_error(client, superuser, ats):
    ats.set_webhook_secret(SECRET)
    ats.save()
    stored_before = ats.webhook_secret_encrypted
    client.force_login(superuser)

    response = client.post(
        admin_url(AtsConnection, "change", ats.pk),
        connection_form_data(
            ats, new_webhook_secret="another-secret-123", clear_webhook_secret="on"
        ),
    )

    assert response.status_code == 200
    assert b"not both" in response.content
    assert b"another-secret-123" not in response.content
    ats.refresh_from_db()
    assert ats.webhook_secret_encrypted == stored_before


def test_an_invalid_form_does_not_echo_the_typed_secret(client, superuser, ats):
    client.force_login(superuser)

    response = client.post(
        admin_url(AtsConnection, "change", ats.pk),
        connection_form_data(ats, new_api_key=API_KEY, webhook_secret_env="not a name"),
    )

    assert response.status_code == 200
    assert b"Use an environment variable name" in response.content
    assert API_KEY.encode() not in response.content
    ats.refresh_from_db()
    assert not ats.has_api_key


def test_a_secret_typed_while_an_environment_variable_is_named_is_rejected(client, superuser, ats):
    ats.webhook_secret_env = "ACME_WEBHOOK_SECRET"
    ats.save()
    client.force_login(superuser)

    response = client.post(
        admin_url(AtsConnection, "change", ats.pk),
        connection_form_data(ats, new_webhook_secret=SECRET),
    )

    assert response.status_code == 200
    assert b"ACME_WEBHOOK_SECRET" in response.content
    ats.refresh_from_db()
    assert ats.webhook_secret_encrypted == ""


@pytest.mark.parametrize(
    ("env_name", "stored", "expected"),
    [
        ("", False, "Not configured"),
        ("", True, "Stored encrypted in the database"),
        ("SB_TEST_SECRET_SET", False, "Read from environment variable SB_TEST_SECRET_SET (set)"),
        (
            "SB_TEST_SECRET_UNSET",
            True,
            "Read from environment variable SB_TEST_SECRET_UNSET (NOT set on this server); "
            "a stored encrypted value is also present but unused",
        ),
    ],
)
def test_the_secret_status_says_where_the_secret_comes_from(
    client, superuser, ats, monkeypatch, env_name, stored, expected
):
    monkeypatch.setenv("SB_TEST_SECRET_SET", SECRET)
    monkeypatch.delenv("SB_TEST_SECRET_UNSET", raising=False)
    vendor = Vendor.objects.create(slug="acme-vendor", name="Acme", kind="rehearsal")
    for obj in (ats, vendor):
        obj.api_key_env = env_name
        obj.set_api_key(API_KEY if stored else "")
        obj.save()
    client.force_login(superuser)

    for model, obj in ((AtsConnection, ats), (Vendor, vendor)):
        page = client.get(admin_url(model, "change", obj.pk)).content.decode()
        assert expected in page, model
        assert API_KEY not in page
        assert admin.site._registry[model].api_key_status(obj) == expected


@pytest.mark.parametrize("model", [AtsConnection, Vendor])
def test_every_secret_of_a_model_gets_write_only_admin_fields(model):
    model_admin = admin.site._registry[model]
    fields = model_admin.form.base_fields

    for name in model.SECRETS:
        assert fields[f"new_{name}"].widget.input_type == "password"
        assert not fields[f"new_{name}"].widget.render_value
        assert f"clear_{name}" in fields
        assert f"{name}_configured" in model_admin.list_display
        assert callable(getattr(model_admin, f"{name}_status"))
    assert not any(field.endswith("_encrypted") for field in fields)


@pytest.mark.parametrize("model", [AtsConnection, Vendor])
def test_typed_secrets_are_kept_out_of_error_reports(client, superuser, model):
    client.force_login(superuser)

    response = client.post(admin_url(model, "add"), {"new_api_key": API_KEY})

    assert response.status_code == 200  # the form again: the rest is missing
    hidden = response.wsgi_request.sensitive_post_parameters
    assert sorted(hidden) == sorted(f"new_{name}" for name in model.SECRETS)


def test_secret_admin_pieces_refuse_a_misconfiguration():
    with pytest.raises(ValueError, match="Vendor has no secret named partner_key"):
        secrets_form(Vendor, partner_key=SecretInput(min_length=24))
    with pytest.raises(TypeError, match="must be built by secrets_form"):
        type("HandWrittenAdmin", (SecretsAdminMixin, admin.ModelAdmin), {"form": forms.ModelForm})


# -- stage mappings ----------------------------------------------------------------------------


def _save_stage_mapping_rows(client, user, ats, rows):
    """Save the connection page with one inline stage-mapping row per (name, canonical)."""
    client.force_login(user)
    data = {"stage_mappings-TOTAL_FORMS": str(len(rows))}
    for i, (name, canonical) in enumerate(rows):
        data[f"stage_mappings-{i}-remote_stage_id"] = ""
        data[f"stage_mappings-{i}-remote_stage_name"] = name
        data[f"stage_mappings-{i}-canonical_stage"] = canonical
    return client.post(
        admin_url(AtsConnection, "change", ats.pk), connection_form_data(ats, **data)
    )


def _add_stage_mapping(client, user, ats, remote_id, remote_name, canonical):
    client.force_login(user)
    return client.post(
        admin_url(StageMapping, "add"),
        {
            "connection": str(ats.pk),
            "remote_stage_id": remote_id,
            "remote_stage_name": remote_name,
            "canonical_stage": canonical,
        },
    )


def test_stage_mappings_can_be_added_on_the_connection_page(client, ops_admin, ats):
    response = _save_stage_mapping_rows(
        client, ops_admin, ats, [("  Phone   Screen ", "recruiter_screen")]
    )

    assert response.status_code == 302
    mapping = StageMapping.objects.get(connection=ats)
    assert mapping.normalized_name == "phone screen"


def test_two_rows_mapping_the_same_stage_name_are_rejected(client, ops_admin, ats):
    response = _save_stage_mapping_rows(
        client,
        ops_admin,
        ats,
        [("Phone Screen", "recruiter_screen"), ("phone  screen", "onsite")],
    )

    assert response.status_code == 200
    assert b"appears in two rows" in response.content
    assert not StageMapping.objects.exists()


def test_a_stage_name_mapped_already_gets_a_clear_error(client, ops_admin, ats):
    StageMapping.objects.create(
        connection=ats, remote_stage_name="Phone Screen", canonical_stage="recruiter_screen"
    )
    response = _add_stage_mapping(client, ops_admin, ats, "", "PHONE screen", "onsite")

    assert response.status_code == 200
    assert b"already mapped to Recruiter screen" in response.content
    assert StageMapping.objects.count() == 1


def test_a_stage_cannot_be_mapped_to_unmapped(client, ops_admin, ats):
    response = _add_stage_mapping(client, ops_admin, ats, "7", "", "unmapped")

    assert response.status_code == 200
    assert "canonical_stage" in response.context["adminform"].form.errors
    assert not StageMapping.objects.exists()


def test_the_connection_page_lists_stages_seen_but_not_mapped(client, superuser, ats, world):
    client.force_login(superuser)

    response = client.get(admin_url(AtsConnection, "change", ats.pk))

    assert b"Mystery stage" in response.content


# -- roles and permissions ---------------------------------------------------------------------


def test_an_auditor_views_the_trails_but_cannot_add_a_connection(client, auditor, world, ats):
    client.force_login(auditor)

    assert client.get(admin_url(Decision, "changelist")).status_code == 200
    assert client.get(admin_url(AuditEvent, "changelist")).status_code == 200
    assert client.get(admin_url(AtsConnection, "add")).status_code == 403
    detail = client.get(admin_url(AtsConnection, "change", ats.pk))
    assert detail.status_code == 200
    assert b'name="new_webhook_secret"' not in detail.content
    assert b'name="_save"' not in detail.content


def test_an_auditor_can_open_every_screenbridge_list_and_detail_page_read_only(
    client, auditor, world
):
    client.force_login(auditor)
    ours = [
        model
        for model in admin.site._registry
        if model._meta.app_label in {"integrations", "interviews", "governance"}
    ]
    for model in ours:
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        detail = client.get(admin_url(model, "change", model._default_manager.first().pk))
        assert detail.status_code == 200, model
        assert b'name="_save"' not in detail.content, model


def test_a_hiring_ops_admin_can_add_a_connection(client, ops_admin):
    client.force_login(ops_admin)

    assert client.get(admin_url(AtsConnection, "add")).status_code == 200


@pytest.mark.parametrize("model_key", ["decision", "audit_event"])
def test_nobody_can_add_change_or_delete_decisions_or_audit_events(
    client, superuser, ops_admin, auditor, world, model_key
):
    obj = world[model_key]
    model = type(obj)
    for user in (superuser, ops_admin, auditor):
        client.force_login(user)
        assert client.get(admin_url(model, "add")).status_code == 403
        assert client.post(admin_url(model, "add"), {}).status_code == 403
        assert client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
        assert client.get(admin_url(model, "delete", obj.pk)).status_code == 403
        assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        # The detail page is a read-only view: nothing to save.
        detail = client.get(admin_url(model, "change", obj.pk))
        assert detail.status_code == 200
        assert b'name="_save"' not in detail.content
    assert model.objects.filter(pk=obj.pk).exists()


# -- interview plans ---------------------------------------------------------------------------


def test_unordered_band_thresholds_rerender_with_an_error_and_store_nothing(client, ops_admin):
    family = RoleFamily.objects.create(slug="support", name="Support")
    client.force_login(ops_admin)
    unordered = [
        {"name": "borderline", "min": 50},
        {"name": "strong", "min": 80},
        {"name": "low", "min": 0},
    ]

    response = client.post(
        admin_url(InterviewPlan, "add"),
        plan_form_data(family, band_thresholds=json.dumps(unordered)),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "strictly descending" in errors["band_thresholds"][0]
    assert b"strictly descending" in response.content
    assert not InterviewPlan.objects.exists()


def test_a_plan_with_competencies_is_saved(client, ops_admin):
    family = RoleFamily.objects.create(slug="support", name="Support")
    client.force_login(ops_admin)
    data = plan_form_data(
        family,
        status="pilot",
        **{
            "competencies-TOTAL_FORMS": "1",
            "competencies-0-position": "1",
            "competencies-0-key": "empathy",
            "competencies-0-name": "Empathy",
            "competencies-0-weight": "1.00",
            "competencies-0-rubric_anchors": '{"1": "Ignores the customer"}',
        },
    )

    response = client.post(admin_url(InterviewPlan, "add"), data)

    assert response.status_code == 302
    plan = InterviewPlan.objects.get()
    assert plan.activated_at is not None
    assert list(plan.competencies.values_list("key", flat=True)) == ["empathy"]


def test_a_second_running_plan_for_the_same_stage_gets_a_clear_error(client, ops_admin):
    family = RoleFamily.objects.create(slug="support", name="Support")
    InterviewPlan.objects.create(
        role_family=family, name="Current", vendor=demo_vendor(), vendor_test_id="t", status="live"
    )
    client.force_login(ops_admin)

    response = client.post(admin_url(InterviewPlan, "add"), plan_form_data(family, status="pilot"))

    assert response.status_code == 200
    assert "already live" in response.context["adminform"].form.errors["status"][0]
    assert InterviewPlan.objects.count() == 1


# -- interview results -------------------------------------------------------------------------


def test_a_result_hides_transcript_and_recording_links_without_permission(client, ops_admin, world):
    result = world["result"]
    client.force_login(ops_admin)

    response = client.get(admin_url(InterviewResult, "change", result.pk))

    assert response.status_code == 200
    assert result.transcript_url.encode() not in response.content
    assert result.recording_url.encode() not in response.content
    assert b"Report url" in response.content


def test_a_result_shows_the_transcript_link_to_a_user_allowed_to_open_it(
    client, django_user_model, world
):
    user = make_staff(django_user_model, "transcript-reader", HIRING_OPS_ADMIN)
    user.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    result = world["result"]
    client.force_login(user)

    response = client.get(admin_url(InterviewResult, "change", result.pk))

    assert response.status_code == 200
    assert result.transcript_url.encode() in response.content
    assert result.recording_url.encode() not in response.content


# -- ledger actions ----------------------------------------------------------------------------


def test_retry_now_resets_a_dead_writeback_job(client, ops_admin, world, ats):
    job = world["job"]
    job.status = "dead"
    job.attempts = 8
    job.max_attempts = 8
    job.last_error = "HTTP 503 from ATS"
    job.completed_at = timezone.now()
    job.save()
    done = WritebackJob.objects.create(
        connection=ats, kind="note", target="other", status="succeeded"
    )
    client.force_login(ops_admin)

    response = client.post(
        admin_url(WritebackJob, "changelist"),
        {"action": "retry_now", "_selected_action": [str(job.pk), str(done.pk)]},
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.max_attempts == 9
    assert job.completed_at is None
    assert abs(job.next_attempt_at - timezone.now()) < timedelta(minutes=1)
    done.refresh_from_db()
    assert done.status == "succeeded"


def test_retry_now_works_from_the_job_detail_page(client, ops_admin, world):
    job = world["job"]
    job.status = "failed"
    job.attempts = 2
    job.save()
    client.force_login(ops_admin)
    url = admin_url(WritebackJob, "change", job.pk)
    assert b"Retry now" in client.get(url).content

    response = client.post(
        url, {"CHANGE_FORM-action": "retry_now", "_selected_action": [str(job.pk)]}
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.max_attempts == 8


def test_retry_now_leaves_a_job_that_a_newer_write_replaced(client, ops_admin, world, ats):
    old = world["job"]
    old.status = "dead"
    old.save()
    WritebackJob.objects.create(
        connection=ats,
        application=old.application,
        kind=old.kind,
        target=old.target,
        status="succeeded",
    )
    client.force_login(ops_admin)

    client.post(
        admin_url(WritebackJob, "changelist"),
        {"action": "retry_now", "_selected_action": [str(old.pk)]},
    )

    old.refresh_from_db()
    assert old.status == "dead"


def test_an_auditor_cannot_retry_writeback_jobs(client, auditor, world):
    job = world["job"]
    job.status = "dead"
    job.save()
    client.force_login(auditor)

    client.post(
        admin_url(WritebackJob, "changelist"),
        {"action": "retry_now", "_selected_action": [str(job.pk)]},
    )

    job.refresh_from_db()
    assert job.status == "dead"


def test_retry_processing_resets_only_failed_and_stale_events(client, ops_admin, ats):
    failed = InboundEvent.objects.create(
        connection=ats, delivery_id="f", raw_body="{}", status="failed", error="boom", attempts=3
    )
    stale = InboundEvent.objects.create(
        connection=ats, delivery_id="s", raw_body="{}", status="stale"
    )
    processed = InboundEvent.objects.create(
        connection=ats,
        delivery_id="p",
        raw_body="{}",
        status="processed",
        processed_at=timezone.now(),
    )
    client.force_login(ops_admin)

    response = client.post(
        admin_url(InboundEvent, "changelist"),
        {
            "action": "retry_processing",
            "_selected_action": [str(failed.pk), str(stale.pk), str(processed.pk)],
        },
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    stale.refresh_from_db()
    processed.refresh_from_db()
    assert (failed.status, failed.error) == ("received", "")
    assert stale.status == "received"
    assert processed.status == "processed"


def test_an_inbound_event_detail_page_is_read_only(client, ops_admin, world):
    event = InboundEvent.objects.get()
    client.force_login(ops_admin)

    assert b'name="_save"' not in client.get(admin_url(InboundEvent, "change", event.pk)).content
    assert (
        client.post(admin_url(InboundEvent, "change", event.pk), {"status": "ignored"}).status_code
        == 403
    )


# -- governance --------------------------------------------------------------------------------


def test_a_legal_hold_is_placed_by_the_requesting_user(client, ops_admin, world):
    client.force_login(ops_admin)

    response = client.post(
        admin_url(LegalHold, "add"),
        {
            "reason": "Pending claim",
            "candidate": str(world["candidate"].pk),
            "requisition": "",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    hold = LegalHold.objects.get(reason="Pending claim")
    assert hold.placed_by == ops_admin
    assert hold.released_at is None


def test_a_legal_hold_without_a_target_gets_a_clear_error(client, ops_admin):
    client.force_login(ops_admin)

    response = client.post(
        admin_url(LegalHold, "add"), {"reason": "Pending claim", "candidate": "", "requisition": ""}
    )

    assert response.status_code == 200
    assert b"Choose the candidate or the requisition" in response.content
    assert not LegalHold.objects.exists()


def test_releasing_a_hold_records_who_released_it(client, ops_admin, world):
    hold = LegalHold.objects.get()
    client.force_login(ops_admin)

    client.post(
        admin_url(LegalHold, "changelist"),
        {"action": "release_holds", "_selected_action": [str(hold.pk)]},
    )

    hold.refresh_from_db()
    assert hold.released_by == ops_admin
    assert hold.released_at is not None


def test_an_overlapping_active_retention_policy_gets_a_clear_error(client, ops_admin):
    RetentionPolicy.objects.create(
        name="Global transcripts", data_category="transcript", retention_days=30
    )
    client.force_login(ops_admin)

    response = client.post(
        admin_url(RetentionPolicy, "add"),
        {
            "name": "Another",
            "data_category": "transcript",
            "role_family": "",
            "retention_days": "60",
            "action": "delete",
            "active": "on",
            "notes": "",
        },
    )

    assert response.status_code == 200
    assert "Global transcripts" in response.context["adminform"].form.errors["data_category"][0]
    assert RetentionPolicy.objects.count() == 1


def test_a_hiring_ops_admin_grants_requisition_access(client, ops_admin, django_user_model, world):
    recruiter = django_user_model.objects.create_user("rita", "rita@example.com", "pw")
    client.force_login(ops_admin)

    assert client.get(admin_url(RequisitionAccess, "add")).status_code == 200
    response = client.post(
        admin_url(RequisitionAccess, "add"),
        {
            "user": str(recruiter.pk),
            "requisition": str(world["requisition"].pk),
            "role": "recruiter",
        },
    )

    assert response.status_code == 302
    assert RequisitionAccess.objects.filter(user=recruiter, role="recruiter").exists()


def test_the_admin_shows_the_screenbridge_header(client, superuser):
    client.force_login(superuser)

    assert b"Screenbridge administration" in client.get(reverse("admin:index")).content
