"""Project-level pages: the role-aware home page and the health check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance.models import AccessRole, AuditEvent, Decision
from governance.permissions import (
    requisition_ids_for_role,
    requisitions_visible_to,
    results_visible_to,
)
from governance.roles import user_roles
from integrations.models import (
    AtsConnection,
    CanonicalStage,
    InboundEvent,
    InboundEventStatus,
    StageMapping,
    WritebackJob,
    WritebackStatus,
)
from interviews.models import InterviewPlan, InterviewStatus, ReviewReason
from interviews.services import review
from interviews.views_scorecard import score_cards_build

# Newest completed interviews shown as cards on a hiring manager's home page.
HOME_SCORE_CARDS = 24


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Shows each role what it can reach, with counts."""
    roles = user_roles(request.user)
    ctx: dict[str, Any] = {"roles": roles}
    if roles & {"recruiter", "hiring_manager"}:
        ctx["requisitions"] = _requisition_rows(request.user)
    if "hiring_manager" in roles:
        ctx["score_cards"], ctx["score_cards_total"] = _manager_score_cards(request.user)
    if "recruiter" in roles:
        # The same scope and counts as the queue itself (/review/), so the numbers agree.
        by_reason = review.review_queue_reason_counts(review.review_queue_base(viewer=request.user))
        ctx["review_counts"] = [
            (label, by_reason.get(value, 0)) for value, label in ReviewReason.choices
        ]
        ctx["review_total"] = sum(by_reason.values())
    if "admin" in roles:
        ctx["connections"] = AtsConnection.objects.annotate(
            unmapped=Count(
                "applications", filter=Q(applications__canonical_stage=CanonicalStage.UNMAPPED)
            )
        )
        ctx["plan_counts"] = dict(
            InterviewPlan.objects.values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        ctx["stage_mapping_count"] = StageMapping.objects.count()
        ctx["writebacks_failing"] = WritebackJob.objects.filter(
            status=WritebackStatus.FAILED
        ).count()
        ctx["writebacks_dead"] = WritebackJob.objects.filter(status=WritebackStatus.DEAD).count()
        ctx["events_failed"] = InboundEvent.objects.filter(status=InboundEventStatus.FAILED).count()
    if "auditor" in roles:
        ctx["decision_count"] = Decision.objects.count()
        ctx["override_count"] = Decision.objects.filter(is_override=True).count()
        ctx["audit_count"] = AuditEvent.objects.count()
    return render(request, "home.html", ctx)


def _requisition_rows(user: Any) -> list[dict[str, Any]]:
    """Visible requisitions with application counts per canonical stage (one query)."""
    stages = [s for s in CanonicalStage.values if s != CanonicalStage.UNMAPPED]
    annotations = {
        f"n_{stage}": Count("applications", filter=Q(applications__canonical_stage=stage))
        for stage in stages
    }
    requisitions = requisitions_visible_to(user).annotate(
        total=Count("applications"), **annotations
    )
    return [
        {
            "requisition": req,
            "total": req.total,
            "stages": [(CanonicalStage(s).label, getattr(req, f"n_{s}")) for s in stages],
        }
        for req in requisitions
    ]


def _manager_score_cards(user: Any) -> tuple[list[Any], int]:
    """Compact cards of completed interviews on the requisitions the user manages.

    A fixed number of queries however many cards; no artifact links (transcripts stay behind
    the full score card, and only for users granted them).
    """
    results = (
        results_visible_to(user)
        .filter(
            is_current=True,
            interview__status=InterviewStatus.COMPLETED,
            interview__application__requisition_id__in=requisition_ids_for_role(
                user, AccessRole.HIRING_MANAGER
            ),
        )
        .select_related("interview__application__candidate", "interview__application__requisition")
        .order_by("-interview__completed_at", "-pk")
    )
    total = results.count()
    return score_cards_build(results[:HOME_SCORE_CARDS], viewer=user), total


@require_GET
@never_cache
@transaction.non_atomic_requests  # must answer even when a transaction cannot be opened
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status; 503 when the database cannot answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "down"
        checks["database"] = f"error: {type(exc).__name__}"
    checks["broker"] = _broker_status()
    healthy = checks["database"] == "ok"
    body = {"status": "ok" if healthy else "error", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


def _broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (no broker in use)"
    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        return "ok"
    except Exception as exc:  # an unreachable broker is reported, not raised
        return f"error: {type(exc).__name__}"
