"""Security basics: login throttling, CSRF on forms, htmx and the API, the Content-Security-Policy,
``check --deploy`` under production settings, and secrets that never reach the logs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import path, reverse
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.models import StopSwitch
from governance.roles import HIRING_OPS_ADMIN, sync_role_groups
from tests.factories import StopSwitchFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = UserFactory.DEFAULT_PASSWORD
T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


# -- a session-authenticated API endpoint (DRF defaults: session auth, CSRF enforced) ----------


class EchoView(APIView):
    def post(self, request: Any) -> Response:
        return Response({"ok": True})


urlpatterns = [path("echo/", EchoView.as_view(), name="echo")]


def sign_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# -- login throttling --------------------------------------------------------------------------


@pytest.fixture
def ada() -> Any:
    return UserFactory(username="ada")


def test_five_failures_lock_the_account_out_even_for_the_right_password(client, ada):
    with time_machine.travel(T0, tick=False):
        answers = [sign_in(client, "ada", f"wrong-{n}").status_code for n in range(5)]
        sixth = sign_in(client, "ada", PASSWORD)

    assert answers == [200, 200, 200, 200, 429]
    assert sixth.status_code == 429
    body = sixth.content.decode()
    assert "Too many failed sign-in attempts" in body
    assert "try again in 15 minutes (after 09:15 UTC)" in body
    assert sixth["Retry-After"] == "900"
    assert "didn't match" not in body  # one clear message, not two
    assert not signed_in(client)


def test_after_the_cool_off_the_right_password_signs_in(client, ada):
    with time_machine.travel(T0, tick=False):
        for n in range(5):
            sign_in(client, "ada", f"wrong-{n}")
    with time_machine.travel(T0 + dt.timedelta(minutes=14), tick=False):
        assert sign_in(client, "ada", PASSWORD).status_code == 429  # restarts the cool-off
    with time_machine.travel(T0 + dt.timedelta(minutes=14 + 16), tick=False):
        response = sign_in(client, "ada", PASSWORD)
        assert response.status_code == 302
        assert signed_in(client)


def test_a_successful_sign_in_resets_the_failure_count(client, ada):
    for n in range(4):
        sign_in(client, "ada", f"wrong-{n}")
    assert sign_in(client, "ada", PASSWORD).status_code == 302
    client.logout()

    answers = [sign_in(client, "ada", f"again-{n}").status_code for n in range(4)]

    assert answers == [200, 200, 200, 200]
    assert sign_in(client, "ada", PASSWORD).status_code == 302


def test_the_lockout_is_per_username_and_address(client, ada):
    UserFactory(username="bea")
    for n in range(5):
        sign_in(client, "ada", f"wrong-{n}")

    # The same person elsewhere, and another person here, are not locked out.
    elsewhere = sign_in(Client(REMOTE_ADDR="203.0.113.9"), "ada", PASSWORD)
    other_user = sign_in(Client(), "bea", PASSWORD)

    assert elsewhere.status_code == 302
    assert other_user.status_code == 302


def test_forwarded_for_counts_only_behind_a_trusted_proxy(client, ada, settings):
    def attempts_from(forwarded: str) -> list[int]:
        return [
            sign_in(client, "ada", "wrong", HTTP_X_FORWARDED_FOR=forwarded).status_code
            for _ in range(5)
        ]

    # No trusted proxy: a client-made X-Forwarded-For changes nothing (no way around the lock).
    assert attempts_from("198.51.100.1")[-1] == 429
    assert sign_in(client, "ada", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429

    # One trusted proxy: the address it saw is the client's, whatever the client prepended.
    settings.SCREENBRIDGE_TRUSTED_PROXY_COUNT = 1
    assert attempts_from("10.9.9.9, 198.51.100.3")[-1] == 429
    assert AccessAttempt.objects.filter(ip_address="198.51.100.3").exists()
    other = sign_in(client, "ada", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.4")
    assert other.status_code == 302


def test_script_clients_get_the_lockout_as_json(client, ada):
    for n in range(5):
        sign_in(client, "ada", f"wrong-{n}")

    response = sign_in(client, "ada", PASSWORD, HTTP_ACCEPT="application/json")

    assert response.status_code == 429
    body = response.json()
    assert body["retry_after_seconds"] == 900
    assert "try again in 15 minutes" in body["error"]
    assert response["Retry-After"] == "900"


def test_failed_attempts_never_store_the_password(client, ada):
    sign_in(client, "ada", "my-secret-guess-123")

    attempt = AccessAttempt.objects.get()
    assert "my-secret-guess-123" not in attempt.post_data
    assert attempt.failures_since_start == 1


def test_the_admin_login_is_throttled_too(client, ada):
    ada.is_staff = True
    ada.save()
    url = reverse("admin:login")
    for n in range(5):
        client.post(url, {"username": "ada", "password": f"wrong-{n}"})

    response = client.post(url, {"username": "ada", "password": PASSWORD})

    assert response.status_code == 429
    assert not signed_in(client)


def test_server_side_authenticate_without_a_request_is_not_throttled(client, ada):
    for n in range(5):
        sign_in(client, "ada", f"wrong-{n}")

    # Management commands and scripts: no remote client, nothing to throttle.
    assert authenticate(username="ada", password=PASSWORD) == ada
    assert authenticate(username="ada", password="wrong") is None


def test_force_login_is_not_throttled(client, ada):
    for n in range(5):
        sign_in(client, "ada", f"wrong-{n}")

    client.force_login(ada)

    assert client.get(reverse("home")).status_code == 200


# -- CSRF --------------------------------------------------------------------------------------


def csrf_token_of(response: Any) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "no CSRF token in the page"
    return match.group(1)


def test_the_login_form_needs_its_csrf_token(ada):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"))

    without = sign_in(client, "ada", PASSWORD)
    assert without.status_code == 403
    assert not signed_in(client)

    with_token = client.post(
        reverse("login"),
        {"username": "ada", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token_of(page)},
    )
    assert with_token.status_code == 302
    assert signed_in(client)


def test_the_csrf_cookie_is_http_only_and_htmx_sends_the_token_from_the_page(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    page = client.get(reverse("home"))
    assert client.cookies["csrftoken"]["httponly"] is True

    # <body hx-headers='{"x-csrftoken": "..."}'>: htmx adds this header to every request.
    match = re.search(r"<body hx-headers='([^']+)'>", page.content.decode())
    assert match
    headers = json.loads(match.group(1))

    assert client.post(reverse("logout")).status_code == 403
    assert signed_in(client)
    response = client.post(reverse("logout"), headers={"X-CSRFToken": headers["x-csrftoken"]})
    assert response.status_code == 302
    assert not signed_in(client)


def test_an_admin_form_post_needs_the_csrf_token():
    sync_role_groups()
    ops = UserFactory(username="ops", is_staff=True, groups=[HIRING_OPS_ADMIN])
    switch = StopSwitchFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops)
    url = reverse("admin:governance_stopswitch_changelist")
    page = client.get(url)
    data = {"action": "switch_off", "_selected_action": [switch.pk]}

    assert client.post(url, data).status_code == 403
    assert StopSwitch.objects.get(pk=switch.pk).active is True

    response = client.post(url, {**data, "csrfmiddlewaretoken": csrf_token_of(page)})
    assert response.status_code == 302
    assert StopSwitch.objects.get(pk=switch.pk).active is False


@pytest.mark.urls(__name__)
def test_a_session_authenticated_api_post_needs_the_csrf_token(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    token = _fresh_token(client)

    without = client.post("/echo/", {}, content_type="application/json")
    with_token = client.post(
        "/echo/", {}, content_type="application/json", headers={"X-CSRFToken": token}
    )

    assert without.status_code == 403
    assert "CSRF" in without.content.decode()
    assert with_token.status_code == 200


def _fresh_token(client: Client) -> str:
    """A valid token for the client's CSRF cookie, as a page would embed it."""
    from django.middleware.csrf import get_token
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    token = get_token(request)
    client.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
    return token


def test_webhooks_need_no_csrf_token_and_are_refused_without_a_signature():
    from tests.factories import AtsConnectionFactory

    connection = AtsConnectionFactory()
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        reverse("integrations:ats-webhook", args=[connection.slug]),
        data=b"{}",
        content_type="application/json",
    )

    assert response.status_code == 401  # the signature check answered, not the CSRF check


# -- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["login", "home", "admin:index"])
def test_pages_carry_the_content_security_policy_and_framing_headers(client, page):
    sync_role_groups()
    if page != "login":  # the login page sends signed-in users home
        client.force_login(UserFactory(is_staff=True, groups=[HIRING_OPS_ADMIN]))

    response = client.get(reverse(page))

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only_and_ends_with_the_browser(client, ada):
    response = sign_in(client, "ada", PASSWORD)

    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["expires"]
    assert not cookie["max-age"]


# -- check --deploy ----------------------------------------------------------------------------


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SCREENBRIDGE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        SCREENBRIDGE_FIELD_ENCRYPTION_KEY="x",
        DJANGO_ALLOWED_HOSTS="h",
        DATABASE_URL=f"sqlite:///{tmp_path / 'check-deploy.sqlite3'}",
    )
    env.update(extra)
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = check_deploy(production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_production_setting(tmp_path):
    # The gate is real: an insecure override is caught.
    result = check_deploy(production_env(tmp_path, DJANGO_SECURE_HSTS_SECONDS="0"))

    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


# -- secrets never logged ----------------------------------------------------------------------


ATS_API_KEY = "sk-ats-key-never-log-4b9f1c7e2d"
ATS_WEBHOOK_SECRET = "ats-webhook-secret-never-log-81d2"
VENDOR_API_KEY = "whsec_" + "dmVuZG9yLWFwaS1rZXktbmV2ZXItbG9nLTAxMjM0NTY3"
VENDOR_WEBHOOK_SECRET = "whsec_" + "dmVuZG9yLWhvb2stc2VjcmV0LW5ldmVyLWxvZy0wMQ=="
BASIC_PASSWORD = "basic-auth-password-never-log-77"
FIELD_ENCRYPTION_KEY = "field-encryption-key-never-log-5e0a"


def test_secrets_never_reach_the_logs_in_a_webhook_to_writeback_flow(
    client, caplog, ats_server, django_capture_on_commit_callbacks, settings
):
    import base64
    import hashlib

    # Every stored credential below is encrypted with this key (the raw key and the Fernet key
    # derived from it must never be logged either).
    settings.FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY
    fernet_key = base64.urlsafe_b64encode(
        hashlib.sha256(FIELD_ENCRYPTION_KEY.encode()).digest()
    ).decode()

    from standardwebhooks.webhooks import Webhook

    from integrations.models import CanonicalStage, StageMapping, WritebackKind
    from interviews.models import (
        Interview,
        InterviewResult,
        InterviewStatus,
        PlanStatus,
        ResultField,
        WritebackFieldMapping,
    )
    from tests.ats_server import LOOPBACK_CLIENT_ID, AtsServer, Reply, loopback_connection
    from tests.factories import (
        CompetencyFactory,
        InterviewPlanFactory,
        RoleFamilyFactory,
        VendorFactory,
    )
    from tests.integrations.test_signatures import fixture_body, greenhouse_headers

    vendor_server = AtsServer().start()
    try:
        connection = loopback_connection(
            ats_server,
            "greenhouse",
            slug="gh-secrets",
            api_key=ATS_API_KEY,
            webhook_secret=ATS_WEBHOOK_SECRET,
        )
        StageMapping.objects.create(
            connection=connection,
            remote_stage_name="AI Interview",
            canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
        )
        family = RoleFamilyFactory(slug="support", department_rule="Customer Experience")
        vendor = VendorFactory(
            slug="acme", base_url=vendor_server.url, webhook_secret=VENDOR_WEBHOOK_SECRET
        )
        vendor.set_api_key(VENDOR_API_KEY)
        vendor.save()
        plan = InterviewPlanFactory(role_family=family, vendor=vendor, status=PlanStatus.LIVE)
        CompetencyFactory(plan=plan, key="empathy", name="Empathy")
        CompetencyFactory(plan=plan, key="clarity", name="Clarity")
        WritebackFieldMapping.objects.create(
            connection=connection,
            source=ResultField.BAND,
            target_kind=WritebackKind.CUSTOM_FIELDS,
            target_key="ai_band",
        )
        vendor_server.on(
            "POST",
            "/interviews",
            Reply(201, json={"id": "V-1", "invite_url": "https://vendor.example/i/V-1"}),
        )

        # Everything from here on is captured, at every level.
        caplog.clear()
        for name in ("", "integrations", "interviews", "governance", "urllib3", "celery", "django"):
            caplog.set_level(logging.DEBUG, logger=name or None)

        # The ATS moves a candidate into the AI stage (with Basic credentials, as Greenhouse may).
        body = fixture_body("greenhouse", "candidate_stage_change")
        headers = greenhouse_headers(body, secret=ATS_WEBHOOK_SECRET, event_id="gh-secrets-1")
        basic = base64.b64encode(f"greenhouse:{BASIC_PASSWORD}".encode()).decode()
        url = reverse("integrations:ats-webhook", args=[connection.slug])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                url,
                data=body,
                content_type="application/json",
                headers={**headers, "Authorization": f"Basic {basic}"},
            )
        assert response.status_code == 200
        interview = Interview.objects.get()
        assert interview.status == InterviewStatus.INVITED

        # A delivery signed with the wrong secret is refused (and logged as such).
        forged = greenhouse_headers(body, secret="not-the-secret", event_id="gh-secrets-2")
        assert client.post(
            url, data=body, content_type="application/json", headers=forged
        ).status_code in (401, 403)

        # The vendor reports the result; the band is written back to the ATS.
        result_body, result_headers = _signed_result(interview, VENDOR_WEBHOOK_SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("interviews:vendor-webhook", args=[vendor.slug]),
                data=result_body,
                content_type="application/json",
                headers=result_headers,
            )
        assert response.status_code == 200, response.content
        assert InterviewResult.objects.exists()
        from integrations.services.outbox import writeback_relay

        writeback_relay()
    finally:
        vendor_server.stop()

    # The secrets were really used: stored under the known field key, and on the wire...
    from cryptography.fernet import Fernet

    stored = connection.webhook_secret_encrypted.encode()
    assert Fernet(fernet_key).decrypt(stored).decode() == ATS_WEBHOOK_SECRET
    [invite] = vendor_server.requests("POST", "/interviews")
    Webhook(VENDOR_API_KEY).verify(invite.raw_body.decode(), invite.headers)
    # Greenhouse v3: the API key is the OAuth client secret, exchanged for a bearer token.
    [token_call] = ats_server.requests("POST", "/token")
    exchange = token_call.header("authorization") + token_call.raw_body.decode()
    assert (
        ATS_API_KEY in exchange
        or base64.b64encode(f"{LOOPBACK_CLIENT_ID}:{ATS_API_KEY}".encode()).decode() in exchange
    )
    [patch] = ats_server.requests("PATCH", "/v3/applications/{id}")
    scheme, access_token = patch.header("authorization").split()
    assert scheme.lower() == "bearer"
    # ...and never logged, at any level, in any form (factory_boy's own debug output aside).
    records = [r for r in caplog.records if not r.name.startswith("factory")]
    assert len(records) > 10
    text = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {r.__dict__!r}" for r in records
    )
    for secret in (
        ATS_API_KEY,
        ATS_WEBHOOK_SECRET,
        VENDOR_API_KEY,
        VENDOR_WEBHOOK_SECRET,
        BASIC_PASSWORD,
        basic,
        access_token,
        FIELD_ENCRYPTION_KEY,
        fernet_key,
        base64.b64encode(ATS_API_KEY.encode()).decode(),
        base64.b64encode(ATS_WEBHOOK_SECRET.encode()).decode(),
    ):
        assert secret not in text, f"{secret[:8]}… appeared in the logs"
    assert not re.search(r"(?i)authorization['\"]?\s*[:=]", text)


def _signed_result(interview: Any, secret: str) -> tuple[bytes, dict[str, str]]:
    """A vendor's signed result delivery (the shape of tests/interviews/test_pipeline_e2e.py)."""
    import time

    from standardwebhooks.webhooks import Webhook

    body = json.dumps(
        {
            "type": "interview.completed",
            "occurred_at": "2026-11-28T10:00:00Z",
            "interview": {
                "id": interview.vendor_reference,
                "external_id": str(interview.public_id),
            },
            "result": {
                "score": 80,
                "scale_max": 100,
                "competencies": [{"key": "empathy", "score": 80}, {"key": "clarity", "score": 78}],
                "summary": ["Restated the customer's problem before proposing a refund path."],
                "confidence": 0.9,
                "transcript": {"url": "https://vendor.example/t/1", "word_count": 1500},
            },
        }
    ).encode()
    message_id = f"msg-{interview.public_id}"
    sent_at = time.time()
    signature = Webhook(secret).sign(
        message_id, dt.datetime.fromtimestamp(sent_at, tz=dt.UTC), body.decode()
    )
    return body, {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at)),
        "webhook-signature": signature,
    }
