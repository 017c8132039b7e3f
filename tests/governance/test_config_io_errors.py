"""A broken configuration file applies nothing, and every problem names its file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governance.config_io import ConfigError, apply_config, export_config
from governance.models import AuditEvent
from tests.factories import UserFactory

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "screenbridge.yaml"
ENV = (
    "ACME_WEBHOOK_SECRET",
    "ACME_API_KEY",
    "GREENHOUSE_WEBHOOK_SECRET",
    "GREENHOUSE_API_KEY",
    "GREENHOUSE_PARTNER_KEY",
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> str:
    """The example, applied; returns its text."""
    for name in ENV:
        monkeypatch.setenv(name, "x")
    text = EXAMPLE.read_text(encoding="utf-8")
    apply_config(text, actor=UserFactory())
    return text


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line number of the ``occurrence``-th line containing ``fragment``."""
    hits = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    return hits[occurrence - 1]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


# (name, edit of the example, fragment of the line the problem is on, message fragment)
CASES: list[tuple[str, Any, str, str]] = [
    (
        "unknown stage",
        lambda t: replace_once(t, "canonical_stage: offer", "canonical_stage: interview_day"),
        "canonical_stage: interview_day",
        "Value 'interview_day' is not a valid choice",
    ),
    (
        "thresholds out of order",
        lambda t: replace_once(t, "      min: 50", "      min: 70"),
        "    - name: borderline",
        "cuts must be in strictly descending order (70 follows 65)",
    ),
    (
        "missing environment variable",
        lambda t: replace_once(t, "api_key_env: ACME_API_KEY", "api_key_env: ACME_KEY_UNSET"),
        "api_key_env: ACME_KEY_UNSET",
        "environment variable ACME_KEY_UNSET is not set",
    ),
    (
        "unknown key",
        lambda t: replace_once(t, "  kind: generic_http", "  kind: generic_http\n  colour: blue"),
        "colour: blue",
        "unknown key 'colour' in a vendor",
    ),
    (
        "wrong type",
        lambda t: replace_once(t, "expiry_days: 5", "expiry_days: five"),
        "expiry_days: five",
        "expiry_days must be whole number, got str 'five'",
    ),
    (
        "duplicate key",
        lambda t: replace_once(t, "  mode: sandbox", "  mode: sandbox\n  mode: live"),
        "mode: live",
        "duplicate key 'mode' (first on line",
    ),
    (
        "YAML syntax error",
        lambda t: replace_once(t, "  name: Acme Interviews", "  name: [Acme Interviews"),
        "  kind: generic_http",
        "YAML syntax error",
    ),
    (
        "unknown vendor reference",
        lambda t: replace_once(
            t, "vendor: acme-interviews\n    vendor_test_id", "vendor: nobody\n    vendor_test_id"
        ),
        "vendor: nobody",
        "no vendor with slug 'nobody'",
    ),
    (
        "missing required key",
        lambda t: replace_once(t, "  provider: greenhouse\n", ""),
        "- slug: greenhouse-prod",
        "a connection needs the key 'provider'",
    ),
    (
        "listed twice",
        lambda t: replace_once(
            t,
            "  - remote_stage_id: ''\n    remote_stage_name: Phone Screen",
            "  - remote_stage_name: phone  SCREEN\n    remote_stage_id: ''",
        ).replace(
            "    remote_stage_name: Automated Interview", "    remote_stage_name: Phone Screen"
        ),
        "- remote_stage_name: phone  SCREEN",
        "listed twice (first on line",
    ),
    (
        "bad regular expression",
        lambda t: replace_once(t, r"title_pattern: (?i)\bsupport\b", "title_pattern: (unclosed"),
        "title_pattern: (unclosed",
        "Not a valid regular expression",
    ),
    (
        "two running plans for one stage",
        lambda t: t,  # replaced below: needs a second plan
        "",
        "",
    ),
    (
        "plan taken live outside the readiness gate",
        lambda t: replace_once(t, "    status: pilot", "    status: live"),
        "    status: live",
        "taking a plan live needs --actor USERNAME",
    ),
    (
        "wrong version",
        lambda t: replace_once(t, "version: 1", "version: 2"),
        "version: 2",
        "version must be 1",
    ),
    (
        "unknown section",
        lambda t: t + "pipelines: []\n",
        "pipelines: []",
        "unknown section 'pipelines'",
    ),
]
CASES = [case for case in CASES if case[0] != "two running plans for one stage"]


@pytest.mark.parametrize(("name", "edit", "fragment", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_file_applies_nothing_and_names_the_line(
    applied: str, name: str, edit: Any, fragment: str, message: str
) -> None:
    # A valid change rides along: it must not be applied either.
    broken = edit(applied.replace("name: Greenhouse (production)", "name: Greenhouse EU"))
    before, events = export_config().text, AuditEvent.objects.count()

    with pytest.raises(ConfigError) as caught:
        apply_config(broken, filename="broken.yaml")

    expected_line = line_of(broken, fragment)
    assert f"broken.yaml:{expected_line}: " in str(caught.value)
    assert message in str(caught.value)
    assert export_config().text == before
    assert AuditEvent.objects.count() == events


def test_all_problems_of_a_file_are_reported_together(applied: str) -> None:
    broken = applied
    broken = replace_once(broken, "canonical_stage: offer", "canonical_stage: interview_day")
    broken = replace_once(broken, "      min: 50", "      min: 70")
    broken = replace_once(broken, "api_key_env: ACME_API_KEY", "api_key_env: ACME_KEY_UNSET")
    broken = replace_once(broken, "  kind: generic_http", "  kind: generic_http\n  colour: blue")
    broken = replace_once(broken, "expiry_days: 5", "expiry_days: five")
    before = export_config().text

    with pytest.raises(ConfigError) as caught:
        apply_config(broken, filename="broken.yaml")

    lines = [problem.line for problem in caught.value.problems]
    assert lines == sorted(
        [
            line_of(broken, "api_key_env: ACME_KEY_UNSET"),
            line_of(broken, "colour: blue"),
            line_of(broken, "canonical_stage: interview_day"),
            line_of(broken, "expiry_days: five"),
        ]
    )
    assert export_config().text == before


def test_a_second_running_plan_for_the_same_stage_is_refused(applied: str) -> None:
    plan_start = applied.index("  - name: Customer Support screen v1")
    plan_end = applied.index("retention_policies:")
    second = applied[plan_start:plan_end].replace("screen v1", "screen v2")
    broken = applied[:plan_end] + second + applied[plan_end:]
    before = export_config().text

    with pytest.raises(ConfigError) as caught:
        apply_config(broken, filename="broken.yaml")

    line = line_of(broken, "  - name: Customer Support screen v2")
    assert f"broken.yaml:{line}: " in str(caught.value)
    assert "interviewplan_one_running_per_stage" in str(caught.value)

    assert export_config().text == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "must be a mapping of sections"),
        ("x: [\n", "YAML syntax error"),
        ("version: 1\nvendors: &v []\nconnections: *v\n", "anchors and aliases"),
        ("version: 1\nvendors: &v [*v]\n", "anchors and aliases"),
    ],
)
def test_files_that_are_not_configuration(db: Any, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_config(text, filename="f.yaml")
