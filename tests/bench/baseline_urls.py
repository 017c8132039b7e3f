"""The app's URLs plus ``/bench/baseline/``: the least a signed webhook endpoint can do.

The baseline checks a Greenhouse-style HMAC over the raw body and inserts one row (deduplicated
by event id), inside the same middleware stack as the real endpoint and in a request transaction
(BEGIN, INSERT, COMMIT, after Django's per-request ``SELECT 1`` health check). The real endpoint
opts out of the request transaction (its store is one ``INSERT``) and, on a cached connection, of
the health check, so its database work per new delivery is one statement. The ratio real / baseline
is what the portal's own work costs. Bench only: never in config/urls.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

SECRET = os.environ.get("BENCH_WEBHOOK_SECRET", "").encode()
TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_baseline_event "
    "(id bigserial PRIMARY KEY, event_id text UNIQUE NOT NULL, body text NOT NULL)"
)


@csrf_exempt
@require_POST
def baseline(request: HttpRequest) -> JsonResponse:
    body = request.body
    given = request.headers.get("Signature", "").partition(" ")[2].strip().encode()
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(given, expected):
        return JsonResponse({"error": "bad signature"}, status=401)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_baseline_event (event_id, body) VALUES (%s, %s) "
            "ON CONFLICT (event_id) DO NOTHING",
            [request.headers.get("Greenhouse-Event-ID", ""), body.decode()],
        )
    return JsonResponse({"status": "accepted"})


urlpatterns = [
    path("bench/baseline/", baseline),
    path("", include("config.urls")),
]
