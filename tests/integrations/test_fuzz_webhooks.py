"""Fuzzing the ATS webhook path: every connector's parser, and the HTTP endpoint.

Properties (Hypothesis, profile in tests/fuzzing.py):

- ``verify`` of every provider, given any bytes and any headers, returns a Delivery or raises
  SignatureError / MalformedPayloadError — nothing else, so the view can always answer 4xx;
- a properly signed hostile body (wrong types, odd unicode, huge or deep values) is either a
  Delivery or MalformedPayloadError, and each connector's ``normalize`` of it returns stage
  changes or raises MalformedPayloadError;
- the endpoint answers hostile bodies, signed and unsigned, with 200 or a JSON 4xx — never 500,
  and an unsigned one never stores anything.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from integrations import registry
from integrations.connectors import standard_webhooks
from integrations.connectors.base import Delivery, MalformedPayloadError, SignatureError
from integrations.models import AtsConnection, InboundEvent
from tests.fuzzing import (
    HOSTILE_RAW_BODIES,
    dumps,
    hostile_objects,
    json_values,
    odd_text,
    through_http,
)
from tests.integrations.test_signatures import (
    PROVIDERS,
    SECRETS,
    VERIFY,
    built_connection,
    connection_for,
    fixture_body,
    main_delivery,
    signed,
)
from tests.integrations.test_webhooks import post

ALLOWED_ANSWERS = {200, 400, 401, 413}
SIGNATURE_HEADERS = ["Signature", "Ashby-Signature", "webhook-id", "webhook-timestamp"]
LEVER_TRIGGERED_AT = 1_775_000_000_000  # epoch ms in the past (Lever refuses future events)
header_maps = st.dictionaries(
    st.sampled_from([*SIGNATURE_HEADERS, "webhook-signature", "Greenhouse-Event-ID", "X-Other"]),
    odd_text.filter(lambda value: "\x00" not in value),
    max_size=5,
)


def signed_bytes(provider: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    """Like ``signed``, for any bytes (the reference signer wants text; non-UTF-8 is hostile)."""
    if provider != "generic":
        return signed(provider, body)
    key = standard_webhooks.outbound_signing_key(SECRETS["generic"])
    timestamp = int(time.time())
    return body, {
        "Content-Type": "application/json",
        "webhook-id": "msg_fuzz",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhooks.sign(key, "msg_fuzz", timestamp, body),
    }


def _payload_of(provider: str) -> dict[str, Any]:
    return json.loads(fixture_body(provider, _fixture_name(provider)))


def _fixture_name(provider: str) -> str:
    return "application_stage_changed" if provider == "generic" else "candidate_stage_change"


def hostile_delivery(provider: str, data: st.DataObject) -> bytes:
    """A body in the provider's shape whose fields (top level and one level down) are hostile."""
    payload = _payload_of(provider)
    payload.update(data.draw(hostile_objects(list(payload)), label="top level"))
    nested = [key for key, value in payload.items() if isinstance(value, dict)]
    if nested:
        key = data.draw(st.sampled_from(nested), label="nested object")
        payload[key] = {**payload[key], **data.draw(hostile_objects(list(payload[key])))}
    if provider == "lever":
        # Lever signs token + triggeredAt inside the body: keep them signable.
        payload["token"] = str(payload.get("token")) or "token"
        payload["triggeredAt"] = LEVER_TRIGGERED_AT
        payload.pop("signature", None)  # signed() adds the real one
    return dumps(payload)


@pytest.mark.parametrize("provider", PROVIDERS)
@given(body=st.binary(max_size=300) | st.sampled_from(HOSTILE_RAW_BODIES), headers=header_maps)
def test_verify_of_any_bytes_and_headers_refuses_cleanly(
    provider: str, body: bytes, headers: dict[str, str]
) -> None:
    try:
        delivery = VERIFY[provider](built_connection(provider), headers, body)
    except (SignatureError, MalformedPayloadError):
        return
    # Only a correctly signed delivery gets through; random input never is (Lever signs in the
    # body, so a body that happens to carry a valid signature would — but never by chance).
    pytest.fail(f"unsigned input accepted as {delivery!r}")


@pytest.mark.parametrize("provider", PROVIDERS)
@given(data=st.data())
def test_a_signed_hostile_body_is_a_delivery_or_malformed_and_normalizes_cleanly(
    provider: str, data: st.DataObject
) -> None:
    connection = built_connection(provider)
    body, headers = signed(provider, hostile_delivery(provider, data))
    try:
        delivery = VERIFY[provider](connection, headers, body)
    except MalformedPayloadError:
        return
    assert isinstance(delivery, Delivery)
    payload = json.loads(body)
    mapping = registry.mapping_module(provider)
    try:
        changes = mapping.normalize(connection, delivery.action, payload, client=None)
    except MalformedPayloadError:
        return
    assert isinstance(changes, list)
    for change in changes:
        assert isinstance(change.application_remote_id, str)
        assert change.application_remote_id


@pytest.mark.parametrize("provider", PROVIDERS)
@given(value=json_values)
def test_any_json_value_signed_is_a_delivery_or_malformed(provider: str, value: Any) -> None:
    connection = built_connection(provider)
    if provider == "lever":
        value = {"token": "t", "triggeredAt": LEVER_TRIGGERED_AT, "event": value, "data": value}
    body, headers = signed(provider, dumps(value))
    try:
        delivery = VERIFY[provider](connection, headers, body)
    except MalformedPayloadError:
        return
    assert isinstance(delivery.action, str)
    assert delivery.action


# -- the HTTP endpoint ---------------------------------------------------------------------------


def fuzz_connection(provider: str) -> AtsConnection:
    """One connection per test, shared by its examples (they run in one test transaction)."""
    slug = f"fuzz-{provider}"
    return AtsConnection.objects.filter(slug=slug).first() or connection_for(provider, slug=slug)


def _assert_clean(response: Any) -> None:
    assert response.status_code in ALLOWED_ANSWERS, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    json.loads(response.content)


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("raw", HOSTILE_RAW_BODIES, ids=lambda raw: f"{raw[:16]!r}+{len(raw)}")
def test_hostile_raw_bodies_are_answered_4xx_signed_or_not(
    provider: str, raw: bytes, client: Client
) -> None:
    connection = fuzz_connection(provider)
    if provider == "lever":  # the signature lives inside a JSON body; raw bytes carry none
        body, headers = raw, {"Content-Type": "application/json"}
    else:
        body, headers = signed_bytes(provider, raw)
    _assert_clean(post(client, connection, body, headers))
    _assert_clean(post(client, connection, raw, {"Content-Type": "application/json"}))


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@through_http
@given(data=st.data())
def test_signed_hostile_deliveries_are_answered_200_or_4xx(
    provider: str, data: st.DataObject, client: Client
) -> None:
    connection = fuzz_connection(provider)
    body, headers = signed(provider, hostile_delivery(provider, data))
    _assert_clean(post(client, connection, body, headers))


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@through_http
@given(data=st.data())
def test_unsigned_hostile_deliveries_are_401_and_store_nothing(
    provider: str, data: st.DataObject, client: Client
) -> None:
    connection = fuzz_connection(provider)
    body = hostile_delivery(provider, data)
    headers = data.draw(header_maps, label="headers")
    response = post(client, connection, body, headers)
    assert response.status_code in {400, 401, 413}, response.content[:300]
    assert not InboundEvent.objects.filter(connection=connection).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_real_delivery_still_passes_among_the_fuzz(provider: str, client: Client) -> None:
    """The fuzz targets are live: the endpoint accepts the genuine delivery with these helpers."""
    connection = fuzz_connection(provider)
    body, headers = main_delivery(provider)
    response = post(client, connection, body, headers)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
