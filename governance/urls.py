"""Pages of the governance app: the audit trail and permission-checked artifact links."""

from __future__ import annotations

from django.urls import include, path

from governance.metrics import views as metrics_views

app_name = "governance"

urlpatterns = [
    path("audit/", include("governance.audit_urls")),
    path("artifacts/", include("governance.artifact_urls")),
    path("sync-health/", include("governance.sync_health_urls")),
    path("calibration/", include("governance.calibration.urls")),
    path("adverse-impact/", include("governance.adverse_impact_urls")),
    path("data-requests/", include("governance.data_request_urls")),
    path("metrics/", metrics_views.metrics_dashboard, name="metrics"),
    path("metrics.csv", metrics_views.metrics_csv, name="metrics-csv"),
]
