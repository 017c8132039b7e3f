"""Writeback composition: what each provider receives, with and without field mappings."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from governance.roles import AUDITOR, HIRING_OPS_ADMIN, RECRUITER
from integrations.models import ConnectionMode, WritebackJob, WritebackKind, WritebackStatus
from integrations.services.outbox import writeback_relay
from interviews.models import InterviewResult, ResultField, WritebackFieldMapping
from interviews.services.results import interview_result_submit
from interviews.services.writeback import (
    WritebackSpec,
    result_writeback_compose,
    result_writeback_enqueue,
)
from interviews.vendors.base import ResultData
from tests.ats_server import AtsServer, loopback_connection
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    CompetencyFactory,
    InterviewFactory,
    InterviewPlanFactory,
    UserFactory,
    WritebackFieldMappingFactory,
)

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://screenbridge.example"
BULLETS = (
    "Restated the customer's problem before offering a refund.",
    "Explained why they escalated the outage to the on-call engineer.",
)


@pytest.fixture(autouse=True)
def _public_url(settings) -> None:
    settings.SCREENBRIDGE_PUBLIC_URL = PUBLIC_URL


def make_result(
    connection: Any, score: str = "72", *, rehearsal: bool = False, **fields: Any
) -> InterviewResult:
    """A stored, current result of a completed interview on ``connection``."""
    plan = InterviewPlanFactory()
    CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=0)
    CompetencyFactory(plan=plan, key="problem_solving", name="Problem solving", position=1)
    application = ApplicationFactory(
        connection=connection, remote_id="265277", candidate__remote_id="265772"
    )
    interview = InterviewFactory(
        started=True, plan=plan, application=application, is_rehearsal=rehearsal
    )
    fields.setdefault(
        "competency_scores", {"empathy": Decimal(70), "problem_solving": Decimal("74.5")}
    )
    data = ResultData(
        score=Decimal(score),
        summary_bullets=BULLETS,
        confidence=0.9,
        transcript_word_count=900,
        transcript_url="https://vendor.example/transcripts/secret-t",
        recording_url="https://vendor.example/recordings/secret-r",
        **fields,
    )
    return interview_result_submit(interview=interview, data=data)


def profile_url(result: InterviewResult) -> str:
    return f"{PUBLIC_URL}/results/{result.interview.public_id}/"


def full_note(result: InterviewResult, *extra: str) -> str:
    return "\n".join(
        [
            f"Automated interview result (version {result.version})",
            "AI interview: completed",
            f"Band: {result.band.replace('_', ' ').capitalize()}",
            f"Overall score: {result.score.normalize():f}/100",
            "Empathy: 70/100",
            "Problem solving: 74.5/100",
            "Evidence:",
            f"• {BULLETS[0]}",
            f"• {BULLETS[1]}",
            f"Full results: {profile_url(result)}",
            *extra,
        ]
    )


def mapping(connection: Any, source: str, kind: str, key: str = "", **fields: Any) -> Any:
    return WritebackFieldMappingFactory(
        connection=connection, source=source, target_kind=kind, target_key=key, **fields
    )


def map_everything(connection: Any, kind: str, prefix: str = "ai_") -> None:
    mapping(connection, ResultField.COMPLETION_STATUS, kind, f"{prefix}status")
    mapping(connection, ResultField.BAND, kind, f"{prefix}band")
    mapping(connection, ResultField.OVERALL_SCORE, kind, f"{prefix}score")
    mapping(
        connection, ResultField.COMPETENCY_SCORE, kind, f"{prefix}empathy", competency_key="empathy"
    )
    mapping(
        connection,
        ResultField.COMPETENCY_SCORE,
        kind,
        f"{prefix}problem_solving",
        competency_key="problem_solving",
    )
    mapping(connection, ResultField.SUMMARY_BULLETS, kind, f"{prefix}summary")
    mapping(connection, ResultField.ARTIFACT_LINK, kind, f"{prefix}link")


def payload_text(specs: list[WritebackSpec]) -> str:
    return json.dumps([spec.payload for spec in specs]).lower()


# -- provider defaults (no mapping rows) -------------------------------------------------------


@pytest.mark.parametrize("provider", ["greenhouse", "ashby"])
def test_greenhouse_and_ashby_without_mappings_get_one_full_note(provider) -> None:
    result = make_result(AtsConnectionFactory(provider=provider))

    specs = result_writeback_compose(result=result)

    assert specs == [WritebackSpec("note", "result", {"body": full_note(result)})]


def test_lever_without_mappings_gets_a_note_and_a_band_tag() -> None:
    result = make_result(AtsConnectionFactory(provider="lever"))

    specs = result_writeback_compose(result=result)

    assert specs == [
        WritebackSpec("note", "result", {"body": full_note(result)}),
        WritebackSpec("tags", "result", {"tags": ["AI interview: Proceed"]}),
    ]


def test_generic_without_mappings_gets_the_full_canonical_json() -> None:
    result = make_result(AtsConnectionFactory(provider="generic"))

    [spec] = result_writeback_compose(result=result)

    assert (spec.kind, spec.target) == ("generic", "result")
    assert spec.payload == {
        "interview_id": str(result.interview.public_id),
        "version": 1,
        "result": {
            "status": "completed",
            "band": "proceed",
            "band_label": "Proceed",
            "score": 72,
            "competencies": [
                {"key": "empathy", "name": "Empathy", "score": 70},
                {"key": "problem_solving", "name": "Problem solving", "score": 74.5},
            ],
            "summary_bullets": list(BULLETS),
            "profile_url": profile_url(result),
            "completed_at": result.interview.completed_at.isoformat(),
        },
    }
    json.dumps(spec.payload)  # JSON-safe as stored


# -- with mappings -----------------------------------------------------------------------------


def test_greenhouse_custom_fields_are_one_job_keyed_by_name_key() -> None:
    connection = AtsConnectionFactory(provider="greenhouse")
    map_everything(connection, WritebackKind.CUSTOM_FIELDS)
    result = make_result(connection)

    [spec] = result_writeback_compose(result=result)

    assert spec == WritebackSpec(
        "custom_fields",
        "result",
        {
            "custom_fields": {
                "ai_status": "completed",
                "ai_band": "Proceed",
                "ai_score": 72,
                "ai_empathy": 70,
                "ai_problem_solving": 74.5,
                "ai_summary": "\n".join(BULLETS),
                "ai_link": profile_url(result),
            }
        },
    )


def test_custom_fields_and_a_labelled_note_side_by_side() -> None:
    connection = AtsConnectionFactory(provider="greenhouse")
    mapping(connection, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "ai_band")
    mapping(connection, ResultField.BAND, WritebackKind.NOTE, "Screen band")
    mapping(connection, ResultField.SUMMARY_BULLETS, WritebackKind.NOTE)
    mapping(connection, ResultField.ARTIFACT_LINK, WritebackKind.NOTE, "Score card")
    result = make_result(connection)

    fields, note = result_writeback_compose(result=result)

    assert fields.payload == {"custom_fields": {"ai_band": "Proceed"}}
    assert note.payload == {
        "body": "\n".join(
            [
                "Automated interview result (version 1)",
                "Screen band: Proceed",
                "Evidence:",
                f"• {BULLETS[0]}",
                f"• {BULLETS[1]}",
                f"Score card: {profile_url(result)}",
            ]
        )
    }


def test_ashby_custom_fields_are_keyed_by_field_id() -> None:
    connection = AtsConnectionFactory(provider="ashby")
    mapping(connection, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "3f1c-band")
    mapping(connection, ResultField.OVERALL_SCORE, WritebackKind.CUSTOM_FIELDS, "3f1c-score")
    result = make_result(connection, "85.25")

    [spec] = result_writeback_compose(result=result)

    assert spec.payload == {"custom_fields": {"3f1c-band": "Strong", "3f1c-score": 85.25}}


def test_lever_tags_use_the_label_and_unsupported_mappings_are_skipped() -> None:
    connection = AtsConnectionFactory(provider="lever")
    mapping(connection, ResultField.BAND, WritebackKind.TAGS, "AI screen")
    mapping(connection, ResultField.OVERALL_SCORE, WritebackKind.TAGS)
    mapping(connection, ResultField.SUMMARY_BULLETS, WritebackKind.TAGS)  # not a tag
    mapping(connection, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "x")  # Lever cannot
    result = make_result(connection)

    specs = result_writeback_compose(result=result)

    assert specs == [
        WritebackSpec("tags", "result", {"tags": ["AI screen: Proceed", "Overall score: 72"]})
    ]


def test_generic_mappings_use_json_keys_with_bullets_as_a_list() -> None:
    connection = AtsConnectionFactory(provider="generic")
    mapping(connection, ResultField.BAND, WritebackKind.GENERIC, "screen_band")
    mapping(connection, ResultField.SUMMARY_BULLETS, WritebackKind.GENERIC, "evidence")
    result = make_result(connection)

    [spec] = result_writeback_compose(result=result)

    assert spec.payload == {
        "interview_id": str(result.interview.public_id),
        "version": 1,
        "result": {"screen_band": "Proceed", "evidence": list(BULLETS)},
    }


def test_an_unscored_competency_is_left_out_not_blanked() -> None:
    connection = AtsConnectionFactory(provider="greenhouse")
    map_everything(connection, WritebackKind.CUSTOM_FIELDS)
    result = make_result(connection, competency_scores={"empathy": Decimal(70)})

    [spec] = result_writeback_compose(result=result)

    assert "ai_problem_solving" not in spec.payload["custom_fields"]
    assert spec.payload["custom_fields"]["ai_empathy"] == 70


def test_inactive_mappings_switch_result_writebacks_off() -> None:
    connection = AtsConnectionFactory(provider="greenhouse")
    mapping(connection, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "ai_band", active=False)
    result = make_result(connection)

    assert result_writeback_compose(result=result) == []
    assert not WritebackJob.objects.exists()


def test_assessment_mappings_are_left_to_the_partner_endpoints() -> None:
    connection = AtsConnectionFactory(provider="greenhouse")
    mapping(connection, ResultField.BAND, WritebackKind.ASSESSMENT, "Score band")
    mapping(connection, ResultField.BAND, WritebackKind.NOTE)
    result = make_result(connection)

    assert [spec.kind for spec in result_writeback_compose(result=result)] == ["note"]


@pytest.mark.parametrize("provider", ["greenhouse", "lever", "ashby", "generic"])
def test_no_transcript_or_recording_ever_reaches_the_ats(provider) -> None:
    connection = AtsConnectionFactory(provider=provider)
    result = make_result(connection)
    for kind in sorted(SUPPORTED[provider]):
        map_everything(connection, kind, prefix=f"{kind}_")

    text = payload_text(result_writeback_compose(result=result))

    assert "secret-t" not in text
    assert "secret-r" not in text
    assert "transcript" not in text


SUPPORTED = {
    "greenhouse": {"custom_fields", "note"},
    "ashby": {"custom_fields", "note"},
    "lever": {"note"},  # tags take only short values; covered above
    "generic": {"custom_fields", "note", "generic"},
}


# -- decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["greenhouse", "lever", "ashby", "generic"])
def test_no_decline_is_written_without_a_human_decision(provider) -> None:
    connection = AtsConnectionFactory(provider=provider)
    result = make_result(connection, "12")
    assert result.band == "insufficient_evidence"  # the band that recommends "decline"
    default = payload_text(result_writeback_compose(result=result))
    for kind in sorted(SUPPORTED[provider]):
        map_everything(connection, kind, prefix=f"{kind}_")
    mapped = payload_text(result_writeback_compose(result=result))
    jobs = json.dumps([job.payload for job in WritebackJob.objects.all()]).lower()

    for text in (default, mapped, jobs):
        assert "declin" not in text
        assert "reject" not in text
        assert "advance" not in text


def test_a_human_decision_is_added_to_notes_tags_and_generic_json() -> None:
    decision = SimpleNamespace(outcome="decline", is_override=True)

    lever = make_result(AtsConnectionFactory(provider="lever"), "66")
    note, tags = result_writeback_compose(result=lever, decision=decision)
    assert note.payload["body"].endswith(
        "\nHuman decision: Decline (overrides the band's recommendation)"
    )
    assert tags.payload == {"tags": ["AI interview: Proceed", "AI interview decision: Decline"]}

    generic = make_result(AtsConnectionFactory(provider="generic"), "66")
    [spec] = result_writeback_compose(result=generic, decision=decision)
    assert spec.payload["decision"] == {
        "outcome": "decline",
        "outcome_label": "Decline",
        "is_override": True,
    }

    agreed = SimpleNamespace(outcome="advance", is_override=False)
    [note] = result_writeback_compose(
        result=make_result(AtsConnectionFactory(provider="greenhouse")), decision=agreed
    )
    assert note.payload["body"].endswith("\nHuman decision: Advance")


def test_a_decision_writeback_supersedes_the_unsent_result_writeback() -> None:
    connection = AtsConnectionFactory(provider="greenhouse", mode=ConnectionMode.LIVE)
    result = make_result(connection)
    [first] = WritebackJob.objects.all()

    [second] = result_writeback_enqueue(
        result=result, decision=SimpleNamespace(outcome="hold", is_override=True)
    )

    first.refresh_from_db()
    assert first.status == WritebackStatus.SUPERSEDED
    assert (second.status, second.target) == (WritebackStatus.PENDING, "result")
    assert "Human decision: Hold" in second.payload["body"]


# -- enqueueing --------------------------------------------------------------------------------


def test_completion_enqueues_pending_jobs_on_a_live_connection() -> None:
    connection = AtsConnectionFactory(provider="lever", mode=ConnectionMode.LIVE)
    result = make_result(connection)

    jobs = WritebackJob.objects.order_by("pk")
    assert [(job.kind, job.status, job.target) for job in jobs] == [
        ("note", WritebackStatus.PENDING, "result"),
        ("tags", WritebackStatus.PENDING, "result"),
    ]
    assert all(job.application == result.interview.application for job in jobs)


def test_a_sandbox_connection_records_the_jobs_and_sends_nothing(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    connection.mode = ConnectionMode.SANDBOX
    connection.save()
    make_result(connection)

    [job] = WritebackJob.objects.all()
    assert job.status == WritebackStatus.SANDBOXED
    assert job.payload["body"].startswith("Automated interview result (version 1)")
    assert writeback_relay() == 0
    assert ats_server.requests() == []


def test_a_newer_result_supersedes_the_older_unsent_writes() -> None:
    connection = AtsConnectionFactory(provider="greenhouse", mode=ConnectionMode.LIVE)
    v1 = make_result(connection)
    v2 = interview_result_submit(
        interview=v1.interview,
        data=ResultData(score=Decimal(90), summary_bullets=BULLETS, transcript_word_count=900),
    )

    old, new = WritebackJob.objects.order_by("pk")
    assert old.status == WritebackStatus.SUPERSEDED
    assert new.status == WritebackStatus.PENDING
    assert "version 2" in new.payload["body"]
    assert v2.is_current

    # The old version writes nothing any more, even if asked.
    assert result_writeback_enqueue(result=v1) == []


def test_a_rehearsal_result_never_reaches_a_live_connection() -> None:
    live = AtsConnectionFactory(provider="greenhouse", mode=ConnectionMode.LIVE)
    make_result(live, rehearsal=True)
    assert not WritebackJob.objects.exists()

    sandbox = AtsConnectionFactory(provider="greenhouse", mode=ConnectionMode.SANDBOX)
    make_result(sandbox, rehearsal=True)
    assert WritebackJob.objects.get().status == WritebackStatus.SANDBOXED


# -- end to end through each provider's client (loopback ATS) ---------------------------------


def relay_all(server: AtsServer) -> None:
    writeback_relay(limit=20)
    assert server.unmatched == []
    assert set(WritebackJob.objects.values_list("status", flat=True)) == {WritebackStatus.SUCCEEDED}


def test_greenhouse_receives_custom_fields_and_a_note(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    mapping(connection, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "ai_interview_score_band")
    mapping(connection, ResultField.OVERALL_SCORE, WritebackKind.CUSTOM_FIELDS, "ai_score")
    mapping(connection, ResultField.ARTIFACT_LINK, WritebackKind.NOTE)
    result = make_result(connection)

    relay_all(ats_server)

    [patch] = ats_server.requests("PATCH", "/v3/applications/265277")
    # PostgreSQL's jsonb does not keep key order, so neither does the stored payload.
    assert sorted(patch.json["custom_fields"], key=lambda field: field["name_key"]) == [
        {"name_key": "ai_interview_score_band", "value": "Proceed"},
        {"name_key": "ai_score", "value": 72},
    ]
    [note] = ats_server.requests("POST", "/v3/notes")
    assert note.json["candidate_id"] == 265772
    assert note.json["body"] == (
        f"Automated interview result (version 1)\nFull results: {profile_url(result)}"
    )


def test_lever_receives_the_default_note_and_tag(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "lever", on_behalf_of="user-1")
    result = make_result(connection)

    relay_all(ats_server)

    [note] = ats_server.requests("POST", "/v1/opportunities/265277/notes")
    assert note.json["value"] == full_note(result)
    [tags] = ats_server.requests("POST", "/v1/opportunities/265277/addTags")
    assert tags.json == {"tags": ["AI interview: Proceed"]}


def test_ashby_receives_one_set_value_per_field_and_the_note(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "ashby")
    mapping(connection, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "f-band")
    mapping(connection, ResultField.SUMMARY_BULLETS, WritebackKind.CUSTOM_FIELDS, "f-summary")
    mapping(connection, ResultField.BAND, WritebackKind.NOTE)
    make_result(connection)

    relay_all(ats_server)

    band, summary = sorted(
        ats_server.requests("POST", "/customField.setValue"), key=lambda r: r.json["fieldId"]
    )
    assert (band.json["fieldId"], band.json["fieldValue"]) == ("f-band", "Proceed")
    assert (summary.json["fieldId"], summary.json["fieldValue"]) == (
        "f-summary",
        "\n".join(BULLETS),
    )
    [note] = ats_server.requests("POST", "/candidate.createNote")
    assert note.json["note"]["value"] == "Automated interview result (version 1)\nBand: Proceed"


def test_a_generic_ats_receives_the_canonical_result(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "generic")
    result = make_result(connection)

    relay_all(ats_server)

    [request] = ats_server.requests("POST", "/writebacks")
    body = request.json
    assert (body["type"], body["kind"], body["application_id"]) == (
        "screenbridge.writeback",
        "generic",
        "265277",
    )
    assert body["payload"]["result"]["band"] == "proceed"
    assert body["payload"]["result"]["profile_url"] == profile_url(result)


# -- admin -------------------------------------------------------------------------------------


def staff(*groups: str) -> Any:
    return UserFactory(is_staff=True, groups=list(groups))


def admin_url(view: str, *args: Any) -> str:
    return reverse(f"admin:interviews_writebackfieldmapping_{view}", args=args)


def form(connection: Any, **overrides: str) -> dict[str, str]:
    data = {
        "connection": str(connection.pk),
        "source": "band",
        "competency_key": "",
        "target_kind": "custom_fields",
        "target_key": "ai_band",
        "active": "on",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_a_hiring_ops_admin_lists_filters_and_adds_mappings(client, role_groups) -> None:
    greenhouse = AtsConnectionFactory(provider="greenhouse", name="Acme Greenhouse")
    lever = AtsConnectionFactory(provider="lever", name="Beta Lever")
    mapping(greenhouse, ResultField.BAND, WritebackKind.CUSTOM_FIELDS, "gh_band_key")
    mapping(lever, ResultField.BAND, WritebackKind.TAGS, "lever_label")
    client.force_login(staff(HIRING_OPS_ADMIN))

    page = client.get(admin_url("changelist"), {"connection__id__exact": greenhouse.pk})
    assert page.status_code == 200
    assert b"gh_band_key" in page.content
    assert b"lever_label" not in page.content

    response = client.post(admin_url("add"), form(greenhouse, target_key="ai_score"))
    assert response.status_code == 302
    assert WritebackFieldMapping.objects.filter(connection=greenhouse, target_key="ai_score")


def test_a_recruiter_cannot_see_or_change_mappings(client, role_groups) -> None:
    connection = AtsConnectionFactory()
    existing = mapping(connection, ResultField.BAND, WritebackKind.NOTE)
    client.force_login(staff(RECRUITER))

    assert client.get(admin_url("changelist")).status_code == 403
    assert client.get(admin_url("add")).status_code == 403
    assert client.post(admin_url("add"), form(connection)).status_code == 403
    assert client.get(admin_url("change", existing.pk)).status_code == 403
    assert client.post(admin_url("delete", existing.pk), {"post": "yes"}).status_code == 403
    assert WritebackFieldMapping.objects.count() == 1


def test_an_auditor_reads_mappings_but_cannot_change_them(client, role_groups) -> None:
    connection = AtsConnectionFactory()
    existing = mapping(connection, ResultField.BAND, WritebackKind.NOTE)
    client.force_login(staff(AUDITOR))

    assert client.get(admin_url("changelist")).status_code == 200
    detail = client.get(admin_url("change", existing.pk))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert client.get(admin_url("add")).status_code == 403


@pytest.mark.parametrize(
    ("provider", "overrides", "field", "message"),
    [
        (
            "lever",
            {},
            "target_kind",
            "cannot receive 'custom_fields' writes; it accepts: note, tags",
        ),
        ("greenhouse", {"target_kind": "assessment"}, "target_kind", "partner endpoints"),
        ("greenhouse", {"target_key": ""}, "target_key", "need the target key"),
        ("greenhouse", {"source": "competency_score"}, "competency_key", "Name the competency"),
        (
            "greenhouse",
            {"source": "competency_score", "competency_key": "nope"},
            "competency_key",
            "No interview plan has a competency with the key 'nope'.",
        ),
        ("greenhouse", {"competency_key": "empathy"}, "competency_key", "Only competency"),
        (
            "lever",
            {"target_kind": "tags", "source": "summary_bullets"},
            "source",
            "Only the completion status, band and scores can be tags",
        ),
        ("greenhouse", {"target_key": "taken"}, "target_key", "already receives"),
    ],
)
def test_impossible_mappings_get_a_clear_error_and_store_nothing(
    client, role_groups, provider, overrides, field, message
) -> None:
    connection = AtsConnectionFactory(provider=provider)
    mapping(connection, ResultField.OVERALL_SCORE, WritebackKind.CUSTOM_FIELDS, "taken")
    client.force_login(staff(HIRING_OPS_ADMIN))

    response = client.post(admin_url("add"), form(connection, **overrides))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert WritebackFieldMapping.objects.count() == 1
