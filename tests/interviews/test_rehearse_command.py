"""``manage.py rehearse``: synthetic candidates through the whole pipeline, nothing sent out."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from integrations.http import HttpClient
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)
from interviews.models import (
    Interview,
    InterviewPlan,
    LaunchSource,
    PlanStatus,
    RehearsalOutcome,
    RehearsalRun,
    RehearsalStatus,
    ResultField,
    VendorKind,
)
from interviews.services.rehearsal import RehearsalError, rehearsal_run
from tests.ats_server import AtsServer, loopback_connection
from tests.factories import (
    CompetencyFactory,
    InterviewPlanFactory,
    RequisitionFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
    StageMappingFactory,
    VendorFactory,
    WritebackFieldMappingFactory,
)

# Each test commits (the pipeline runs after commit, as in production), so the database is
# flushed afterwards rather than rolled back.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_outbound_http(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP call Screenbridge makes goes through HttpClient.request: record and refuse."""
    calls: list[str] = []

    def refuse(self: HttpClient, method: str, path_or_url: str, **kwargs: Any) -> Any:
        calls.append(f"{method} {path_or_url}")
        raise AssertionError(f"outbound call during a rehearsal: {method} {path_or_url}")

    monkeypatch.setattr(HttpClient, "request", refuse)
    return calls


def support_family(ats_server: AtsServer, *, plan_status: str = PlanStatus.PILOT) -> Any:
    """Customer Support: a live Greenhouse connection (the loopback ATS) and a pilot plan whose
    own vendor also points at the loopback server, so any call to either would be seen."""
    family = RoleFamilyFactory(slug="support", name="Customer Support")
    live = loopback_connection(ats_server, "greenhouse", slug="acme-gh", name="Acme Greenhouse")
    requisition = RequisitionFactory(connection=live, title="Support Specialist")
    RoleFamilyMembershipFactory(requisition=requisition, role_family=family)
    StageMappingFactory(
        connection=live,
        remote_stage_id="",
        remote_stage_name="AI Interview",
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )
    for source, key in [(ResultField.BAND, "ai_band"), (ResultField.OVERALL_SCORE, "ai_score")]:
        WritebackFieldMappingFactory(
            connection=live, source=source, target_kind=WritebackKind.CUSTOM_FIELDS, target_key=key
        )
    WritebackFieldMappingFactory(
        connection=live,
        source=ResultField.COMPETENCY_SCORE,
        competency_key="empathy",
        target_kind=WritebackKind.CUSTOM_FIELDS,
        target_key="ai_empathy",
    )
    vendor = VendorFactory(slug="real-vendor", base_url=f"{ats_server.url}/vendor")
    plan = InterviewPlanFactory(role_family=family, vendor=vendor, status=plan_status)
    CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=1)
    CompetencyFactory(plan=plan, key="ownership", name="Ownership", position=2)
    return plan


def rehearse(*args: str) -> str:
    out = StringIO()
    call_command("rehearse", *args, stdout=out)
    return out.getvalue()


def test_rehearse_prints_a_table_and_nothing_reaches_the_live_ats_or_a_vendor(
    ats_server: AtsServer, no_outbound_http: list[str]
) -> None:
    plan = support_family(ats_server)

    output = rehearse("--role-family", "support", "--candidates", "25", "--seed", "7")

    assert ats_server.requests() == []
    assert no_outbound_http == []
    run = RehearsalRun.objects.get()
    assert run.status == RehearsalStatus.COMPLETED
    assert run.vendor.kind == VendorKind.REHEARSAL
    assert run.mirrored_connection.slug == "acme-gh"
    assert run.connection.mode == ConnectionMode.SANDBOX
    interviews = Interview.objects.filter(plan=plan)
    assert interviews.count() == 25
    assert set(interviews.values_list("vendor__kind", flat=True)) == {VendorKind.REHEARSAL}
    assert set(interviews.values_list("launch_source", flat=True)) == {LaunchSource.REHEARSAL}
    assert all(interviews.values_list("is_rehearsal", flat=True))
    # Synthetic people only, on the sandbox only; the live connection got nothing new.
    assert not Candidate.objects.filter(connection__slug="acme-gh").exists()
    assert set(Candidate.objects.values_list("is_synthetic", flat=True)) == {True}
    assert not WritebackJob.objects.exclude(status=WritebackStatus.SANDBOXED).exists()
    assert not WritebackJob.objects.filter(connection__slug="acme-gh").exists()

    rows = list(run.candidates.order_by("position"))
    assert [row.outcome for row in rows] == [RehearsalOutcome.COMPLETED] * 25
    # Every built-in sample ran, so every band and a review reason of each kind showed up.
    assert {row.band for row in rows} == {
        "strong",
        "proceed",
        "borderline",
        "insufficient_evidence",
    }
    assert {row.review_reason for row in rows} >= {"borderline", "flagged"}
    first = rows[0]
    assert first.writebacks == [
        {
            "kind": "custom_fields",
            "target": "result",
            "payload": {
                "custom_fields": {
                    "ai_band": first.writebacks[0]["payload"]["custom_fields"]["ai_band"],
                    "ai_score": int(first.score) if first.score % 1 == 0 else float(first.score),
                    "ai_empathy": first.competency_scores[0]["score"],
                }
            },
        }
    ]
    assert not any(row.rejected for row in rows)

    # The table: a header, one line per candidate, then the details and the checklist.
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#   Candidate"))
    table = lines[header + 2 : header + 27]
    for row, line in zip(rows, table, strict=True):
        assert line.startswith(f"{row.position:<3} {row.name[:21]}")
        assert row.band in line
    assert "would write custom_fields" in output
    assert f"band: {first.band_reasoning}" in output
    assert "Go-live readiness of" in output
    assert "[PASS] Every field mapping was exercised by a rehearsal" in output
    assert "Nothing was sent" in output


def test_the_same_seed_gives_the_same_candidates_bands_and_writes(
    ats_server: AtsServer, no_outbound_http: list[str]
) -> None:
    support_family(ats_server)

    rehearse("--role-family", "support", "--candidates", "8", "--seed", "3")
    rehearse("--role-family", "support", "--candidates", "8", "--seed", "3")
    rehearse("--role-family", "support", "--candidates", "8", "--seed", "4")

    first, second, other = (
        [
            (row.name, row.sample, row.band, row.score, row.review_reason, row.writebacks)
            for row in run.candidates.order_by("position")
        ]
        for run in RehearsalRun.objects.order_by("pk")
    )
    assert first == second
    assert first != other
    # Each run has its own synthetic applications; the sandbox connection is reused.
    assert Application.objects.count() == 24
    assert AtsConnection.objects.filter(mode=ConnectionMode.SANDBOX).count() == 1


def test_a_mapping_the_plan_cannot_fill_is_reported_as_rejected(
    ats_server: AtsServer, no_outbound_http: list[str]
) -> None:
    plan = support_family(ats_server)
    live = AtsConnection.objects.get(slug="acme-gh")
    WritebackFieldMappingFactory(
        connection=live,
        source=ResultField.COMPETENCY_SCORE,
        competency_key="typing_speed",
        target_kind=WritebackKind.CUSTOM_FIELDS,
        target_key="ai_typing",
    )

    output = rehearse("--role-family", "support", "--candidates", "3")

    run = RehearsalRun.objects.get(plan=plan)
    assert all(row.rejected for row in run.candidates.all())
    assert "REJECTED" in output
    assert "typing_speed" in output
    assert "[FAIL] Every field mapping was exercised by a rehearsal" in output


def test_an_unmapped_trigger_stage_launches_nothing_and_says_why(
    ats_server: AtsServer, no_outbound_http: list[str]
) -> None:
    support_family(ats_server)
    AtsConnection.objects.get(slug="acme-gh").stage_mappings.all().delete()

    output = rehearse("--role-family", "support", "--candidates", "2")

    run = RehearsalRun.objects.get()
    assert [row.outcome for row in run.candidates.all()] == [RehearsalOutcome.NOT_LAUNCHED] * 2
    assert not Interview.objects.exists()
    assert "maps to the trigger stage" in output
    assert "[FAIL] Every stage on the trigger path is mapped" in output


def test_a_draft_plan_can_be_rehearsed(ats_server: AtsServer, no_outbound_http: list[str]) -> None:
    plan = support_family(ats_server, plan_status=PlanStatus.DRAFT)

    rehearse("--role-family", "support", "--candidates", "2")

    assert Interview.objects.filter(plan=plan).count() == 2
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_a_live_connection_in_the_rehearsal_slug_is_never_used(
    ats_server: AtsServer, no_outbound_http: list[str]
) -> None:
    plan = support_family(ats_server)
    loopback_connection(ats_server, "generic", slug="rehearsal-support")

    with pytest.raises(RehearsalError, match="only use sandbox"):
        rehearsal_run(role_family=plan.role_family, candidates=1)

    assert not Candidate.objects.exists()
    assert ats_server.requests() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role-family", "nope"], "no role family"),
        (["--role-family", "support", "--candidates", "0"], "--candidates"),
        (["--role-family", "support", "--plan", "999999"], "no plan"),
        (["--role-family", "support", "--connection", "other"], "not a live connection"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(
    ats_server: AtsServer, args: list[str], message: str
) -> None:
    support_family(ats_server)

    with pytest.raises(CommandError, match=message):
        rehearse(*args)

    assert not RehearsalRun.objects.exists()
    assert InterviewPlan.objects.count() == 1
