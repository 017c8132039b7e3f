"""``/adverse-impact/``: the auditors' adverse-impact report (``governance`` namespace)."""

from __future__ import annotations

from django.urls import path

from governance import adverse_impact_views

urlpatterns = [
    path("", adverse_impact_views.adverse_impact_report, name="adverse-impact"),
]
