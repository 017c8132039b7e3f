"""The REST API, mounted at /api/ (see ``governance.api`` for auth, paging and error conventions).

- ``/api/v1/…``: the endpoints (token or session authentication).
- ``/api/schema/``: OpenAPI 3 (JSON) for any signed-in user: it describes endpoints, never data.
- ``/api/docs/``: Swagger UI over that schema, from our own static files (drf-spectacular-sidecar;
  the page's script is a separate same-origin file, so the strict CSP holds).

Interviews are addressed by their public ids (UUIDs, the id ATS links carry), every other object
by its integer id. Public ids are matched as plain strings and parsed by the permission getters,
so a malformed id is a JSON 404 like any unknown one. Any other path under /api/ is a JSON 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from governance.api import (
    API_AUTHENTICATION,
    DecisionDetailView,
    DecisionListView,
    ResultDecisionsView,
    SessionAuthentication,
    api_not_found,
)
from governance.api_metrics import MetricsView
from governance.api_writebacks import (
    WritebackJobDetailView,
    WritebackJobListView,
    WritebackJobRetryView,
)
from interviews.api import (
    ApplicationDetailView,
    ApplicationListView,
    InterviewDetailView,
    InterviewListView,
    ResultListView,
    ResultSummaryView,
    ReviewTaskClaimView,
    ReviewTaskDecideView,
    ReviewTaskDetailView,
    ReviewTaskListView,
    ReviewTaskReleaseView,
)

app_name = "api"

v1 = [
    path("applications/", ApplicationListView.as_view(), name="application-list"),
    path("applications/<int:pk>/", ApplicationDetailView.as_view(), name="application-detail"),
    path("interviews/", InterviewListView.as_view(), name="interview-list"),
    path("interviews/<str:public_id>/", InterviewDetailView.as_view(), name="interview-detail"),
    path("results/", ResultListView.as_view(), name="result-list"),
    path("results/<str:public_id>/", ResultSummaryView.as_view(), name="result-detail"),
    path(
        "results/<str:public_id>/decisions/",
        ResultDecisionsView.as_view(),
        name="result-decisions",
    ),
    path("review-tasks/", ReviewTaskListView.as_view(), name="review-task-list"),
    path("review-tasks/<int:pk>/", ReviewTaskDetailView.as_view(), name="review-task-detail"),
    path("review-tasks/<int:pk>/claim/", ReviewTaskClaimView.as_view(), name="review-task-claim"),
    path(
        "review-tasks/<int:pk>/release/",
        ReviewTaskReleaseView.as_view(),
        name="review-task-release",
    ),
    path(
        "review-tasks/<int:pk>/decide/", ReviewTaskDecideView.as_view(), name="review-task-decide"
    ),
    path("metrics/", MetricsView.as_view(), name="metrics"),
    path("decisions/", DecisionListView.as_view(), name="decision-list"),
    path("decisions/<int:pk>/", DecisionDetailView.as_view(), name="decision-detail"),
    path("writeback-jobs/", WritebackJobListView.as_view(), name="writeback-job-list"),
    path("writeback-jobs/<int:pk>/", WritebackJobDetailView.as_view(), name="writeback-job-detail"),
    path(
        "writeback-jobs/<int:pk>/retry/",
        WritebackJobRetryView.as_view(),
        name="writeback-job-retry",
    ),
]

urlpatterns = [
    path(
        "schema/",
        SpectacularJSONAPIView.as_view(authentication_classes=API_AUTHENTICATION),
        name="schema",
    ),
    # A page for people: anonymous visitors go to the sign-in page.
    path(
        "docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                authentication_classes=[SessionAuthentication],
                template_name="api/swagger_ui.html",
                url_name="api:schema",
            )
        ),
        name="docs",
    ),
    path("v1/", include(v1)),
    re_path(r"^.*$", api_not_found, name="not-found"),
]
