"""``/calibration/``: calibration sessions (mounted in the ``governance`` namespace)."""

from __future__ import annotations

from django.urls import path

from governance.calibration import views

urlpatterns = [
    path("", views.calibration_list, name="calibration-list"),
    path("<uuid:public_id>/", views.calibration_session, name="calibration-session"),
    path(
        "<uuid:public_id>/candidates/<int:position>/",
        views.calibration_score,
        name="calibration-score",
    ),
]
