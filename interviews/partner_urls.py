"""Assessment-partner endpoints, mounted at ``/partners/`` (see ``interviews.partners``).

The addresses are what an admin gives the ATS: Greenhouse's partner team gets the four URLs of
a connection; Ashby gets the base ``.../partners/ashby/<slug>/`` and appends the method name.
``<str:slug>`` rather than ``<slug:...>``, and a catch-all, so every address under the prefix
answers JSON, never Django's HTML 404.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from interviews.partners import ashby, greenhouse


@csrf_exempt
def not_found(request: HttpRequest, *args: str, **kwargs: str) -> JsonResponse:
    return JsonResponse({"error": "no assessment-partner endpoint at this address"}, status=404)


urlpatterns = [
    path("greenhouse/<str:slug>/list_tests", greenhouse.list_tests, name="greenhouse-list-tests"),
    path("greenhouse/<str:slug>/send_test", greenhouse.send_test, name="greenhouse-send-test"),
    path(
        "greenhouse/<str:slug>/test_status", greenhouse.test_status, name="greenhouse-test-status"
    ),
    path(
        "greenhouse/<str:slug>/response_error",
        greenhouse.response_error,
        name="greenhouse-response-error",
    ),
    path("ashby/<str:slug>/assessment.list", ashby.assessment_list, name="ashby-assessment-list"),
    path(
        "ashby/<str:slug>/assessment.start", ashby.assessment_start, name="ashby-assessment-start"
    ),
    path(
        "ashby/<str:slug>/assessment.cancel",
        ashby.assessment_cancel,
        name="ashby-assessment-cancel",
    ),
    re_path(r"^.*$", not_found),
]
