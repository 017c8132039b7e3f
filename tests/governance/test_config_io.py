"""Configuration as code: export_config / apply_config (round trip, idempotence, audit, prune)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.config_io import ConfigError, apply_config, export_config
from governance.config_io.reference import reference_tables
from governance.models import AuditEvent, StopScope, StopSwitch
from governance.roles import HIRING_OPS_ADMIN
from integrations.models import AtsConnection, StageMapping
from interviews.models import Competency, InterviewPlan, PlanStatus, RoleFamily, Vendor
from tests.factories import (
    AtsConnectionFactory,
    CompetencyFactory,
    CompetencyScoreFactory,
    InterviewPlanFactory,
    RetentionPolicyFactory,
    StageMappingFactory,
    StopSwitchFactory,
    UserFactory,
    WritebackFieldMappingFactory,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "screenbridge.yaml"
EXAMPLE_ENV = (
    "ACME_WEBHOOK_SECRET",
    "ACME_API_KEY",
    "GREENHOUSE_WEBHOOK_SECRET",
    "GREENHOUSE_API_KEY",
    "GREENHOUSE_PARTNER_KEY",
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in EXAMPLE_ENV:
        monkeypatch.setenv(name, f"value-of-{name.lower()}")


@pytest.fixture
def ada(db: Any) -> Any:
    return UserFactory(username="ada")


def example() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def config_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="config.apply").order_by("pk"))


def test_example_applies_to_an_empty_database_and_exports_byte_identical(
    env: None, ada: Any
) -> None:
    assert not AtsConnection.objects.exists()
    result = apply_config(example(), actor=ada)

    assert result.counts == {"created": 16, "updated": 0, "pruned": 0}
    assert export_config().text == example()
    plan = InterviewPlan.objects.get(name="Customer Support screen v1")
    assert plan.vendor.slug == "acme-interviews"
    assert plan.status == PlanStatus.PILOT
    assert plan.activated_at is not None
    assert plan.pilot_review_share == Decimal("0.25")
    assert [c.key for c in plan.competencies.order_by("position")] == [
        "customer_empathy",
        "troubleshooting",
    ]
    connection = AtsConnection.objects.get(slug="greenhouse-prod")
    assert connection.webhook_secret() == "value-of-greenhouse_webhook_secret"
    assert StageMapping.objects.get(remote_stage_id="4471").canonical_stage == "offer"
    switch = StopSwitch.objects.get(active=True)
    assert (switch.scope, switch.vendor.slug, switch.switched_on_by) == (
        "vendor",
        "acme-interviews",
        ada,
    )


def test_applying_the_same_file_twice_changes_nothing_the_second_time(env: None, ada: Any) -> None:
    apply_config(example(), actor=ada)
    events = AuditEvent.objects.count()

    again = apply_config(example(), actor=ada)

    assert again.changes == []
    assert not again.changed
    assert AuditEvent.objects.count() == events


def test_round_trip_of_a_database_built_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEVER_KEY", "k")
    connection = AtsConnectionFactory(
        slug="lever", provider="lever", webhook_secret="", api_key_env="LEVER_KEY"
    )
    StageMappingFactory(connection=connection, remote_stage_id="s-1", remote_stage_name="Screen")
    WritebackFieldMappingFactory(connection=connection, target_key="band")
    plan = InterviewPlanFactory(
        vendor__webhook_secret="", borderline_margin=Decimal("2.5"), status=PlanStatus.LIVE
    )
    CompetencyFactory(plan=plan, key="b", weight=Decimal("0.75"), position=1)
    CompetencyFactory(plan=plan, key="a", weight=Decimal("2.00"), position=1)
    RetentionPolicyFactory(role_family=plan.role_family, data_category="recording")
    StopSwitchFactory(plan=plan)
    first = export_config().text
    actor = UserFactory(groups=[HIRING_OPS_ADMIN])

    StopSwitch.objects.all().delete()
    for model in (Competency, InterviewPlan):
        model.objects.all().delete()
    RoleFamily.objects.all().delete()  # cascades to retention policies
    Vendor.objects.all().delete()
    AtsConnection.objects.all().delete()
    # The live plan goes through the go-live gate; in an empty database its checklist fails,
    # so restoring it live takes the audited override.
    reason = "Restoring the production configuration into a new environment."
    apply_config(first, actor=actor, go_live_reason=reason)

    assert export_config().text == first
    assert apply_config(first, actor=actor).changes == []
    (event,) = AuditEvent.objects.filter(action="plan.go_live_override")
    assert event.actor == actor


def test_a_plan_goes_live_through_the_gate_or_nothing_is_applied(env: None) -> None:
    admin = UserFactory(groups=[HIRING_OPS_ADMIN])
    text = example().replace("    status: pilot", "    status: live")

    with pytest.raises(ConfigError) as refused:
        apply_config(text, actor=admin)  # the checklist fails and no reason is given

    assert "screenbridge.yaml:" in str(refused.value)
    assert "cannot go live" in str(refused.value)
    assert not InterviewPlan.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="plan.go_live").exists()


def test_dry_run_prints_the_diff_and_saves_nothing(env: None) -> None:
    text = example().replace("stop_switches:\n- scope: vendor", "stop_switches: []\n#")
    text = text.split("stop_switches: []")[0] + "stop_switches: []\n"

    result = apply_config(text, dry_run=True)

    assert "+ connections[greenhouse-prod]" in result.changes
    assert "    mode: 'sandbox'" in result.changes
    assert result.counts["created"] == 15
    assert not AtsConnection.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_change_is_diffed_and_audited_once_without_secrets(env: None, ada: Any) -> None:
    apply_config(example(), actor=ada)
    before = len(config_events())
    text = (
        example()
        .replace("mode: sandbox", "mode: live")
        .replace("    - name: proceed\n      min: 65", "    - name: proceed\n      min: 70")
    )

    result = apply_config(text, actor=ada, filename="prod.yaml")

    assert result.changes == [
        "~ connections[greenhouse-prod].mode: 'sandbox' -> 'live'",
        "~ role_families[customer-support].plans[Customer Support screen v1].bands: "
        "[{'name': 'strong', 'min': 80}, {'name': 'proceed', 'min': 65}, "
        "{'name': 'borderline', 'min': 50}, {'name': 'insufficient_evidence', 'min': 0}] -> "
        "[{'name': 'strong', 'min': 80}, {'name': 'proceed', 'min': 70}, "
        "{'name': 'borderline', 'min': 50}, {'name': 'insufficient_evidence', 'min': 0}]",
    ]
    events = config_events()
    assert len(events) == before + 1
    event = events[-1]
    assert (event.actor, event.object_type, event.object_repr) == (ada, "config", "prod.yaml")
    assert event.changes["updated"] == 2
    assert event.changes["diff"] == result.changes
    assert "value-of-" not in str(event.changes)


def test_encrypted_secrets_are_exported_as_placeholders_never_in_clear() -> None:
    AtsConnectionFactory(slug="gh-eu", webhook_secret="s3cret-value-123")

    result = export_config()

    assert "s3cret-value-123" not in result.text
    line = next(line for line in result.text.splitlines() if "webhook_secret_env" in line)
    assert line.startswith(
        "  webhook_secret_env: SCREENBRIDGE_ATS_GH_EU_WEBHOOK_SECRET  # PLACEHOLDER"
    )
    assert result.placeholders == {
        "SCREENBRIDGE_ATS_GH_EU_WEBHOOK_SECRET": "connection gh-eu: webhook_secret"
    }


def test_a_placeholder_applies_once_the_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = AtsConnectionFactory(slug="gh-eu", webhook_secret="s3cret")
    text = export_config().text
    with pytest.raises(ConfigError, match="SCREENBRIDGE_ATS_GH_EU_WEBHOOK_SECRET is not set"):
        apply_config(text)

    monkeypatch.setenv("SCREENBRIDGE_ATS_GH_EU_WEBHOOK_SECRET", "from-env")
    apply_config(text)

    connection.refresh_from_db()
    assert connection.webhook_secret_env == "SCREENBRIDGE_ATS_GH_EU_WEBHOOK_SECRET"
    assert connection.webhook_secret() == "from-env"


def test_absent_objects_are_left_alone_unless_pruned(env: None, ada: Any) -> None:
    apply_config(example(), actor=ada)
    extra = StageMappingFactory(
        connection=AtsConnection.objects.get(slug="greenhouse-prod"),
        remote_stage_id="",
        remote_stage_name="Extra",
    )
    other = AtsConnectionFactory(slug="old-ats")

    assert apply_config(example(), actor=ada).changes == []
    assert StageMapping.objects.filter(pk=extra.pk).exists()

    text = example().replace(
        "  - remote_stage_id: ''\n    remote_stage_name: Phone Screen\n"
        "    canonical_stage: recruiter_screen\n",
        "",
    )
    text = text.split("stop_switches:")[0] + "stop_switches: []\n"
    result = apply_config(text, prune=True, actor=ada)

    assert set(result.changes) == {
        "- connections[greenhouse-prod].stage_mappings[Extra]",
        "- connections[greenhouse-prod].stage_mappings[Phone Screen]",
        "- connections[old-ats].active: True -> False (not in the file)",
        "- stop_switches[vendor acme-interviews] (switched off: not in the file)",
    }
    assert result.counts["pruned"] == 4
    # A list left out of the file is not pruned.
    without_sections = text.split("role_families:")[0]
    assert apply_config(without_sections, prune=True, actor=ada).changes == []
    other.refresh_from_db()
    assert not other.active
    assert not StopSwitch.objects.filter(active=True).exists()
    assert AuditEvent.objects.filter(action="stop_switch.off").count() == 1


def test_a_competency_with_scores_is_not_pruned() -> None:
    score = CompetencyScoreFactory(
        result__interview__plan__vendor__webhook_secret="",
        result__interview__application__connection__webhook_secret="",
    )
    CompetencyFactory(plan=score.competency.plan, key="kept")
    text = export_config().text
    competency_line = f"    - key: {score.competency.key}\n"
    start = text.index(competency_line)
    end = text.index("    - key: kept")
    trimmed = text[:start] + text[end:]

    with pytest.raises(ConfigError, match=r"competencies\[.*\]: cannot be removed \(--prune\)"):
        apply_config(trimmed, prune=True)

    assert export_config().text == text


def test_switching_a_stop_switch_on_needs_an_actor(env: None) -> None:
    with pytest.raises(ConfigError, match="needs --actor USERNAME") as caught:
        apply_config(example())

    assert caught.value.problems[0].line == example().splitlines().index("- scope: vendor") + 1
    assert not StopSwitch.objects.exists()
    assert not Vendor.objects.exists()


def test_one_file_can_pause_a_plan_and_put_another_live() -> None:
    live = InterviewPlanFactory(vendor__webhook_secret="", name="Old")
    InterviewPlanFactory(
        role_family=live.role_family, vendor=live.vendor, name="New", status=PlanStatus.DRAFT
    )
    text = export_config().text
    text = text.replace("status: live", "status: STATUS_OLD").replace(
        "status: draft", "status: live"
    )
    text = text.replace("STATUS_OLD", "paused")

    apply_config(
        text,
        actor=UserFactory(groups=[HIRING_OPS_ADMIN]),
        go_live_reason="Replacing the old plan during the vendor migration.",
    )

    statuses = dict(InterviewPlan.objects.values_list("name", "status"))
    assert statuses == {"Old": "paused", "New": "live"}


def test_global_and_plan_stop_switches_round_trip(ada: Any) -> None:
    plan = InterviewPlanFactory(vendor__webhook_secret="")
    StopSwitchFactory(scope=StopScope.GLOBAL, plan=None, reason="Everything off")
    StopSwitchFactory(plan=plan, reason="Plan off")
    text = export_config().text
    StopSwitch.objects.all().delete()

    apply_config(text, actor=ada)

    assert export_config().text == text
    assert StopSwitch.objects.filter(active=True, switched_on_by=ada).count() == 2


def test_commands(tmp_path: Path, env: None, ada: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "screenbridge.yaml"
    path.write_text(example(), encoding="utf-8")

    call_command("apply_config", str(path), "--dry-run", "--actor", "ada")
    assert "Dry run: 16 created" in capsys.readouterr().out
    assert not AtsConnection.objects.exists()

    call_command("apply_config", str(path), "--actor", "ada")
    assert "Applied: 16 created, 0 updated, 0 pruned." in capsys.readouterr().out

    call_command("export_config")
    assert capsys.readouterr().out == example()

    call_command("apply_config", str(path))
    assert "No changes" in capsys.readouterr().out

    path.write_text(example().replace("mode: sandbox", "mode: sometimes"), encoding="utf-8")
    line = example().splitlines().index("  mode: sandbox") + 1
    with pytest.raises(CommandError, match=rf"Nothing applied; 1 problem\(s\):\n{path}:{line}: "):
        call_command("apply_config", str(path))

    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("apply_config", str(path), "--actor", "nobody")


def test_commands_with_an_output_file_and_stdin(
    tmp_path: Path, env: None, ada: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(example()))
    call_command("apply_config", "-", "--actor", "ada", stdout=io.StringIO())
    out = tmp_path / "out.yaml"

    call_command("export_config", "-o", str(out), stderr=io.StringIO())

    assert out.read_text(encoding="utf-8") == example()


def test_every_key_is_documented() -> None:
    docs = (EXAMPLE.parents[1] / "configuration.md").read_text(encoding="utf-8")

    for table in reference_tables():
        assert table in docs, f"docs/configuration.md is missing or has an outdated:\n{table}"
