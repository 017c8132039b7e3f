from __future__ import annotations

from django.urls import path

from integrations import webhooks

app_name = "integrations"

urlpatterns = [
    # <str:…> rather than <slug:…> so every address under the prefix gets the JSON 404.
    path("ats/<str:slug>/", webhooks.ats_webhook, name="ats-webhook"),
]
