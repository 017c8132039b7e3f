"""Write what happened to the demo candidates: applications, interviews, results, reviews,
decisions, writeback jobs with their attempts, and inbound webhook deliveries.

Event timestamps (``created_at``, ``received_at``, ``started_at``) are set on the objects before
the insert, from the blueprint: no row is updated afterwards, so decisions (and, later, audit
events) stay append-only even while seeding.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from governance.models import Decision
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    InboundEvent,
    Requisition,
    WritebackAttempt,
    WritebackJob,
)
from interviews.demo.blueprint import Blueprint, InterviewSpec
from interviews.demo.data import VENDOR
from interviews.demo.store import Tally, ensure
from interviews.models import (
    Competency,
    CompetencyScore,
    Interview,
    InterviewPlan,
    InterviewResult,
    ResultFlag,
    ReviewTask,
    Vendor,
)

# Natural keys of the planned objects: (connection slug, remote id).
RemoteKey = tuple[str, str]


def write_applications(
    tally: Tally,
    connections: dict[str, AtsConnection],
    requisitions: dict[RemoteKey, Requisition],
    bp: Blueprint,
) -> tuple[dict[RemoteKey, Candidate], dict[RemoteKey, Application]]:
    slug_by_pk = {c.pk: slug for slug, c in connections.items()}
    saved = ensure(
        tally,
        "candidates",
        Candidate.objects.filter(connection__in=connections.values()),
        [
            Candidate(
                connection=connections[c.connection],
                remote_id=c.remote_id,
                first_name=c.first_name,
                last_name=c.last_name,
                email=c.email,
                opted_out=c.opted_out,
                consents=[] if c.opted_out else ["ai_interview"],
                remote_updated_at=c.remote_updated_at,
            )
            for c in bp.candidates
        ],
        lambda c: (c.connection_id, c.remote_id),
    )
    candidates = {(slug_by_pk[k[0]], str(k[1])): c for k, c in saved.items()}
    saved_apps = ensure(
        tally,
        "applications",
        Application.objects.filter(connection__in=connections.values()),
        [
            Application(
                connection=connections[a.connection],
                remote_id=a.remote_id,
                candidate=candidates[(a.connection, a.candidate)],
                requisition=requisitions[(a.connection, a.requisition)],
                remote_stage_id=a.remote_stage_id,
                remote_stage_name=a.remote_stage_name,
                canonical_stage=a.stage,
                stage_entered_at=a.stage_entered_at,
                last_event_at=a.stage_entered_at,
                applied_at=a.applied_at,
            )
            for a in bp.applications
        ],
        lambda a: (a.connection_id, a.remote_id),
    )
    applications = {(slug_by_pk[k[0]], str(k[1])): a for k, a in saved_apps.items()}
    return candidates, applications


def write_interviews(
    tally: Tally,
    plans: dict[str, InterviewPlan],
    competencies: dict[tuple[str, str], Competency],
    applications: dict[RemoteKey, Application],
    users: dict[str, User],
    bp: Blueprint,
) -> None:
    """Interviews, then results with their competency scores, then review tasks and decisions."""

    def app_of(spec: InterviewSpec) -> Application:
        return applications[(spec.application.connection, spec.application.remote_id)]

    vendor = Vendor.objects.get(slug=VENDOR)
    rows = []
    for spec in bp.interviews:
        invited = spec.invited_at is not None
        rows.append(
            Interview(
                application=app_of(spec),
                plan=plans[spec.family],
                status=spec.status,
                vendor=vendor,
                vendor_reference=spec.vendor_reference if invited else "",
                invite_url=f"https://vendor.example/i/{spec.vendor_reference}" if invited else "",
                stage_entered_at=spec.stage_entered_at,
                invited_at=spec.invited_at,
                reminded_at=spec.reminded_at,
                started_at=spec.started_at,
                completed_at=spec.completed_at,
                expires_at=spec.expires_at,
                ended_at=spec.ended_at,
                failure_reason=spec.failure_reason,
                # Its one result's copy (InterviewResult.save stamps it; bulk_create does not).
                current_band=spec.result.band if spec.result else None,
                current_score=spec.result.score if spec.result else None,
                # The interview was created when the application reached the trigger stage.
                created_at=spec.stage_entered_at,
            )
        )
    saved = ensure(
        tally,
        "interviews",
        Interview.objects.filter(plan__in=plans.values()),
        rows,
        lambda i: (i.application_id, i.plan_id),
    )
    # Keyed by the spec object: specs are plain data without a database id.
    interviews = {
        id(spec): saved[(app_of(spec).pk, plans[spec.family].pk)] for spec in bp.interviews
    }
    results = _write_results(tally, plans, competencies, interviews, bp)
    _write_reviews(tally, plans, interviews, results, users, bp)


def _write_results(
    tally: Tally,
    plans: dict[str, InterviewPlan],
    competencies: dict[tuple[str, str], Competency],
    interviews: dict[int, Interview],
    bp: Blueprint,
) -> dict[int, InterviewResult]:
    rows: list[InterviewResult] = []
    with_results = [spec for spec in bp.interviews if spec.result is not None]
    for spec in with_results:
        r = spec.result
        assert r is not None  # noqa: S101 - filtered above
        ref = spec.vendor_reference
        rows.append(
            InterviewResult(
                interview=interviews[id(spec)],
                score=r.score,
                band=r.band,
                band_thresholds=r.band_thresholds,
                confidence=r.confidence,
                summary_bullets=r.bullets,
                flags=r.flags,
                transcript_url=f"https://vendor.example/transcripts/{ref}",
                recording_url=f"https://vendor.example/recordings/{ref}" if r.recording else "",
                report_url=f"https://vendor.example/reports/{ref}",
                raw_payload={
                    "id": ref,
                    "status": "completed",
                    "overall_score": float(r.score),
                    "confidence": r.confidence,
                    "competencies": {k: float(s) for k, s, _ in r.competency_scores},
                    "flags": [f for f in r.flags if f != ResultFlag.BORDERLINE],
                },
                received_at=r.received_at,
            )
        )
    saved = ensure(
        tally,
        "interview results",
        InterviewResult.objects.filter(interview__plan__in=plans.values()),
        rows,
        lambda r: (r.interview_id, r.version),
    )
    results = {id(spec): saved[(interviews[id(spec)].pk, 1)] for spec in with_results}

    ensure(
        tally,
        "competency scores",
        CompetencyScore.objects.filter(result__in=list(results.values())),
        [
            CompetencyScore(
                result=results[id(spec)],
                competency=competencies[(spec.family, key)],
                score=score,
                evidence=evidence,
            )
            for spec in with_results
            for key, score, evidence in spec.result.competency_scores  # type: ignore[union-attr]
        ],
        lambda s: (s.result_id, s.competency_id),
    )
    return results


def _write_reviews(
    tally: Tally,
    plans: dict[str, InterviewPlan],
    interviews: dict[int, Interview],
    results: dict[int, InterviewResult],
    users: dict[str, User],
    bp: Blueprint,
) -> None:
    task_rows, decision_rows = [], []
    for spec in bp.interviews:
        review = spec.review
        if review is None:
            continue
        task_rows.append(
            ReviewTask(
                interview=interviews[id(spec)],
                result=results.get(id(spec)),
                reason=review.reason,
                detail=review.detail,
                status=review.status,
                claimed_by=users[review.claimed_by] if review.claimed_by else None,
                claimed_at=review.claimed_at,
                resolved_at=review.resolved_at,
                created_at=review.created_at,
            )
        )
        d = review.decision
        if d is not None:
            decision_rows.append(
                Decision(
                    result=results[id(spec)],
                    application=interviews[id(spec)].application,
                    decided_by=users[d.decided_by],
                    outcome=d.outcome,
                    recommended_outcome=d.recommended,
                    is_override=d.outcome != d.recommended,
                    override_reason=d.override_reason,
                    override_text=d.override_text,
                    created_at=d.created_at,
                )
            )
            decision_rows[-1].stamp_from_result()  # bulk_create skips save()
    ensure(
        tally,
        "review tasks",
        ReviewTask.objects.filter(interview__plan__in=plans.values()),
        task_rows,
        # One task per demo interview; keyed on the interview alone so a rerun never adds a
        # second open task next to one the review service has created since.
        lambda t: (t.interview_id,),
    )
    # Decisions are append-only: inserted complete, never updated, even right after insert.
    ensure(
        tally,
        "decisions",
        Decision.objects.filter(result__in=list(results.values())),
        decision_rows,
        lambda d: (d.result_id,),
    )


def write_ledgers(
    tally: Tally,
    connections: dict[str, AtsConnection],
    applications: dict[RemoteKey, Application],
    bp: Blueprint,
) -> None:
    """Writeback jobs and their attempts, then inbound webhook events."""
    job_rows = []
    for spec in bp.writebacks:
        app = spec.interview.application
        job_rows.append(
            WritebackJob(
                connection=connections[app.connection],
                application=applications[(app.connection, app.remote_id)],
                kind=spec.kind,
                target="result",
                payload=spec.payload,
                status=spec.status,
                attempts=len(spec.attempts),
                next_attempt_at=spec.next_attempt_at,
                last_error=spec.last_error,
                completed_at=spec.completed_at,
                idempotency_key=spec.idempotency_key,
                created_at=spec.created_at,
            )
        )
    jobs = ensure(
        tally,
        "writeback jobs",
        WritebackJob.objects.filter(connection__in=connections.values()),
        job_rows,
        lambda j: (j.application_id, j.kind, j.target),
    )
    # Each planned job (found again by its natural key) gets every planned attempt that is
    # missing, keyed by attempt number: a rerun fills gaps in old jobs too.
    planned = [
        (jobs[(row.application_id, row.kind, row.target)], spec)
        for row, spec in zip(job_rows, bp.writebacks, strict=True)
    ]
    ensure(
        tally,
        "writeback attempts",
        WritebackAttempt.objects.filter(job__in=[job for job, _ in planned]),
        [
            WritebackAttempt(
                job=job,
                attempt_number=attempt.number,
                started_at=attempt.started_at,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                succeeded=attempt.succeeded,
                error=attempt.error,
            )
            for job, spec in planned
            for attempt in spec.attempts
        ],
        lambda a: (a.job_id, a.attempt_number),
    )
    ensure(
        tally,
        "inbound events",
        InboundEvent.objects.filter(connection__in=connections.values()),
        [
            InboundEvent(
                connection=connections[e.connection],
                delivery_id=e.delivery_id,
                action=e.action,
                raw_body=e.raw_body,
                headers=e.headers,
                occurred_at=e.occurred_at,
                received_at=e.received_at,
                status=e.status,
                attempts=e.attempts,
                error=e.error,
                processed_at=e.processed_at,
            )
            for e in bp.inbound
        ],
        lambda e: (e.connection_id, e.delivery_id),
    )
