"""Public endpoints of the interviews app: vendor webhooks and ATS assessment-partner APIs."""

from __future__ import annotations

from django.urls import include, path

app_name = "interviews"

urlpatterns = [
    path("webhooks/vendor/", include("interviews.vendor_urls")),
    path("partners/", include("interviews.partner_urls")),
    path("review/", include("interviews.queue_urls")),
    path("results/", include("interviews.scorecard_urls")),
    path("plans/", include("interviews.plan_urls")),
]
