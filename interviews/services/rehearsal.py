"""Rehearsal runs: synthetic candidates through the whole pipeline, nothing sent anywhere.

:func:`rehearsal_run` (``manage.py rehearse``) rehearses one plan of a role family:

1. **Sandbox connection** ``rehearsal-<family slug>``: created or reused, always in sandbox mode
   (a connection of that slug in live mode is refused). It *mirrors* one live connection that
   serves the family (``--connection``, else the one with most of the family's requisitions):
   same provider, and copies of its stage mappings and writeback field mappings, so the run
   exercises exactly what going live would use. Without a live connection it is a generic
   sandbox with one stage mapped to the plan's trigger stage.
2. **Synthetic candidates** (``Candidate.is_synthetic``) on that connection only, one
   application each on the family's rehearsal requisition, named and assigned a rehearsal
   vendor sample from a seeded random generator (``--seed``): the same seed gives the same
   candidates, samples, bands and writebacks. They are never launched by stage changes and are
   kept off metrics.
3. **The real path** for each: ``stage_change_apply`` moves the application into the remote
   stage mapped to the trigger stage (as a webhook would), the interview is launched with the
   **rehearsal vendor** (never the plan's own vendor) whatever the plan's status, and the Celery
   tasks run in-process: invitation, the vendor's scripted result, bands, flags, review
   routing and writeback composition. The outbox records the writebacks as ``sandboxed``;
   nothing leaves the process (the connectors refuse sandbox writes as well).
4. **What happened** to each candidate is stored as a :class:`RehearsalCandidate`: score, band
   and how the score mapped to it, review reason, the would-be ATS payloads, and each mirrored
   field mapping with whether it wrote a value (else it is *rejected*, with the reason).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from integrations.connectors.base import CandidateData, RequisitionData, StageChange
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    Provider,
    Requisition,
    StageMapping,
    WritebackJob,
    WritebackStatus,
)
from integrations.services.stage_sync import stage_change_apply
from interviews.demo.data import FIRST_NAMES, LAST_NAMES
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewResult,
    LaunchSource,
    MembershipSource,
    PlanStatus,
    RehearsalCandidate,
    RehearsalOutcome,
    RehearsalRun,
    RehearsalStatus,
    ReviewTask,
    RoleFamily,
    RoleFamilyMembership,
    Vendor,
    VendorEvent,
    VendorKind,
)
from interviews.scoring import band_reasoning
from interviews.selectors import role_family_live_connections
from interviews.services.launch import interview_launch
from interviews.services.results import score_number
from interviews.services.writeback import mapping_signature, result_mapping_outcomes
from interviews.vendors.rehearsal import DEFAULT_SAMPLES, delivery_id_for

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_CANDIDATES",
    "RehearsalError",
    "rehearsal_plan_for",
    "rehearsal_run",
    "rehearsal_vendor_get",
]

MAX_CANDIDATES = 500
SANDBOX_PREFIX = "rehearsal-"
DEFAULT_VENDOR_SLUG = "rehearsal"
SYNTHETIC_DOMAIN = "rehearsal.invalid"
# Which plan of a family a rehearsal picks when none is named: the one about to go live first.
PLAN_PREFERENCE = [PlanStatus.PILOT, PlanStatus.DRAFT, PlanStatus.LIVE, PlanStatus.PAUSED]

Progress = Callable[[str], None]


class RehearsalError(Exception):
    """A rehearsal that cannot run as asked (unknown plan, a live connection in the way...)."""


# -- what to rehearse --------------------------------------------------------------------------


def rehearsal_plan_for(*, role_family: RoleFamily, plan_id: int | None = None) -> InterviewPlan:
    """The plan to rehearse: ``plan_id`` (of this family), else pilot, draft, live, paused."""
    plans = InterviewPlan.objects.filter(role_family=role_family).select_related("vendor")
    if plan_id is not None:
        plan = plans.filter(pk=plan_id).first()
        if plan is None:
            raise RehearsalError(f"role family {role_family.slug} has no plan #{plan_id}")
        return plan
    for status in PLAN_PREFERENCE:
        plan = plans.filter(status=status).order_by("-updated_at", "-pk").first()
        if plan is not None:
            return plan
    raise RehearsalError(f"role family {role_family.slug} has no interview plan to rehearse")


def rehearsal_vendor_get(*, slug: str | None = None) -> Vendor:
    """The rehearsal vendor: ``slug``, else the first active one, else a new ``rehearsal``."""
    vendors = Vendor.objects.filter(kind=VendorKind.REHEARSAL)
    if slug:
        vendor = vendors.filter(slug=slug).first()
        if vendor is None:
            raise RehearsalError(f"no rehearsal vendor with slug {slug!r}")
        return vendor
    vendor = vendors.filter(active=True).order_by("pk").first()
    if vendor is not None:
        return vendor
    if Vendor.objects.filter(slug=DEFAULT_VENDOR_SLUG).exists():
        raise RehearsalError(
            f"vendor {DEFAULT_VENDOR_SLUG!r} exists but is not an active rehearsal vendor"
        )
    return Vendor.objects.create(
        slug=DEFAULT_VENDOR_SLUG, name="Rehearsal vendor", kind=VendorKind.REHEARSAL
    )


def _mirror_for(role_family: RoleFamily, slug: str | None) -> AtsConnection | None:
    serving = role_family_live_connections(role_family=role_family)
    if slug:
        mirror = serving.filter(slug=slug).first()
        if mirror is None:
            raise RehearsalError(
                f"{slug!r} is not a live connection with requisitions in {role_family.slug}"
            )
        return mirror
    return (
        serving.annotate(family_requisitions=Count("requisitions"))
        .order_by("-family_requisitions", "pk")
        .first()
    )


# -- the sandbox -------------------------------------------------------------------------------


def _sandbox_for(
    role_family: RoleFamily, plan: InterviewPlan, mirror: AtsConnection | None
) -> AtsConnection:
    """The family's rehearsal connection, in sandbox mode, mirroring ``mirror``'s mappings."""
    slug = f"{SANDBOX_PREFIX}{role_family.slug}"[:64]
    connection = AtsConnection.objects.select_for_update().filter(slug=slug).first()
    provider = mirror.provider if mirror is not None else Provider.GENERIC
    if connection is None:
        connection = AtsConnection.objects.create(
            slug=slug,
            name=f"Rehearsal: {role_family.name}"[:200],
            provider=provider,
            mode=ConnectionMode.SANDBOX,
            settings={"rehearsal_for": role_family.slug},
        )
    elif not connection.is_sandbox:
        raise RehearsalError(
            f"connection {slug} exists in {connection.mode} mode; rehearsals only use sandbox "
            "connections, so rename it or switch it to sandbox"
        )
    elif connection.provider != provider:
        connection.provider = provider
        connection.save(update_fields=["provider", "updated_at"])
    # Mirror the live connection's mappings exactly (rows removed there go here too).
    connection.stage_mappings.all().delete()
    connection.field_mappings.all().delete()
    if mirror is None:
        StageMapping.objects.create(
            connection=connection,
            remote_stage_name=f"Rehearsal: {CanonicalStage(plan.trigger_stage).label}",
            canonical_stage=plan.trigger_stage,
        )
    else:
        _copy_rows(mirror.stage_mappings.all(), connection, STAGE_MAPPING_FIELDS)
        _copy_rows(mirror.field_mappings.all(), connection, FIELD_MAPPING_FIELDS)
    return connection


STAGE_MAPPING_FIELDS = (
    "remote_stage_id",
    "remote_stage_name",
    "normalized_name",
    "canonical_stage",
)
FIELD_MAPPING_FIELDS = ("source", "competency_key", "target_kind", "target_key", "active")


def _copy_rows(rows: QuerySet[Any], connection: AtsConnection, fields: tuple[str, ...]) -> None:
    """Copy mapping rows of another connection onto ``connection`` (the given fields only)."""
    rows.model.objects.bulk_create(
        rows.model(connection=connection, **{field: getattr(row, field) for field in fields})
        for row in rows
    )


def _rehearsal_requisition(connection: AtsConnection, role_family: RoleFamily) -> Requisition:
    requisition, _ = Requisition.objects.get_or_create(
        connection=connection,
        remote_id=f"{SANDBOX_PREFIX}{role_family.slug}"[:100],
        defaults={"title": f"{role_family.name} (rehearsal)"[:300]},
    )
    RoleFamilyMembership.objects.update_or_create(
        requisition=requisition,
        defaults={"role_family": role_family, "source": MembershipSource.MANUAL},
    )
    return requisition


def _trigger_stage_mapping(connection: AtsConnection, plan: InterviewPlan) -> StageMapping | None:
    return (
        connection.stage_mappings.filter(canonical_stage=plan.trigger_stage)
        .order_by("remote_stage_name", "remote_stage_id", "pk")
        .first()
    )


# -- the run -----------------------------------------------------------------------------------


def rehearsal_run(
    *,
    role_family: RoleFamily,
    candidates: int,
    seed: int = 0,
    plan: InterviewPlan | None = None,
    mirror_slug: str | None = None,
    vendor: Vendor | None = None,
    actor: Any = None,
    progress: Progress | None = None,
) -> RehearsalRun:
    """Rehearse ``plan`` (default: :func:`rehearsal_plan_for`) with ``candidates`` synthetic
    candidates; return the finished run. Celery tasks run in-process for the duration."""
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise RehearsalError(f"candidates must be from 1 to {MAX_CANDIDATES}")
    say = progress or (lambda _text: None)
    plan = plan or rehearsal_plan_for(role_family=role_family)
    if plan.role_family_id != role_family.pk:
        raise RehearsalError(f"plan #{plan.pk} belongs to another role family")
    vendor = vendor or rehearsal_vendor_get()
    if vendor.kind != VendorKind.REHEARSAL or not vendor.active:
        raise RehearsalError(f"vendor {vendor.slug} is not an active rehearsal vendor")
    mirror = _mirror_for(role_family, mirror_slug)
    with transaction.atomic():
        connection = _sandbox_for(role_family, plan, mirror)
        requisition = _rehearsal_requisition(connection, role_family)
        run = RehearsalRun.objects.create(
            plan=plan,
            connection=connection,
            mirrored_connection=mirror,
            vendor=vendor,
            seed=seed,
            candidates_requested=candidates,
            started_by=actor if getattr(actor, "pk", None) else None,
            mapping_snapshot=[
                {"mapping": str(m), "signature": list(mapping_signature(m))}
                for m in connection.field_mappings.all()
                if m.active
            ],
        )
        rows = _candidates_create(run, candidates, seed)
    say(
        f"Rehearsal #{run.pk}: plan “{plan.name}” ({plan.status}), {candidates} synthetic "
        f"candidate(s) on sandbox {connection.slug}"
        + (f", mirroring {mirror.slug}" if mirror else " (no live connection to mirror)")
        + f", vendor {vendor.slug}, seed {seed}"
    )
    try:
        with _celery_in_process():
            for row in rows:
                _candidate_launch(row, plan, vendor, requisition)
                if row.position % 5 == 0 or row.position == len(rows):
                    say(f"  launched {row.position}/{len(rows)}")
        for row in rows:
            _candidate_collect(row)
    except Exception as exc:
        RehearsalRun.objects.filter(pk=run.pk).update(
            status=RehearsalStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    RehearsalRun.objects.filter(pk=run.pk).update(
        status=RehearsalStatus.COMPLETED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


class _celery_in_process:
    """Run Celery tasks eagerly (in this process) while rehearsing, as the test settings do."""

    def __enter__(self) -> None:
        conf = current_app.conf
        self._saved = (conf.task_always_eager, conf.task_eager_propagates)
        conf.task_always_eager = True
        conf.task_eager_propagates = True

    def __exit__(self, *exc_info: object) -> None:
        current_app.conf.task_always_eager, current_app.conf.task_eager_propagates = self._saved


def _candidates_create(run: RehearsalRun, count: int, seed: int) -> list[RehearsalCandidate]:
    """Seeded names and samples; every built-in sample appears once before any repeats."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    samples: list[str] = []
    while len(samples) < count:
        batch = [sample["name"] for sample in DEFAULT_SAMPLES]
        rng.shuffle(batch)
        samples.extend(batch)
    rows = [
        RehearsalCandidate(
            run=run,
            position=position,
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            sample=samples[position - 1],
        )
        for position in range(1, count + 1)
    ]
    return RehearsalCandidate.objects.bulk_create(rows)


def _candidate_launch(
    row: RehearsalCandidate, plan: InterviewPlan, vendor: Vendor, requisition: Requisition
) -> None:
    """Sync the synthetic application into the trigger stage and launch its interview.

    The interview is created in the same transaction as the stage change, so when the stage
    change is published after commit the launch handler finds it (and synthetic candidates are
    never launched by a stage change anyway); the invitation then runs in-process.
    """
    connection = requisition.connection
    first, _, last = row.name.partition(" ")
    remote_id = f"rh{row.run_id}-{row.position:03d}"
    stage = _trigger_stage_mapping(connection, plan)
    with transaction.atomic():
        Candidate.objects.create(
            connection=connection,
            remote_id=remote_id,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{remote_id}@{SYNTHETIC_DOMAIN}".lower(),
            consents=list(plan.required_consents or []),
            is_synthetic=True,
        )
        change = StageChange(
            application_remote_id=remote_id,
            candidate=CandidateData(remote_id=remote_id, first_name=first, last_name=last),
            requisition=RequisitionData(remote_id=requisition.remote_id, title=requisition.title),
            remote_stage_id=stage.remote_stage_id if stage else "",
            remote_stage_name=(stage.remote_stage_name if stage else "")
            or ("" if stage else "(no stage mapped to the trigger stage)"),
            occurred_at=timezone.now(),
        )
        application = stage_change_apply(connection=connection, change=change).application
        row.application = application
        if application.canonical_stage != plan.trigger_stage:
            row.outcome = RehearsalOutcome.NOT_LAUNCHED
            row.note = (
                f"No stage of {connection.slug} maps to the trigger stage "
                f"“{CanonicalStage(plan.trigger_stage).label}”: nothing would launch."
            )
        else:
            row.interview = interview_launch(
                application=application, plan=plan, source=LaunchSource.REHEARSAL, vendor=vendor
            )
        row.save(update_fields=["application", "interview", "outcome", "note"])


def _candidate_collect(row: RehearsalCandidate) -> None:
    """Record the result, band, review and would-be writebacks of one rehearsed candidate."""
    if row.interview_id is None:
        return
    interview = Interview.objects.select_related("vendor").get(pk=row.interview_id)
    result = (
        InterviewResult.objects.filter(interview=interview, is_current=True)
        .select_related("interview__application__connection", "interview__plan")
        .first()
    )
    if result is None:
        event = VendorEvent.objects.filter(
            vendor=interview.vendor, delivery_id=delivery_id_for(interview)
        ).first()
        reason = (event.error if event and event.error else "") or interview.failure_reason
        row.outcome = RehearsalOutcome.INCOMPLETE
        row.note = f"Interview {interview.get_status_display().lower()}, no result" + (
            f": {reason}" if reason else "."
        )
        row.save(update_fields=["outcome", "note"])
        return
    review = ReviewTask.objects.filter(interview=interview).order_by("-pk").first()
    outcomes = result_mapping_outcomes(result=result)
    row.outcome = RehearsalOutcome.COMPLETED
    row.score = result.score
    row.band = result.band
    row.band_reasoning = band_reasoning(Decimal(result.score), result.band_thresholds)[:300]
    row.competency_scores = [
        {"key": cs.competency.key, "name": cs.competency.name, "score": score_number(cs.score)}
        for cs in result.competency_scores.select_related("competency").order_by(
            "competency__position", "competency__pk"
        )
    ]
    row.flags = list(result.flags or [])
    row.review_reason = review.reason if review else ""
    row.review_detail = review.detail if review else ""
    row.writebacks = [
        {"kind": job.kind, "target": job.target, "payload": job.payload}
        for job in _sandboxed_jobs(row.application)
    ]
    row.mappings = [
        {
            "mapping": o.mapping,
            "signature": list(o.signature),
            "written": o.written,
            "problem": o.problem,
        }
        for o in outcomes
    ]
    row.rejected = any(not o.written for o in outcomes)
    row.save()


def _sandboxed_jobs(application: Application | None) -> QuerySet[WritebackJob]:
    return WritebackJob.objects.filter(
        application=application, status=WritebackStatus.SANDBOXED
    ).order_by("pk")
