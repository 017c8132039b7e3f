"""Fill ``Interview.current_band`` and ``current_score`` for older rows (safe to run twice).

Copied from each interview's current result; new and superseded results restamp their
interview in ``InterviewResult.save``. In batches of interview ids, each committed on its own
(not atomic), so a large table is never locked as a whole; a rerun after an interruption
stamps the same values again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Exists, Max, OuterRef, Subquery

BATCH = 50_000  # interview ids per UPDATE


def forwards(apps: Any, schema_editor: Any) -> None:
    Interview = apps.get_model("interviews", "Interview")
    InterviewResult = apps.get_model("interviews", "InterviewResult")
    current = InterviewResult.objects.filter(interview=OuterRef("pk"), is_current=True)
    top = Interview.objects.aggregate(top=Max("pk"))["top"] or 0
    for start in range(0, top + 1, BATCH):
        Interview.objects.filter(pk__gte=start, pk__lt=start + BATCH).filter(
            Exists(current)
        ).update(
            current_band=Subquery(current.values("band")[:1]),
            current_score=Subquery(current.values("score")[:1]),
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("interviews", "0007_interview_current_result_stamp"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
