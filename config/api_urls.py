"""The REST API, mounted at /api/ (see ``governance.api`` for auth and error conventions).

Object ids in URLs are interview public ids (UUIDs), the same id ATS links carry. They are
matched as plain strings and parsed by the permission getters, so a malformed id is a JSON 404
like any unknown one. Any other path under /api/ is a JSON 404 too.
"""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView

from governance.api import ResultDecisionsView, SessionAuthentication, api_not_found
from interviews.api import ResultSummaryView

app_name = "api"

urlpatterns = [
    # OpenAPI 3 (JSON) for any signed-in user: it describes endpoints, never data.
    path(
        "schema/",
        SpectacularJSONAPIView.as_view(authentication_classes=[SessionAuthentication]),
        name="schema",
    ),
    path("results/<str:public_id>/", ResultSummaryView.as_view(), name="result-detail"),
    path(
        "results/<str:public_id>/decisions/",
        ResultDecisionsView.as_view(),
        name="result-decisions",
    ),
    re_path(r"^.*$", api_not_found, name="not-found"),
]
