"""Each provider's ``verify(connection, headers, body)`` on its own, without HTTP or a database.

The signing helpers here build deliveries the way each ATS does and are shared with
``test_webhooks.py``. Fixtures in ``tests/fixtures/<provider>/`` follow the documented shapes:
Greenhouse (developers.greenhouse.io/webhooks.html), Lever (hire.lever.co/developer/documentation;
their ``signature`` fields are valid for ``DEFAULT_WEBHOOK_SECRET``), Ashby
(developers.ashbyhq.com/docs) and the generic shape documented in
``integrations/connectors/generic/webhook.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from integrations.connectors.ashby import webhook as ashby
from integrations.connectors.base import Delivery, MalformedPayloadError, SignatureError
from integrations.connectors.generic import webhook as generic
from integrations.connectors.greenhouse import webhook as greenhouse
from integrations.connectors.lever import webhook as lever
from integrations.models import AtsConnection
from tests.factories import AtsConnectionFactory
from tests.factories.integrations import DEFAULT_WEBHOOK_SECRET

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROVIDERS = ["greenhouse", "lever", "ashby", "generic"]

# Standard Webhooks secrets are serialised as whsec_ + base64 of random bytes.
GENERIC_SECRET = "whsec_" + base64.b64encode(b"screenbridge-generic-test-key-01").decode()
OTHER_GENERIC_SECRET = "whsec_" + base64.b64encode(b"somebody-else-entirely-key-00000").decode()
OTHER_SECRET = "somebody-elses-webhook-secret"
SECRETS = {
    "greenhouse": DEFAULT_WEBHOOK_SECRET,
    "lever": DEFAULT_WEBHOOK_SECRET,
    "ashby": DEFAULT_WEBHOOK_SECRET,
    "generic": GENERIC_SECRET,
}
WRONG_SECRETS = {
    "greenhouse": OTHER_SECRET,
    "lever": OTHER_SECRET,
    "ashby": OTHER_SECRET,
    "generic": OTHER_GENERIC_SECRET,
}
MAIN_FIXTURES = {
    "greenhouse": "candidate_stage_change",
    "lever": "candidate_stage_change",
    "ashby": "candidate_stage_change",
    "generic": "application_stage_changed",
}
GREENHOUSE_EVENT_ID = "b5e2d1a0-7c4f-4e36-9a8b-2f1e0d3c4b5a"
GENERIC_MESSAGE_ID = "msg_2b5Tq8hKxWf9sYc3N1pLr7Vd"
EXPECTED = {  # (delivery id, action) of each main fixture signed by the helpers below
    "greenhouse": (GREENHOUSE_EVENT_ID, "candidate_stage_change"),
    "lever": ("7a1f6f0e-4b8e-4c54-9f3e-1d2b3c4d5e6f", "candidateStageChange"),
    "ashby": ("75395d87-4044-4dc4-bc29-0cec185e5f06:candidateStageChange", "candidateStageChange"),
    "generic": (GENERIC_MESSAGE_ID, "application.stage_changed"),
}
VERIFY = {
    "greenhouse": greenhouse.verify,
    "lever": lever.verify,
    "ashby": ashby.verify,
    "generic": generic.verify,
}


# -- helpers shared with test_webhooks.py --------------------------------------------------------


def fixture_body(provider: str, name: str) -> bytes:
    """The fixture file's exact bytes (signatures cover bytes, not parsed JSON)."""
    return (FIXTURES / provider / f"{name}.json").read_bytes()


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def greenhouse_headers(
    body: bytes, *, secret: str = DEFAULT_WEBHOOK_SECRET, event_id: str | None = GREENHOUSE_EVENT_ID
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Greenhouse-Webhooks",
        "Signature": f"sha256 {hex_hmac(secret, body)}",
    }
    if event_id is not None:
        headers["Greenhouse-Event-ID"] = event_id
    return headers


def ashby_headers(body: bytes, *, secret: str = DEFAULT_WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Ashby-Signature": f"sha256={hex_hmac(secret, body)}",
    }


def lever_sign(
    body: bytes,
    *,
    secret: str = DEFAULT_WEBHOOK_SECRET,
    token: str | None = None,
    triggered_at: int | None = None,
) -> bytes:
    """The body with Lever's in-body signature (re)computed; Lever does not sign the bytes."""
    payload = json.loads(body)
    if token is not None:
        payload["token"] = token
    if triggered_at is not None:
        payload["triggeredAt"] = triggered_at
    message = f"{payload['token']}{payload['triggeredAt']}".encode()
    payload["signature"] = hex_hmac(secret, message)
    return json.dumps(payload, indent=2).encode()


LEVER_HEADERS = {"Content-Type": "application/json", "User-Agent": "Lever-Webhooks"}


def generic_headers(
    body: bytes,
    *,
    secret: str = GENERIC_SECRET,
    message_id: str = GENERIC_MESSAGE_ID,
    timestamp: dt.datetime | None = None,
) -> dict[str, str]:
    """Standard Webhooks headers signed by the reference library (an independent signer)."""
    sent_at = timestamp or timezone.now()
    signer = Webhook(secret if secret.startswith("whsec_") else secret.encode())
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signer.sign(message_id, sent_at, body.decode()),
    }


def signed(
    provider: str, body: bytes, *, secret: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body as the provider sends it, with its signature headers."""
    secret = secret or SECRETS[provider]
    if provider == "greenhouse":
        return body, greenhouse_headers(body, secret=secret)
    if provider == "lever":
        return lever_sign(body, secret=secret), dict(LEVER_HEADERS)
    if provider == "ashby":
        return body, ashby_headers(body, secret=secret)
    return body, generic_headers(body, secret=secret)


def main_delivery(provider: str) -> tuple[bytes, dict[str, str]]:
    return signed(provider, fixture_body(provider, MAIN_FIXTURES[provider]))


def tampered(provider: str, body: bytes) -> bytes:
    """A change to the signed part of a delivery (for Lever that is the token, not ``data``)."""
    if provider == "lever":
        payload = json.loads(body)
        payload["token"] = payload["token"][::-1]
        return json.dumps(payload).encode()
    assert b"AI Interview" in body
    return body.replace(b"AI Interview", b"Offer", 1)


def without_signature(provider: str, body: bytes, headers: dict[str, str]) -> tuple[bytes, dict]:
    """The delivery with its signature removed."""
    if provider == "lever":
        payload = json.loads(body)
        del payload["signature"]
        return json.dumps(payload).encode(), headers
    name = {"greenhouse": "Signature", "ashby": "Ashby-Signature", "generic": "webhook-signature"}
    return body, {k: v for k, v in headers.items() if k != name[provider]}


def malformed_but_signed(provider: str) -> tuple[bytes, dict[str, str]]:
    """An authentic delivery whose body cannot be understood."""
    if provider == "lever":
        # Lever's signature lives in the body, so the JSON must parse; the event name is missing.
        body = fixture_body("lever", "candidate_stage_change")
        payload = json.loads(body)
        del payload["event"]
        return lever_sign(json.dumps(payload).encode()), dict(LEVER_HEADERS)
    return signed(provider, b'{"action": "candidate_stage_change", "payload": {')


def connection_for(provider: str, **kwargs: Any) -> AtsConnection:
    kwargs.setdefault("webhook_secret", SECRETS[provider])
    return AtsConnectionFactory(provider=provider, **kwargs)


def built_connection(provider: str, secret: str | None = None) -> AtsConnection:
    """An unsaved connection (verify never touches the database)."""
    return AtsConnectionFactory.build(
        provider=provider, webhook_secret=SECRETS[provider] if secret is None else secret
    )


# -- every provider --------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_valid_signature_names_the_delivery(provider: str) -> None:
    body, headers = main_delivery(provider)

    delivery = VERIFY[provider](built_connection(provider), headers, body)

    assert (delivery.delivery_id, delivery.action) == EXPECTED[provider]
    assert delivery.is_ping is False


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tampered_delivery_is_refused(provider: str) -> None:
    body, headers = main_delivery(provider)

    with pytest.raises(SignatureError, match="does not match"):
        VERIFY[provider](built_connection(provider), headers, tampered(provider, body))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_signature_made_with_another_secret_is_refused(provider: str) -> None:
    body, headers = signed(
        provider,
        fixture_body(provider, MAIN_FIXTURES[provider]),
        secret=WRONG_SECRETS[provider],
    )

    with pytest.raises(SignatureError, match="does not match"):
        VERIFY[provider](built_connection(provider), headers, body)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_signature_is_refused(provider: str) -> None:
    body, headers = without_signature(provider, *main_delivery(provider))

    with pytest.raises(SignatureError, match=r"(?i)missing|no lever 'signature'"):
        VERIFY[provider](built_connection(provider), headers, body)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connection_without_a_secret_refuses_everything(provider: str) -> None:
    body, headers = main_delivery(provider)

    with pytest.raises(SignatureError, match="no usable webhook secret"):
        VERIFY[provider](built_connection(provider, secret=""), headers, body)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_secret_from_an_unset_environment_variable_refuses_everything(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SB_TEST_UNSET_WEBHOOK_SECRET", raising=False)
    connection = built_connection(provider)
    connection.webhook_secret_env = "SB_TEST_UNSET_WEBHOOK_SECRET"
    body, headers = main_delivery(provider)

    with pytest.raises(SignatureError, match="no usable webhook secret"):
        VERIFY[provider](connection, headers, body)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_any_of_several_whitespace_separated_secrets_may_match(provider: str) -> None:
    # Rotation, or one secret per webhook (Lever and Ashby issue one per event type).
    body, headers = main_delivery(provider)
    connection = built_connection(
        provider, secret=f"{WRONG_SECRETS[provider]}\n{SECRETS[provider]}"
    )

    assert VERIFY[provider](connection, headers, body).delivery_id == EXPECTED[provider][0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_signatures_are_compared_in_constant_time(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_compare = hmac.compare_digest
    calls: list[tuple[Any, Any]] = []

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body, headers = main_delivery(provider)

    VERIFY[provider](built_connection(provider), headers, body)
    assert calls, "the signature was not compared with hmac.compare_digest"
    with pytest.raises(SignatureError):
        VERIFY[provider](built_connection(provider), headers, tampered(provider, body))
    assert len(calls) >= 2


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", [str.lower, str.upper, str.title], ids=["lower", "upper", "title"])
def test_header_names_are_case_insensitive(provider: str, case: Any) -> None:
    body, headers = main_delivery(provider)
    recased = {case(name): value for name, value in headers.items()}

    delivery = VERIFY[provider](built_connection(provider), recased, body)

    assert (delivery.delivery_id, delivery.action) == EXPECTED[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_refusal_reasons_never_contain_the_secret(provider: str) -> None:
    body, headers = signed(
        provider,
        fixture_body(provider, MAIN_FIXTURES[provider]),
        secret=WRONG_SECRETS[provider],
    )

    with pytest.raises(SignatureError) as refused:
        VERIFY[provider](built_connection(provider), headers, body)

    assert SECRETS[provider] not in str(refused.value)
    assert WRONG_SECRETS[provider] not in str(refused.value)


@pytest.mark.parametrize("provider", ["greenhouse", "ashby", "generic"])
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"action": "candidate_stage_change", "payload": {', "not valid JSON"),
        (b'["candidate_stage_change"]', "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
    ids=["truncated", "array", "deeply-nested"],
)
def test_authentic_but_unreadable_body_is_malformed(
    provider: str, raw: bytes, message: str
) -> None:
    body, headers = signed(provider, raw)

    with pytest.raises(MalformedPayloadError, match=message):
        VERIFY[provider](built_connection(provider), headers, body)


@pytest.mark.parametrize("provider", ["greenhouse", "ashby"])
def test_authentic_body_without_an_action_is_malformed(provider: str) -> None:
    body, headers = signed(provider, b'{"payload": {}}')

    with pytest.raises(MalformedPayloadError, match="no 'action'"):
        VERIFY[provider](built_connection(provider), headers, body)


@pytest.mark.parametrize("provider", ["greenhouse", "ashby"])
def test_authentic_body_that_is_not_utf8_is_malformed(provider: str) -> None:
    # json.loads(bytes) would read UTF-16; the body must be stored as UTF-8 text.
    body, headers = signed(provider, '{"action": "ping"}'.encode("utf-16"))

    with pytest.raises(MalformedPayloadError, match="UTF-8"):
        VERIFY[provider](built_connection(provider), headers, body)


# -- Greenhouse ------------------------------------------------------------------------------------


def test_greenhouse_signs_the_escaped_unicode_exactly_as_sent() -> None:
    body, headers = main_delivery("greenhouse")
    assert b"\\u003cp\\u003e" in body
    reserialized = json.dumps(json.loads(body), ensure_ascii=False).encode()

    assert greenhouse.verify(built_connection("greenhouse"), headers, body).action
    with pytest.raises(SignatureError):
        greenhouse.verify(built_connection("greenhouse"), headers, reserialized)


def test_greenhouse_delivery_id_falls_back_to_the_body_digest() -> None:
    body = fixture_body("greenhouse", "reject_candidate")
    headers = greenhouse_headers(body, event_id=None)

    delivery = greenhouse.verify(built_connection("greenhouse"), headers, body)

    assert delivery.delivery_id == hashlib.sha256(body).hexdigest()
    assert delivery.action == "reject_candidate"
    assert delivery.occurred_at is None


def test_greenhouse_ping_is_recognised() -> None:
    body = fixture_body("greenhouse", "ping")

    delivery = greenhouse.verify(built_connection("greenhouse"), greenhouse_headers(body), body)

    assert delivery.is_ping is True


def test_greenhouse_accepts_an_upper_case_hex_digest() -> None:
    body = fixture_body("greenhouse", "candidate_stage_change")
    headers = {"Signature": f"sha256 {hex_hmac(DEFAULT_WEBHOOK_SECRET, body).upper()}"}

    assert greenhouse.verify(built_connection("greenhouse"), headers, body).action


@pytest.mark.parametrize(
    "header",
    ["sha1 {digest}", "sha256={digest}", "sha256", "sha256 ", "{digest}", "sha256 é{digest}"],
)
def test_greenhouse_refuses_a_malformed_signature_header(header: str) -> None:
    body = fixture_body("greenhouse", "candidate_stage_change")
    value = header.format(digest=hex_hmac(DEFAULT_WEBHOOK_SECRET, body))

    with pytest.raises(SignatureError):
        greenhouse.verify(built_connection("greenhouse"), {"Signature": value}, body)


# -- Lever -----------------------------------------------------------------------------------------


def test_lever_fixture_signature_is_valid_as_stored() -> None:
    body = fixture_body("lever", "candidate_archive_change")

    delivery = lever.verify(built_connection("lever"), {}, body)

    assert delivery.delivery_id == "c51d9e34-8a27-4f0b-9d6e-2b7f1a3c5e80"
    assert delivery.action == "candidateArchiveChange"
    assert delivery.occurred_at == dt.datetime(2026, 4, 14, 11, 2, 17, 418000, tzinfo=dt.UTC)


def test_lever_delivery_id_falls_back_to_the_token() -> None:
    payload = json.loads(fixture_body("lever", "candidate_stage_change"))
    del payload["id"]
    body = lever_sign(json.dumps(payload).encode())

    delivery = lever.verify(built_connection("lever"), {}, body)

    assert delivery.delivery_id == payload["token"]


@time_machine.travel(dt.datetime(2026, 4, 9, 16, 38, 36, tzinfo=dt.UTC), tick=False)
@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (dt.timedelta(minutes=-4), True),
        (dt.timedelta(minutes=4), True),
        (dt.timedelta(minutes=6), False),
        (dt.timedelta(days=-14), True),  # a two-week-old manual rerun
    ],
    ids=["4-min-old", "4-min-ahead", "6-min-ahead", "14-days-old"],
)
def test_lever_refuses_only_events_from_the_future(offset: dt.timedelta, accepted: bool) -> None:
    triggered_at = int((timezone.now() + offset).timestamp() * 1000)
    body = lever_sign(fixture_body("lever", "candidate_stage_change"), triggered_at=triggered_at)

    if accepted:
        assert lever.verify(built_connection("lever"), {}, body).occurred_at
    else:
        with pytest.raises(SignatureError, match="future"):
            lever.verify(built_connection("lever"), {}, body)


@pytest.mark.parametrize(
    "change",
    [
        {"token": None},
        {"token": ""},
        {"triggeredAt": None},
        {"triggeredAt": "1775752716072"},
        {"triggeredAt": True},
        {"triggeredAt": 1775752716072.0},
        {"signature": None},
        {"signature": 12345},
    ],
    ids=repr,
)
def test_lever_refuses_missing_or_mistyped_signature_fields(change: dict[str, Any]) -> None:
    payload = json.loads(fixture_body("lever", "candidate_stage_change"))
    for key, value in change.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value

    with pytest.raises(SignatureError):
        lever.verify(built_connection("lever"), {}, json.dumps(payload).encode())


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b""], ids=repr)
def test_lever_body_that_cannot_carry_a_signature_is_refused_as_unsigned(body: bytes) -> None:
    with pytest.raises(SignatureError, match="Lever signature"):
        lever.verify(built_connection("lever"), {}, body)


def test_lever_changed_triggered_at_breaks_the_signature() -> None:
    payload = json.loads(fixture_body("lever", "candidate_stage_change"))
    payload["triggeredAt"] += 1

    with pytest.raises(SignatureError, match="does not match"):
        lever.verify(built_connection("lever"), {}, json.dumps(payload).encode())


def test_lever_absurd_timestamp_is_refused_not_crashed() -> None:
    body = lever_sign(fixture_body("lever", "candidate_stage_change"), triggered_at=-(10**20))

    with pytest.raises(SignatureError, match="not a valid timestamp"):
        lever.verify(built_connection("lever"), {}, body)


# -- Ashby -----------------------------------------------------------------------------------------


def test_ashby_related_webhooks_get_distinct_delivery_ids() -> None:
    connection = built_connection("ashby")
    deliveries = [
        ashby.verify(connection, ashby_headers(body), body)
        for body in (
            fixture_body("ashby", "candidate_stage_change"),
            fixture_body("ashby", "application_update"),
        )
    ]

    assert [d.delivery_id for d in deliveries] == [
        "75395d87-4044-4dc4-bc29-0cec185e5f06:candidateStageChange",
        "75395d87-4044-4dc4-bc29-0cec185e5f06:applicationUpdate",
    ]
    assert {d.occurred_at for d in deliveries} == {
        dt.datetime(2026, 4, 9, 16, 38, 36, tzinfo=dt.UTC)
    }


def test_ashby_without_action_id_falls_back_to_application_and_update_time() -> None:
    payload = json.loads(fixture_body("ashby", "application_update"))
    del payload["webhookActionId"]
    body = json.dumps(payload).encode()

    delivery = ashby.verify(built_connection("ashby"), ashby_headers(body), body)

    assert delivery.delivery_id == (
        "3ae2b801-19f6-41ef-ad28-214bd731948f:2026-04-09T16:38:36.000Z:applicationUpdate"
    )


def test_ashby_event_without_action_id_or_application_is_named_by_its_digest() -> None:
    body = b'{"action": "jobUpdate", "data": {"job": {"id": "968209bc"}}}'

    delivery = ashby.verify(built_connection("ashby"), ashby_headers(body), body)

    assert delivery.delivery_id == hashlib.sha256(body).hexdigest()
    assert delivery.occurred_at is None


def test_ashby_ping_is_recognised() -> None:
    body = fixture_body("ashby", "ping")

    delivery = ashby.verify(built_connection("ashby"), ashby_headers(body), body)

    assert (delivery.action, delivery.is_ping) == ("ping", True)


def test_ashby_unreadable_update_time_leaves_occurred_at_empty() -> None:
    payload = json.loads(fixture_body("ashby", "candidate_stage_change"))
    payload["data"]["application"]["updatedAt"] = "last Tuesday"
    body = json.dumps(payload).encode()

    assert ashby.verify(built_connection("ashby"), ashby_headers(body), body).occurred_at is None


@pytest.mark.parametrize(
    "header", ["sha256 {digest}", "sha1={digest}", "{digest}", "sha256=", "sha256=zz{digest}"]
)
def test_ashby_refuses_a_malformed_signature_header(header: str) -> None:
    body = fixture_body("ashby", "candidate_stage_change")
    value = header.format(digest=hex_hmac(DEFAULT_WEBHOOK_SECRET, body))

    with pytest.raises(SignatureError):
        ashby.verify(built_connection("ashby"), {"Ashby-Signature": value}, body)


# -- generic (Standard Webhooks) -------------------------------------------------------------------


@time_machine.travel(dt.datetime.fromtimestamp(1614265330, tz=dt.UTC), tick=False)
def test_generic_verifies_the_published_standard_webhooks_example() -> None:
    # The example from the Standard Webhooks / Svix documentation: an independent test vector.
    connection = built_connection("generic", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }

    # The signature is accepted; the example body is simply not one of our events.
    with pytest.raises(MalformedPayloadError, match="no 'type'"):
        generic.verify(connection, headers, b'{"test": 2432232314}')
    with pytest.raises(SignatureError):
        generic.verify(connection, headers, b'{"test": 2432232315}')


def test_generic_occurred_at_comes_from_the_body() -> None:
    body, headers = main_delivery("generic")

    delivery = generic.verify(built_connection("generic"), headers, body)

    assert delivery.occurred_at == dt.datetime(2026, 4, 9, 16, 38, 36, tzinfo=dt.UTC)


@time_machine.travel(dt.datetime(2026, 4, 9, 17, 0, 5, tzinfo=dt.UTC), tick=False)
def test_generic_occurred_at_falls_back_to_the_webhook_timestamp() -> None:
    payload = json.loads(fixture_body("generic", "application_stage_changed"))
    del payload["occurred_at"]
    body, headers = signed("generic", json.dumps(payload).encode())

    delivery = generic.verify(built_connection("generic"), headers, body)

    assert delivery.occurred_at == dt.datetime(2026, 4, 9, 17, 0, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["2026-04-09 16:38", "yesterday", 1775752716, ["2026-04-09"]])
def test_generic_unreadable_occurred_at_is_malformed(value: Any) -> None:
    payload = json.loads(fixture_body("generic", "application_stage_changed"))
    payload["occurred_at"] = value
    body, headers = signed("generic", json.dumps(payload).encode())

    with pytest.raises(MalformedPayloadError, match="occurred_at"):
        generic.verify(built_connection("generic"), headers, body)


def test_generic_body_without_a_type_is_malformed() -> None:
    body, headers = signed("generic", b'{"application": {"id": "app_1"}}')

    with pytest.raises(MalformedPayloadError, match="no 'type'"):
        generic.verify(built_connection("generic"), headers, body)


def test_generic_accepts_a_raw_secret_as_its_utf8_bytes() -> None:
    body = fixture_body("generic", "application_stage_changed")
    headers = generic_headers(body, secret=DEFAULT_WEBHOOK_SECRET)

    delivery = generic.verify(built_connection("generic", DEFAULT_WEBHOOK_SECRET), headers, body)

    assert delivery.delivery_id == GENERIC_MESSAGE_ID


def test_generic_accepts_any_matching_signature_in_the_list() -> None:
    body = fixture_body("generic", "application_stage_changed")
    headers = generic_headers(body)
    stale = generic_headers(body, secret=OTHER_GENERIC_SECRET)["webhook-signature"]
    headers["webhook-signature"] = (
        f"v1a,bm90LWFuLWVkMjU1MTktc2lnbmF0dXJl {stale}  {headers['webhook-signature']} junk"
    )

    assert generic.verify(built_connection("generic"), headers, body).action


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (dt.timedelta(minutes=-6), "more than 5 minutes old"),
        (dt.timedelta(minutes=6), "more than 5 minutes in the future"),
        (dt.timedelta(days=-3), "more than 5 minutes old"),
    ],
    ids=["6-min-old", "6-min-ahead", "3-days-old"],
)
def test_generic_refuses_timestamps_outside_five_minutes(
    offset: dt.timedelta, message: str
) -> None:
    body = fixture_body("generic", "application_stage_changed")
    headers = generic_headers(body, timestamp=timezone.now() + offset)

    with pytest.raises(SignatureError, match=message):
        generic.verify(built_connection("generic"), headers, body)


@pytest.mark.parametrize("offset", [dt.timedelta(minutes=-4), dt.timedelta(minutes=4)])
def test_generic_accepts_timestamps_within_five_minutes(offset: dt.timedelta) -> None:
    body = fixture_body("generic", "application_stage_changed")
    headers = generic_headers(body, timestamp=timezone.now() + offset)

    assert generic.verify(built_connection("generic"), headers, body).action


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_generic_refuses_a_missing_header(missing: str) -> None:
    body, headers = main_delivery("generic")
    del headers[missing]

    with pytest.raises(SignatureError, match=f"missing {missing}"):
        generic.verify(built_connection("generic"), headers, body)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-timestamp", "1.7e9"),
        ("webhook-timestamp", "-1"),
        ("webhook-timestamp", "999999999999999"),
        ("webhook-signature", "v1"),
        ("webhook-signature", "v1,"),
        ("webhook-signature", "v1,!!!not-base64"),
        ("webhook-signature", "v1,a,b"),
        ("webhook-signature", "v2,c2lnbmF0dXJl"),
        ("webhook-signature", "v1,c2lnbmF0dXJl"),  # well-formed, wrong
    ],
)
def test_generic_refuses_malformed_headers_without_crashing(name: str, value: str) -> None:
    body, headers = main_delivery("generic")
    headers[name] = value

    with pytest.raises(SignatureError):
        generic.verify(built_connection("generic"), headers, body)


def test_generic_body_that_is_not_utf8_is_refused_as_unverifiable() -> None:
    body = '{"type": "application.stage_changed"}'.encode("utf-16")
    headers = generic_headers(b"{}")

    with pytest.raises(SignatureError, match="UTF-8"):
        generic.verify(built_connection("generic"), headers, body)


def test_generic_secret_that_is_not_valid_base64_is_refused() -> None:
    body, headers = main_delivery("generic")

    with pytest.raises(SignatureError, match="not valid base64"):
        generic.verify(built_connection("generic", secret="whsec_not*base64!"), headers, body)


def test_delivery_is_the_base_contract_type() -> None:
    body, headers = main_delivery("generic")

    assert isinstance(generic.verify(built_connection("generic"), headers, body), Delivery)
