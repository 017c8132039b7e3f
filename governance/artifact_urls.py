"""``GET /artifacts/<token>/``: open a signed artifact link (see ``governance.artifacts``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance import audit
from governance.artifacts import ArtifactLinkError, artifact_open


@require_GET
@never_cache
@login_required
def artifact_redirect(request: HttpRequest, token: str) -> HttpResponse:
    """Check the link, record who opened what, and send the browser to the vendor's URL."""
    try:
        result, kind, url = artifact_open(user=request.user, token=token)
    except ArtifactLinkError as exc:
        return _refusal(request, exc)
    audit.record_view(user=request.user, target=result, what=kind)
    response = HttpResponseRedirect(url)
    # The vendor's page must not learn our link (it is a bearer token for a few minutes).
    response["Referrer-Policy"] = "no-referrer"
    return response


def _refusal(request: HttpRequest, error: ArtifactLinkError) -> HttpResponse:
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JsonResponse({"error": error.message}, status=error.status)
    return render(
        request,
        "governance/artifact_link_error.html",
        {"message": error.message},
        status=error.status,
    )


urlpatterns = [
    path("<str:token>/", artifact_redirect, name="artifact"),
]
