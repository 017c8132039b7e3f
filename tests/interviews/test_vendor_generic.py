"""The generic HTTP vendor adapter: signed invitations to a loopback vendor, parsing, the admin.

The loopback vendor is ``tests/ats_server.py``'s real HTTP server; invitation signatures are
checked with the reference ``standardwebhooks`` library, independently of our signing code.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test.utils import override_settings
from django.urls import reverse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from governance.roles import RECRUITER
from integrations.connectors.base import MalformedPayloadError, SignatureError
from integrations.http import (
    AtsAuthError,
    AtsPermanentError,
    AtsRateLimited,
    AtsServerError,
    AtsTimeout,
)
from interviews.models import Vendor, VendorKind
from interviews.vendors import registry
from interviews.vendors.base import VendorAdapter
from interviews.vendors.generic_http import GenericHttpVendor, parse_event, webhook_url
from interviews.vendors.rehearsal import RehearsalVendor
from tests.ats_server import LOOPBACK_TIMEOUT, LOOPBACK_WHSEC, AtsServer, Reply
from tests.factories import InterviewFactory, UserFactory, VendorFactory
from tests.factories.interviews import DEFAULT_VENDOR_SECRET

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
PUBLIC_URL = "https://screenbridge.example"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def loopback_vendor(server: AtsServer, **fields: Any) -> Vendor:
    """A generic vendor wired to the loopback server, signing with ``LOOPBACK_WHSEC``."""
    settings = {"http_timeout": LOOPBACK_TIMEOUT, **fields.pop("settings", {})}
    vendor = VendorFactory(base_url=server.url, settings=settings, **fields)
    vendor.set_api_key(LOOPBACK_WHSEC)
    vendor.save(update_fields=["api_key_encrypted"])
    return vendor


def interview_for(vendor: Vendor, **fields: Any) -> Any:
    return InterviewFactory(
        plan__vendor=vendor,
        plan__vendor_test_id="support-screen-v2",
        application__candidate__first_name="Amara",
        application__candidate__last_name="Okafor",
        application__candidate__email="amara.okafor@example.com",
        application__requisition__title="Customer Support Specialist",
        **fields,
    )


def created(reference: str = "vi_7Hq2Lm9X") -> Reply:
    return Reply(201, json={"id": reference, "invite_url": f"https://v.example/i/{reference}"})


# -- registry ----------------------------------------------------------------------------------


def test_registry_picks_the_adapter_by_kind() -> None:
    generic = registry.adapter_for(VendorFactory.build(kind=VendorKind.GENERIC_HTTP))
    rehearsal = registry.adapter_for(VendorFactory.build(kind=VendorKind.REHEARSAL))

    assert isinstance(generic, GenericHttpVendor)
    assert isinstance(rehearsal, RehearsalVendor)
    assert isinstance(generic, VendorAdapter)


def test_registry_refuses_a_kind_without_an_adapter() -> None:
    with pytest.raises(registry.UnknownVendorKindError, match="carrier-pigeon"):
        registry.adapter_for(VendorFactory.build(kind="carrier-pigeon"))


def test_every_vendor_kind_has_an_adapter() -> None:
    assert set(registry.ADAPTERS) == set(VendorKind.values)


# -- invitations -------------------------------------------------------------------------------


@override_settings(SCREENBRIDGE_PUBLIC_URL=PUBLIC_URL + "/")
def test_invitation_is_the_documented_signed_json(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server, slug="acme-interviews")
    interview = interview_for(vendor)
    answer = fixture("invitation_created")
    ats_server.on("POST", "/interviews", Reply(201, json=answer))

    invitation = GenericHttpVendor(vendor).invite(interview)

    assert invitation.vendor_reference == "vi_7Hq2Lm9X"
    assert invitation.invite_url == answer["invite_url"]
    assert invitation.expires_at is not None
    assert invitation.expires_at.isoformat() == "2026-04-15T08:00:00+00:00"
    [request] = ats_server.requests("POST", "/interviews")
    body = request.json
    assert body == {
        "interview_id": str(interview.public_id),
        "test_id": "support-screen-v2",
        "candidate": {
            "first_name": "Amara",
            "last_name": "Okafor",
            "email": "amara.okafor@example.com",
        },
        "requisition": {"title": "Customer Support Specialist"},
        "expires_at": body["expires_at"],
        "callback_url": "https://screenbridge.example/webhooks/vendor/acme-interviews/",
    }
    assert request.header("content-type") == "application/json"
    assert request.header("webhook-id") == str(interview.public_id)
    # The vendor verifies with any Standard Webhooks library over the exact bytes.
    Webhook(LOOPBACK_WHSEC).verify(request.raw_body.decode(), request.headers)
    assert ats_server.unmatched == []


def test_invitation_signature_fails_for_another_secret_or_altered_body(
    ats_server: AtsServer,
) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", created())

    GenericHttpVendor(vendor).invite(interview_for(vendor))

    [request] = ats_server.requests("POST", "/interviews")
    with pytest.raises(WebhookVerificationError):
        Webhook(DEFAULT_VENDOR_SECRET).verify(request.raw_body.decode(), request.headers)
    altered = request.raw_body.decode().replace("Amara", "Amira")
    with pytest.raises(WebhookVerificationError):
        Webhook(LOOPBACK_WHSEC).verify(altered, request.headers)


def test_a_retried_invitation_is_the_same_message(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    interview = interview_for(vendor)
    ats_server.on("POST", "/interviews", Reply.server_error(), created())
    adapter = GenericHttpVendor(vendor)

    with pytest.raises(AtsServerError):
        adapter.invite(interview)
    adapter.invite(interview)

    first, second = ats_server.requests("POST", "/interviews")
    assert first.header("webhook-id") == second.header("webhook-id") == str(interview.public_id)


def test_expiry_sent_is_the_interviews_else_the_plans(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", Reply(201, json={"id": "vi-1"}))
    invited = interview_for(vendor, invited=True)
    fresh = interview_for(vendor, plan__expiry_days=3)
    adapter = GenericHttpVendor(vendor)

    first = adapter.invite(invited)
    second = adapter.invite(fresh)

    sent = [request.json["expires_at"] for request in ats_server.requests("POST", "/interviews")]
    assert sent[0] == invited.expires_at.isoformat()
    assert first.expires_at == invited.expires_at
    assert second.expires_at is not None
    assert sent[1] == second.expires_at.isoformat()


def test_invite_path_can_be_set_per_vendor(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server, settings={"invite_path": "api/v2/invitations/"})
    ats_server.on("POST", "/api/v2/invitations", created("inv-9"))

    invitation = GenericHttpVendor(vendor).invite(interview_for(vendor))

    assert invitation.vendor_reference == "inv-9"
    assert ats_server.unmatched == []


def test_an_integer_reference_is_kept_as_text(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", Reply(200, json={"id": 81723}))

    invitation = GenericHttpVendor(vendor).invite(interview_for(vendor))

    assert invitation.vendor_reference == "81723"
    assert invitation.invite_url == ""


@pytest.mark.parametrize(
    ("reply", "error", "retryable"),
    [
        (Reply.rate_limited(retry_after=7), AtsRateLimited, True),
        (Reply.server_error(), AtsServerError, True),
        (Reply.server_error(503), AtsServerError, True),
        (Reply(422, json={"error": "unknown test_id"}), AtsPermanentError, False),
        (Reply(401, json={"error": "bad signature"}), AtsAuthError, False),
        (Reply(302, headers={"Location": "https://elsewhere.example/"}), AtsPermanentError, False),
    ],
    ids=["429", "500", "503", "422", "401", "redirect"],
)
def test_vendor_errors_are_typed(
    ats_server: AtsServer, reply: Reply, error: type[Exception], retryable: bool
) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", reply)

    with pytest.raises(error) as raised:
        GenericHttpVendor(vendor).invite(interview_for(vendor))

    assert raised.value.retryable is retryable  # type: ignore[attr-defined]
    assert len(ats_server.requests("POST", "/interviews")) == 1  # the caller decides on retries


def test_rate_limit_carries_retry_after(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", Reply.rate_limited(retry_after=7))

    with pytest.raises(AtsRateLimited) as raised:
        GenericHttpVendor(vendor).invite(interview_for(vendor))

    assert raised.value.retry_after == 7
    assert raised.value.status_code == 429


def test_a_slow_vendor_is_a_timeout(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server, settings={"http_timeout": [1, 0.2]})
    ats_server.on("POST", "/interviews", Reply.slow(2, status=201, json={"id": "late"}))

    with pytest.raises(AtsTimeout, match="read timeout"):
        GenericHttpVendor(vendor).invite(interview_for(vendor))


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(201, body=b"<html>created</html>"), "not JSON"),
        (Reply(201, json=["vi-1"]), "not a JSON object"),
        (Reply(201, json={"invite_url": "https://v.example/i/1"}), "has no 'id'"),
        (Reply(201, json={"id": "vi-1", "invite_url": "javascript:alert(1)"}), "invite_url"),
        (Reply(201, json={"id": "x" * 201}), "interview.id"),
    ],
    ids=["html", "array", "no-id", "bad-link", "long-id"],
)
def test_an_unreadable_success_answer_is_a_retryable_server_error(
    ats_server: AtsServer, reply: Reply, message: str
) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", reply)

    with pytest.raises(AtsServerError, match=message):
        GenericHttpVendor(vendor).invite(interview_for(vendor))


def test_a_vendor_without_base_url_is_a_permanent_error() -> None:
    vendor = VendorFactory(base_url="")

    with pytest.raises(AtsPermanentError, match="no base_url"):
        GenericHttpVendor(vendor).invite(interview_for(vendor))


def test_a_vendor_without_an_api_key_is_an_auth_error(ats_server: AtsServer) -> None:
    vendor = VendorFactory(base_url=ats_server.url)

    with pytest.raises(AtsAuthError, match="unavailable"):
        GenericHttpVendor(vendor).invite(interview_for(vendor))
    assert ats_server.requests() == []


def test_errors_never_quote_the_signing_secret(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("POST", "/interviews", Reply(400, body=f"bad key {LOOPBACK_WHSEC}".encode()))

    with pytest.raises(AtsPermanentError) as raised:
        GenericHttpVendor(vendor).invite(interview_for(vendor))

    assert LOOPBACK_WHSEC not in str(raised.value)
    assert LOOPBACK_WHSEC not in raised.value.excerpt


# -- cancellation ------------------------------------------------------------------------------


def test_cancel_deletes_the_signed_reference(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    interview = interview_for(vendor, invited=True, vendor_reference="vi/42 a")
    ats_server.on("DELETE", "/interviews/{ref}", Reply(204))

    GenericHttpVendor(vendor).cancel(interview)

    [request] = ats_server.requests("DELETE", "/interviews/{ref}")
    assert request.path == "/interviews/vi%2F42%20a"
    assert request.header("webhook-id") == f"{interview.public_id}:cancel"
    Webhook(LOOPBACK_WHSEC).verify("", request.headers, json_parse=False)


def test_cancel_of_an_interview_the_vendor_forgot_is_done(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("DELETE", "/interviews/{ref}", Reply(404, json={"error": "not found"}))

    GenericHttpVendor(vendor).cancel(interview_for(vendor, invited=True))

    assert len(ats_server.requests("DELETE", "/interviews/{ref}")) == 1


def test_cancel_failures_other_than_404_are_raised(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)
    ats_server.on("DELETE", "/interviews/{ref}", Reply.server_error())

    with pytest.raises(AtsServerError):
        GenericHttpVendor(vendor).cancel(interview_for(vendor, invited=True))


def test_cancel_without_a_reference_calls_nobody(ats_server: AtsServer) -> None:
    vendor = loopback_vendor(ats_server)

    GenericHttpVendor(vendor).cancel(interview_for(vendor))

    assert ats_server.requests() == []


# -- parsing events ----------------------------------------------------------------------------


def test_completed_event_is_normalized_to_0_100() -> None:
    [update] = parse_event("interview.completed", fixture("interview_completed"))

    assert update.kind == "completed"
    assert update.vendor_reference == "vi_7Hq2Lm9X"
    assert update.interview_public_id == "6f1c7e0e-5a0b-4a57-9d55-0d7f2c1e9b3a"
    assert update.occurred_at is not None
    assert update.occurred_at.isoformat() == "2026-04-10T09:12:44+00:00"
    result = update.result
    assert result is not None
    assert result.score == Decimal("74.00")
    assert dict(result.competency_scores) == {
        "empathy": Decimal("80.00"),
        "problem_solving": Decimal("65.00"),
    }
    assert len(result.summary_bullets) == 2
    assert result.flags == ()
    assert result.confidence == 0.82
    assert result.transcript_word_count == 1640
    assert result.transcript_url == "https://vendor.example/transcripts/vi_7Hq2Lm9X"
    assert result.recording_url == "https://vendor.example/recordings/vi_7Hq2Lm9X"
    assert result.report_url == "https://vendor.example/reports/vi_7Hq2Lm9X"
    assert result.raw == fixture("interview_completed")


@pytest.mark.parametrize(
    ("score", "scale_max", "expected"),
    [
        (72, None, "72.00"),
        (2, 3, "66.67"),
        (1, 8, "12.50"),
        (0.125, 1, "12.50"),
        (4.005, 10, "40.05"),
        (0, 5, "0.00"),
        (5, 5, "100.00"),
    ],
)
def test_scores_scale_to_0_100_rounded_half_up(
    score: float, scale_max: float | None, expected: str
) -> None:
    payload = fixture("interview_completed")
    payload["result"].update(score=score, competencies=[])
    if scale_max is None:
        del payload["result"]["scale_max"]
    else:
        payload["result"]["scale_max"] = scale_max

    [update] = parse_event("interview.completed", payload)

    assert update.result is not None
    assert update.result.score == Decimal(expected)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": 150, "scale_max": 100}, "result.score 150 is outside the result's scale 0–100"),
        ({"score": 11}, "result.score 11 is outside the result's scale 0–10"),
        ({"score": -1}, "outside"),
        ({"score": True}, "result.score should be a number"),
        ({"score": "7"}, "result.score should be a number"),
        ({"score": None}, "missing required field result.score"),
        ({"scale_max": 0}, "scale_max should be greater than 0"),
        ({"competencies": [{"key": "empathy", "score": 10.5}]}, "competencies.0.score"),
        ({"competencies": [{"key": "", "score": 1}]}, "competencies.0.key"),
        (
            {"competencies": [{"key": "empathy", "score": 1}, {"key": "empathy", "score": 2}]},
            "scored twice",
        ),
        ({"competencies": {"empathy": 8}}, "list of {key, score}"),
        ({"summary": "one long string"}, "result.summary should be a list of strings"),
        ({"flags": ["integrity", "sleepy"]}, "unknown flag(s) sleepy"),
        ({"confidence": 1.2}, "confidence 1.2 is outside 0–1"),
        ({"transcript": {"word_count": -3}}, "word_count"),
        ({"transcript": "https://vendor.example/t"}, "transcript should be an object"),
        ({"report_url": "ftp://vendor.example/r"}, "report_url should be an http(s) URL"),
    ],
)
def test_results_that_cannot_be_applied_as_sent_are_malformed(
    change: dict[str, Any], message: str
) -> None:
    payload = fixture("interview_completed")
    payload["result"].update(change)

    with pytest.raises(MalformedPayloadError) as raised:
        parse_event("interview.completed", payload)

    assert message in str(raised.value)


def test_non_finite_scores_are_refused() -> None:
    payload = json.loads(
        json.dumps(fixture("interview_completed")).replace('"score": 7.4', '"score": NaN')
    )

    with pytest.raises(MalformedPayloadError, match="finite"):
        parse_event("interview.completed", payload)


def test_a_vendor_borderline_flag_is_dropped_and_flags_deduplicated() -> None:
    payload = fixture("interview_completed")
    payload["result"]["flags"] = ["technical", "borderline", "technical", "integrity"]

    [update] = parse_event("interview.completed", payload)

    assert update.result is not None
    assert update.result.flags == ("technical", "integrity")


def test_status_events_carry_no_result() -> None:
    [started] = parse_event("interview.started", fixture("interview_started"))
    [failed] = parse_event("interview.failed", fixture("interview_failed"))

    assert (started.kind, started.result) == ("started", None)
    assert failed.kind == "failed"
    assert failed.detail == "The candidate's microphone could not be detected."


@pytest.mark.parametrize("event_type", ["interview.reminded", "candidate.created", ""])
def test_unknown_event_types_are_ignored(event_type: str) -> None:
    assert parse_event(event_type, fixture("interview_completed")) == []


@pytest.mark.parametrize(
    ("interview", "message"),
    [
        (None, "missing required field interview"),
        ({}, "missing required field interview"),
        ({"id": ""}, "needs an 'id' or an 'external_id'"),
        ({"external_id": "not-a-uuid"}, "not one of our interview ids"),
        ({"id": ["a"]}, "interview.id should be a string"),
    ],
)
def test_an_event_must_name_its_interview(interview: Any, message: str) -> None:
    payload = fixture("interview_started")
    payload["interview"] = interview

    with pytest.raises(MalformedPayloadError, match=message):
        parse_event("interview.started", payload)


def test_a_completed_event_needs_a_result() -> None:
    payload = fixture("interview_completed")
    del payload["result"]

    with pytest.raises(MalformedPayloadError, match="missing required field result"):
        parse_event("interview.completed", payload)


# -- verification (the shared Standard Webhooks code) ------------------------------------------


def test_verify_uses_the_vendors_webhook_secret() -> None:
    from tests.interviews.test_vendor_webhooks import signed

    vendor = VendorFactory.build()
    vendor.set_webhook_secret(f"whsec_b2xkLXNlY3JldC1yb3RhdGVkLWF3YXk= {DEFAULT_VENDOR_SECRET}")
    body, headers = signed(fixture("interview_started"), message_id="msg_1")

    delivery = GenericHttpVendor(vendor).verify(headers, body)

    assert (delivery.delivery_id, delivery.action) == ("msg_1", "interview.started")
    assert delivery.occurred_at is not None
    assert delivery.occurred_at.isoformat() == "2026-04-10T08:47:02+00:00"


@time_machine.travel(dt.datetime.fromtimestamp(1614265330, tz=dt.UTC), tick=False)
def test_verify_accepts_the_published_standard_webhooks_example() -> None:
    # The example from the Standard Webhooks documentation: an independent test vector, also
    # checked against the generic ATS connector (both use connectors/standard_webhooks.py).
    vendor = VendorFactory.build(webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }

    with pytest.raises(MalformedPayloadError, match="no 'type'"):
        GenericHttpVendor(vendor).verify(headers, b'{"test": 2432232314}')
    with pytest.raises(SignatureError, match="does not match"):
        GenericHttpVendor(vendor).verify(headers, b'{"test": 2432232315}')


def test_verify_refuses_when_the_vendor_has_no_secret() -> None:
    from tests.interviews.test_vendor_webhooks import signed

    body, headers = signed(fixture("interview_started"))

    with pytest.raises(SignatureError, match=r"no usable webhook secret .* vendor"):
        GenericHttpVendor(VendorFactory.build(webhook_secret="")).verify(headers, body)


# -- admin -------------------------------------------------------------------------------------

API_KEY = "whsec_" + "c2VjcmV0LWludml0YXRpb24tc2lnbmluZy1rZXk="
WEBHOOK_SECRET = "whsec_dmVuZG9yLXdlYmhvb2stc2VjcmV0LXZhbHVl"


def vendor_form_data(vendor: Vendor | None = None, **overrides: str) -> dict[str, str]:
    data = {
        "name": vendor.name if vendor else "Acme Interviews",
        "slug": vendor.slug if vendor else "acme-interviews",
        "kind": vendor.kind if vendor else "generic_http",
        "active": "on",
        "base_url": vendor.base_url if vendor else "https://api.acme-interviews.example",
        "webhook_secret_env": "",
        "new_webhook_secret": "",
        "api_key_env": "",
        "new_api_key": "",
        "settings": json.dumps(vendor.settings if vendor else {}),
        "_save": "Save",
    }
    data.update(overrides)
    return data


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def staff_recruiter(role_groups: None) -> Any:
    return UserFactory(username="rita", is_staff=True, groups=[RECRUITER])


def vendor_url(view: str, *args: Any) -> str:
    return reverse(f"admin:interviews_vendor_{view}", args=args)


def test_vendor_pages_never_show_a_stored_secret(client: Any, superuser: Any) -> None:
    vendor = VendorFactory(webhook_secret=WEBHOOK_SECRET)
    vendor.set_api_key(API_KEY)
    vendor.save()
    client.force_login(superuser)

    for url in (vendor_url("changelist"), vendor_url("change", vendor.pk)):
        response = client.get(url)
        assert response.status_code == 200
        assert WEBHOOK_SECRET.encode() not in response.content
        assert API_KEY.encode() not in response.content
        assert vendor.webhook_secret_encrypted.encode() not in response.content
    page = client.get(vendor_url("change", vendor.pk)).content.decode()
    assert "Stored encrypted in the database" in page
    assert f"/webhooks/vendor/{vendor.slug}/" in page


def test_an_admin_adds_a_vendor_with_write_only_secrets(client: Any, superuser: Any) -> None:
    client.force_login(superuser)

    response = client.post(
        vendor_url("add"),
        vendor_form_data(new_webhook_secret=WEBHOOK_SECRET, new_api_key=API_KEY),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    vendor = Vendor.objects.get(slug="acme-interviews")
    assert vendor.webhook_secret() == WEBHOOK_SECRET
    assert vendor.api_key() == API_KEY
    assert WEBHOOK_SECRET not in vendor.webhook_secret_encrypted


def test_a_blank_secret_keeps_and_clear_removes(client: Any, superuser: Any) -> None:
    vendor = VendorFactory(webhook_secret=WEBHOOK_SECRET)
    vendor.set_api_key(API_KEY)
    vendor.save()
    client.force_login(superuser)

    client.post(vendor_url("change", vendor.pk), vendor_form_data(vendor))
    vendor.refresh_from_db()
    assert vendor.webhook_secret() == WEBHOOK_SECRET

    client.post(vendor_url("change", vendor.pk), vendor_form_data(vendor, clear_api_key="on"))
    vendor.refresh_from_db()
    assert not vendor.has_api_key
    assert vendor.webhook_secret() == WEBHOOK_SECRET


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"new_api_key": "plain-text-key!"}, "whsec_&lt;base64&gt;"),
        ({"base_url": ""}, "needs its API base URL"),
        (
            {"new_webhook_secret": WEBHOOK_SECRET, "webhook_secret_env": "ACME_SECRET"},
            "read from the environment variable ACME_SECRET",
        ),
        (
            {"kind": "rehearsal", "base_url": "", "settings": '{"script": {"score": 1}}'},
            "settings.script must be a list",
        ),
    ],
)
def test_invalid_vendor_forms_say_what_is_wrong_and_never_echo_secrets(
    client: Any, superuser: Any, overrides: dict[str, str], message: str
) -> None:
    client.force_login(superuser)

    response = client.post(vendor_url("add"), vendor_form_data(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    for value in (overrides.get("new_api_key"), overrides.get("new_webhook_secret")):
        if value:
            assert value.encode() not in response.content
    assert not Vendor.objects.exists()


def test_a_recruiter_cannot_open_the_vendor_admin(client: Any, staff_recruiter: Any) -> None:
    vendor = VendorFactory()
    client.force_login(staff_recruiter)

    assert client.get(vendor_url("changelist")).status_code == 403
    assert client.get(vendor_url("change", vendor.pk)).status_code == 403
    assert client.post(vendor_url("add"), vendor_form_data()).status_code == 403
    assert Vendor.objects.count() == 1


def test_staff_with_the_vendor_permissions_can_manage_vendors(
    client: Any, staff_recruiter: Any
) -> None:
    staff_recruiter.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="interviews", codename__in=["view_vendor", "add_vendor"]
        )
    )
    client.force_login(staff_recruiter)

    assert client.get(vendor_url("changelist")).status_code == 200
    response = client.post(vendor_url("add"), vendor_form_data(new_api_key=API_KEY))
    assert response.status_code == 302
    assert Vendor.objects.get().api_key() == API_KEY


def test_the_rehearsal_vendor_page_says_it_sends_no_webhooks(client: Any, superuser: Any) -> None:
    vendor = VendorFactory(kind=VendorKind.REHEARSAL, base_url="")
    client.force_login(superuser)

    page = client.get(vendor_url("change", vendor.pk)).content.decode()

    assert "the rehearsal vendor sends no webhooks" in page


def test_webhook_url_is_built_from_the_public_url() -> None:
    vendor = VendorFactory.build(slug="acme")
    with override_settings(SCREENBRIDGE_PUBLIC_URL="https://sb.example/"):
        assert webhook_url(vendor) == "https://sb.example/webhooks/vendor/acme/"
