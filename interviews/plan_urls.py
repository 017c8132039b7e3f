"""``/plans/``: go-live readiness per plan and rehearsal runs (hiring-ops admins)."""

from __future__ import annotations

from django.urls import path

from interviews import views_readiness

urlpatterns = [
    path("<int:pk>/readiness/", views_readiness.plan_readiness, name="plan-readiness"),
    path("<int:pk>/go-live/", views_readiness.plan_go_live_view, name="plan-go-live"),
    path("rehearsals/<int:pk>/", views_readiness.rehearsal_run_detail, name="rehearsal-run"),
]
