"""Fill the metrics stamps for rows made before they existed (set-based, safe to run twice).

- ``Interview.first_decided_at``: the earliest decision on any of the interview's results;
- ``Decision.card_opened_at``: the decider's first ``score_card.view`` of the result before it;
- ``Application.furthest_stage_rank``: the current canonical stage's rank (no history before).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import CharField, Min, OuterRef, Subquery
from django.db.models.functions import Cast

STAGE_ORDER = {
    "applied": 0,
    "application_review": 1,
    "automated_interview": 2,
    "recruiter_screen": 3,
    "hiring_manager_review": 4,
    "onsite": 5,
    "offer": 6,
    "hired": 7,
}


def forwards(apps: Any, schema_editor: Any) -> None:
    Interview = apps.get_model("interviews", "Interview")
    Decision = apps.get_model("governance", "Decision")
    AuditEvent = apps.get_model("governance", "AuditEvent")
    Application = apps.get_model("integrations", "Application")
    first = (
        Decision.objects.filter(result__interview=OuterRef("pk"))
        .order_by()
        .values("result__interview")
        .annotate(first=Min("created_at"))
        .values("first")[:1]
    )
    Interview.objects.filter(first_decided_at__isnull=True).update(first_decided_at=Subquery(first))
    opened = (
        AuditEvent.objects.filter(
            action="score_card.view",
            object_type="interviews.interviewresult",
            object_id=Cast(OuterRef("result_id"), output_field=CharField()),
            actor=OuterRef("decided_by"),
            occurred_at__lte=OuterRef("created_at"),
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    # Decisions are immutable to the application; this one-off fills a new, derived column.
    Decision.objects.filter(card_opened_at__isnull=True).update(card_opened_at=Subquery(opened))
    for stage, rank in STAGE_ORDER.items():
        Application.objects.filter(canonical_stage=stage, furthest_stage_rank__isnull=True).update(
            furthest_stage_rank=rank
        )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0007_decision_card_opened_at"),
        ("interviews", "0005_metrics_fields"),
        ("integrations", "0004_application_stage_history"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
