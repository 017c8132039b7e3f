"""``/sync-health/``: the hiring-ops admin's sync health page (``governance`` namespace)."""

from __future__ import annotations

from django.urls import path

from governance import sync_health

urlpatterns = [
    path("", sync_health.sync_health, name="sync-health"),
    path(
        "writebacks/<int:pk>/retry/",
        sync_health.writeback_retry_view,
        name="sync-health-writeback-retry",
    ),
]
