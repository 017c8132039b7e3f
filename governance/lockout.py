"""Login throttling (django-axes): the client address it counts by and the lockout response.

Axes locks a (username, client address) pair out after ``AXES_FAILURE_LIMIT`` failed sign-ins
for ``AXES_COOLOFF_TIME``; every attempt during the lockout — even with the right password —
fails and restarts the cool-off (axes' ``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT``), so
"try again in <cool-off>" is always true from the moment of the answer.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

STATUS = 429


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for every sign-in that comes with a request.

    ``authenticate()`` without a request comes from code on the server itself (management
    commands, scripts, ``Client.login`` in tests), never from a remote client: there is nobody to
    throttle, so it passes on to the next backend instead of raising axes'
    ``AxesBackendRequestParameterRequired``. Every login form and API authenticator passes the
    request (Django's ``AuthenticationForm``, the admin, DRF).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in attempt is counted against.

    Behind ``SCREENBRIDGE_TRUSTED_PROXY_COUNT`` reverse proxies (each appending to
    ``X-Forwarded-For``) it is the entry that many places from the right — the one the outermost
    trusted proxy saw; entries further left are whatever the client sent and are ignored. With
    no trusted proxies it is ``REMOTE_ADDR``. Without this, every client behind a proxy would
    share the proxy's address and one attacker could lock a username out for everyone.
    """
    proxies = getattr(settings, "SCREENBRIDGE_TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """429 with ``Retry-After``: JSON for API and script clients, else the sign-in page."""
    cool_off = get_cool_off(request) or dt.timedelta(0)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    retry_at = timezone.localtime(timezone.now() + cool_off)
    message = (
        "Too many failed sign-in attempts. For your security, signing in is paused; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''} "
        f"(after {retry_at:%H:%M} {retry_at:%Z})."
    )
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "error": message,
                "retry_after_seconds": int(cool_off.total_seconds()),
                "retry_at": retry_at.isoformat(),
            },
            status=STATUS,
        )
    else:
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        response = render(
            request,
            "registration/login.html",
            {"form": AuthenticationForm(request), "next": next_url, "lockout_message": message},
            status=STATUS,
        )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def _wants_json(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept
