"""Go-live readiness: the checklist a plan must pass to move from ``pilot`` to ``live``.

Each item is one small function in :data:`CHECKS`: it takes the plan and returns a
:class:`CheckResult` (key, name, passed, message, details). :func:`readiness_evaluate` runs them
all; ``services.golive.plan_go_live`` refuses to go live while any fails (unless an admin
overrides with a written reason, which is audited), the readiness page shows them and
``manage.py rehearse`` prints them at the end.

Adding an item is a few lines::

    def calibration_reached_agreement(plan: InterviewPlan) -> CheckResult:
        name = "Calibration reached agreement"
        ...
        return CheckResult("calibration", name, passed, message, details)

    CHECKS.append(calibration_reached_agreement)

A check that raises counts as failed (its message says so): a broken check never lets a plan
through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from governance.calibration import latest_alpha_by_competency
from governance.compliance import plan_jurisdiction_gaps
from governance.metrics import MetricsFilters, compute
from governance.selectors import data_category_labels, retention_categories_covered
from governance.stats import ALPHA_TENTATIVE
from integrations.models import (
    AtsConnection,
    CanonicalStage,
    Requisition,
    RequisitionStatus,
    UnmappedStage,
)
from interviews.models import InterviewPlan, InterviewResult, LaunchMode, RehearsalOutcome
from interviews.selectors import rehearsal_latest, role_family_live_connections
from interviews.services.writeback import mapping_signature

logger = logging.getLogger(__name__)

__all__ = [
    "CHECKS",
    "CheckResult",
    "Readiness",
    "calibration_reached_agreement",
    "field_mappings_rehearsed",
    "jurisdictions_registered",
    "pilot_metrics_sufficient",
    "plan_data_categories",
    "readiness_evaluate",
    "retention_covers_artifacts",
    "trigger_path_mapped",
]


@dataclass(frozen=True)
class CheckResult:
    """One checklist item's verdict: ``message`` says why in one sentence, ``details`` list
    what to fix (or what was checked)."""

    key: str
    name: str
    passed: bool
    message: str
    details: tuple[str, ...] = ()


Check = Callable[[InterviewPlan], CheckResult]


@dataclass(frozen=True)
class Readiness:
    """All checklist items of one plan."""

    plan: InterviewPlan
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failing(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def summary(self) -> str:
        """One line naming every failing item, or saying all passed."""
        if self.passed:
            return f"All {len(self.results)} readiness checks pass."
        return "Not ready: " + "; ".join(f"{r.name} — {r.message}" for r in self.failing)


def readiness_evaluate(plan: InterviewPlan, checks: Iterable[Check] | None = None) -> Readiness:
    """Run every check (default :data:`CHECKS`) on ``plan``."""
    results = []
    for check in CHECKS if checks is None else checks:
        try:
            results.append(check(plan))
        except Exception as exc:
            logger.exception("readiness check %s failed on plan %s", check.__name__, plan.pk)
            name = check.__name__.replace("_", " ").capitalize()
            results.append(
                CheckResult(check.__name__, name, False, f"The check itself failed: {exc}")
            )
    return Readiness(plan, tuple(results))


def _serving(plan: InterviewPlan) -> list[AtsConnection]:
    return list(role_family_live_connections(role_family=plan.role_family).order_by("name"))


def _no_connection(key: str, name: str, plan: InterviewPlan) -> CheckResult:
    return CheckResult(
        key,
        name,
        False,
        f"No live ATS connection has requisitions in “{plan.role_family}”, so nothing would "
        "reach the plan.",
    )


# -- the items ---------------------------------------------------------------------------------


def trigger_path_mapped(plan: InterviewPlan) -> CheckResult:
    """Each live connection of the family maps a remote stage to the trigger stage, and has
    no remote stage waiting unmapped (a candidate there could pass the trigger unseen)."""
    key, name = "trigger_path_mapped", "Every stage on the trigger path is mapped"
    connections = _serving(plan)
    if not connections:
        return _no_connection(key, name, plan)
    trigger = CanonicalStage(plan.trigger_stage).label
    problems = []
    for connection in connections:
        if (
            plan.launch_mode == LaunchMode.STAGE_CHANGE
            and not connection.stage_mappings.filter(canonical_stage=plan.trigger_stage).exists()
        ):
            problems.append(f"{connection.name}: no remote stage maps to the trigger “{trigger}”.")
        problems.extend(
            f"{connection.name}: stage “{stage.remote_stage_name or stage.remote_stage_id}” is "
            f"not mapped (seen {stage.seen_count}×)."
            for stage in UnmappedStage.objects.filter(
                connection=connection, resolved_at__isnull=True
            ).order_by("remote_stage_name", "remote_stage_id")
        )
    names = ", ".join(c.name for c in connections)
    if problems:
        message = f"{len(problems)} stage problem(s) on {names}."
    else:
        message = f"The trigger “{trigger}” is mapped and no stage is unmapped on {names}."
    return CheckResult(key, name, not problems, message, tuple(problems))


def field_mappings_rehearsed(plan: InterviewPlan) -> CheckResult:
    """Per live connection: the newest completed rehearsal that mirrored it wrote every
    active field mapping it has now, for at least one candidate, and rejected none."""
    key, name = "field_mappings_rehearsed", "Every field mapping was exercised by a rehearsal"
    connections = _serving(plan)
    if not connections:
        return _no_connection(key, name, plan)
    problems = []
    checked = []
    command = f"manage.py rehearse --role-family {plan.role_family.slug}"
    for connection in connections:
        run = rehearsal_latest(plan=plan, mirrored_connection=connection)
        if run is None:
            problems.append(
                f"{connection.name}: no completed rehearsal yet — run "
                f"`{command} --connection {connection.slug}`."
            )
            continue
        rows = list(run.candidates.filter(outcome=RehearsalOutcome.COMPLETED))
        rejected = [row for row in rows if row.rejected]
        for row in rejected[:5]:
            reasons = "; ".join(m["problem"] for m in row.mappings if not m["written"])
            problems.append(f"{connection.name}, rehearsal #{run.pk}, {row.name}: {reasons}")
        if len(rejected) > 5:
            problems.append(f"… and {len(rejected) - 5} more candidate(s) with rejected writes.")
        if not any(row.writebacks for row in rows):
            problems.append(
                f"{connection.name}: rehearsal #{run.pk} wrote nothing back for any candidate."
            )
        written = {tuple(m["signature"]) for row in rows for m in row.mappings if m.get("written")}
        problems.extend(
            f"{connection.name}: mapping “{mapping}” was not exercised by rehearsal "
            f"#{run.pk} (added or changed since?) — rehearse again."
            for mapping in connection.field_mappings.filter(active=True)
            if mapping_signature(mapping) not in written
        )
        checked.append(f"{connection.name}: rehearsal #{run.pk}, {len(rows)} result(s)")
    message = (
        f"{len(problems)} problem(s) with the writebacks."
        if problems
        else "The latest rehearsals wrote every field mapping and rejected none."
    )
    return CheckResult(key, name, not problems, message, tuple(problems or checked))


# Artifact kinds a result can link to, by the result field holding the link.
ARTIFACT_FIELDS = {
    "transcript": "transcript_url",
    "recording": "recording_url",
    "report": "report_url",
}


def plan_data_categories(plan: InterviewPlan) -> dict[str, str]:
    """The retention data categories the plan produces, each with why.

    Always: candidate personal data (synced from the ATS), raw webhook bodies (stored before
    processing) and raw vendor payloads (kept with each result). Artifacts: the kinds the
    vendor's settings declare in ``"artifacts"`` (e.g. ``["transcript", "report"]``), else the
    transcript and report the vendor protocol sends; plus any kind a result of the plan
    (rehearsals included) actually links to.
    """
    produced = {
        "candidate_pii": "candidates are synced from the ATS",
        "inbound_event": "ATS webhook bodies are stored before processing",
        "raw_vendor_payload": "each result keeps the vendor's payload",
    }
    declared = (plan.vendor.settings or {}).get("artifacts")
    if isinstance(declared, list):
        for kind in declared:
            if kind in ARTIFACT_FIELDS:
                produced[kind] = "the vendor's settings declare it"
    else:
        produced["transcript"] = "the vendor protocol sends transcripts"
        produced["report"] = "the vendor protocol sends report links"
    results = InterviewResult.objects.filter(interview__plan=plan)
    for kind, field in ARTIFACT_FIELDS.items():
        if kind not in produced and results.exclude(**{field: ""}).exists():
            produced[kind] = "results of this plan link to it"
    return produced


def retention_covers_artifacts(plan: InterviewPlan) -> CheckResult:
    """An active retention policy (for the family or global) covers each category produced."""
    key, name = "retention_covers_artifacts", "Retention policies cover every artifact kind"
    produced = plan_data_categories(plan)
    covered = retention_categories_covered(role_family=plan.role_family)
    labels = data_category_labels()
    missing = [
        f"{labels.get(category, category)}: no active retention policy ({why})."
        for category, why in produced.items()
        if category not in covered
    ]
    kinds = ", ".join(labels.get(category, category) for category in produced)
    message = (
        f"{len(missing)} of {len(produced)} data categories have no retention policy."
        if missing
        else f"Each category the plan produces has a retention policy: {kinds}."
    )
    return CheckResult(key, name, not missing, message, tuple(missing))


def calibration_reached_agreement(plan: InterviewPlan) -> CheckResult:
    """The plan's latest completed calibration session reached Krippendorff's ordinal alpha of
    at least 0.667 on every competency the plan scores."""
    key, name = "calibration_reached_agreement", "Calibration reached agreement on every competency"
    alphas = latest_alpha_by_competency(plan)
    competencies = list(plan.competencies.order_by("position", "pk").values_list("key", "name"))
    if not alphas:
        return CheckResult(
            key,
            name,
            False,
            "No completed calibration session on this plan: run one (30 or more results "
            "recommended) before going live.",
        )
    below = []
    checked = []
    for competency_key, competency_name in competencies:
        alpha = alphas.get(competency_key)
        if alpha is None:
            below.append(f"{competency_name}: not enough ratings to compute alpha.")
        elif alpha < ALPHA_TENTATIVE:
            below.append(f"{competency_name}: α = {alpha:.3f}, below {ALPHA_TENTATIVE}.")
        else:
            checked.append(f"{competency_name}: α = {alpha:.3f}.")
    if below:
        message = (
            f"{len(below)} of {len(competencies)} competencies are below α {ALPHA_TENTATIVE} "
            "in the latest calibration session."
        )
        return CheckResult(key, name, False, message, tuple(below))
    return CheckResult(
        key,
        name,
        True,
        f"Every competency reached α ≥ {ALPHA_TENTATIVE} in the latest calibration session.",
        tuple(checked),
    )


def jurisdictions_registered(plan: InterviewPlan) -> CheckResult:
    """The jurisdiction requirements of the family's requisitions on live connections are
    registered: consent asked for Illinois, a current bias audit for NYC (per-candidate
    consent and notice are then checked at each launch)."""
    key, name = "jurisdictions_registered", "Jurisdiction requirements are registered"
    requisitions = Requisition.objects.filter(
        connection__in=_serving(plan),
        role_family_membership__role_family=plan.role_family,
    ).exclude(status=RequisitionStatus.CLOSED)
    places, gaps = plan_jurisdiction_gaps(plan=plan, requisitions=requisitions)
    where = ", ".join(f"{code}: {count}" for code, count in sorted(places.items()))
    if gaps:
        return CheckResult(
            key, name, False, f"{len(gaps)} requirement(s) missing ({where}).", tuple(gaps)
        )
    message = (
        f"Registered for every jurisdiction of the open requisitions ({where}); consent and "
        "notice are checked per candidate at launch."
        if places
        else "No open requisition is in a jurisdiction with AI-interview rules (il, nyc)."
    )
    return CheckResult(key, name, True, message)


def _hours(durations: Any) -> str:
    return "—" if durations.median is None else f"median {durations.median:.1f} h"


def _percent(rate: Any) -> str:
    return "—" if rate.percent is None else f"{rate.percent:.1f} %"


def pilot_metrics_sufficient(plan: InterviewPlan) -> CheckResult:
    """The pilot has completed interviews for at least ``SCREENBRIDGE_GO_LIVE_MIN_PILOT`` real
    candidates since the plan started; its metrics are shown beside the baseline."""
    key, name = "pilot_metrics_sufficient", "Pilot metrics cover enough candidates"
    minimum = settings.SCREENBRIDGE_GO_LIVE_MIN_PILOT
    started = plan.activated_at or plan.created_at
    report = compute(
        MetricsFilters(
            since=timezone.localdate(started),
            until=timezone.localdate(),
            role_family_id=plan.role_family_id,
        )
    )
    pilot, baseline = report.pilot, report.baseline
    completion = pilot.completion
    completed = completion.completed if completion else 0
    details = (
        f"Completion: {_percent(completion.rate) if completion else '—'} "
        f"({completed} of {completion.invited if completion else 0} invited).",
        f"Time to screen: pilot {_hours(pilot.time_to_screen_hours)} vs baseline "
        f"{_hours(baseline.time_to_screen_hours)}.",
        f"Override rate: {_percent(pilot.overrides.rate) if pilot.overrides else '—'}.",
        f"Sync: {_percent(report.sync.failed_once_rate)} of writebacks failed at least once.",
    )
    if completed < minimum:
        message = (
            f"{completed} completed pilot interviews since {timezone.localdate(started)}; "
            f"at least {minimum} are needed to judge the pilot against its baseline."
        )
        return CheckResult(key, name, False, message, details)
    message = f"{completed} completed pilot interviews (minimum {minimum}), beside the baseline."
    return CheckResult(key, name, True, message, details)


# The checklist, in the order it is shown.
CHECKS: list[Check] = [
    trigger_path_mapped,
    field_mappings_rehearsed,
    retention_covers_artifacts,
    calibration_reached_agreement,
    jurisdictions_registered,
    pilot_metrics_sufficient,
]
