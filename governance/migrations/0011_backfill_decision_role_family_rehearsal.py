"""Fill ``Decision.role_family`` and ``Decision.is_rehearsal`` for older rows (safe to run twice).

Both come from the decision's result's interview (its plan's role family, its rehearsal flag);
new decisions are stamped on insert by ``Decision.save``.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import OuterRef, Subquery


def forwards(apps: Any, schema_editor: Any) -> None:
    Decision = apps.get_model("governance", "Decision")
    Interview = apps.get_model("interviews", "Interview")
    interview = Interview.objects.filter(results=OuterRef("result_id"))
    # Decisions are immutable to the application; this one-off fills new, derived columns.
    Decision.objects.filter(role_family__isnull=True).update(
        role_family_id=Subquery(interview.values("plan__role_family_id")[:1]),
        is_rehearsal=Subquery(interview.values("is_rehearsal")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0010_decision_role_family_rehearsal"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
