"""Fuzzing the vendor webhook (parser and endpoint) and properties of band computation.

- ``parse_event`` of any payload returns updates or raises MalformedPayloadError; a parsed
  result is always on the 0–100 scale;
- the vendor endpoint answers hostile bodies, signed and unsigned, with 200 or a JSON 4xx
  (never 500) and stores nothing it refused;
- bands: any valid threshold list (strictly descending cuts ending at 0) gives every score in
  0–100 exactly one band, monotonic in the score; a band's cut is where it starts; borderline
  means "within the margin of a non-zero cut" and widening the margin never un-flags a score.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from hypothesis import assume, given
from hypothesis import strategies as st

from integrations.connectors.base import MalformedPayloadError
from integrations.connectors.standard_webhooks import outbound_signing_key, sign
from interviews.models import VendorEvent, validate_band_thresholds
from interviews.scoring import band_for, borderline_cut, is_borderline, recommended_outcome
from interviews.vendors.generic_http import EVENT_KINDS, parse_event
from tests.factories import VendorFactory
from tests.factories.interviews import DEFAULT_VENDOR_SECRET
from tests.fuzzing import (
    HOSTILE_RAW_BODIES,
    dumps,
    hostile_objects,
    json_values,
    odd_text,
    through_http,
)
from tests.interviews.test_vendor_webhooks import fixture, post, signed

ALLOWED_ANSWERS = {200, 400, 401, 413, 422}
EVENT_TYPES = st.sampled_from(sorted(EVENT_KINDS)) | odd_text


def hostile_event(data: st.DataObject) -> dict[str, Any]:
    """A vendor event in the documented shape with hostile fields, top level and nested."""
    payload = fixture("interview_completed")
    payload["type"] = data.draw(EVENT_TYPES, label="type")
    payload.update(data.draw(hostile_objects(["occurred_at", "interview", "result", "reason"])))
    for key in ("interview", "result"):
        if isinstance(payload.get(key), dict):
            payload[key] = {**payload[key], **data.draw(hostile_objects(list(payload[key])))}
    result = payload.get("result")
    if isinstance(result, dict) and data.draw(st.booleans(), label="hostile competencies"):
        result["competencies"] = data.draw(st.lists(hostile_objects(["key", "score"]), max_size=3))
    return payload


@given(data=st.data())
def test_parse_event_of_a_hostile_payload_is_updates_or_malformed(data: st.DataObject) -> None:
    payload = hostile_event(data)
    try:
        updates = parse_event(payload["type"], payload)
    except MalformedPayloadError:
        return
    for update in updates:
        assert update.vendor_reference or update.interview_public_id
        if update.result is not None:
            assert Decimal(0) <= update.result.score <= Decimal(100)
            for score in update.result.competency_scores.values():
                assert Decimal(0) <= score <= Decimal(100)


@given(event_type=EVENT_TYPES, payload=json_values)
def test_parse_event_of_any_json_value_is_updates_or_malformed(
    event_type: str, payload: Any
) -> None:
    if not isinstance(payload, dict):
        payload = {"interview": payload, "result": payload}
    try:
        updates = parse_event(event_type, payload)
    except MalformedPayloadError:
        return
    assert isinstance(updates, list)


# -- the HTTP endpoint ---------------------------------------------------------------------------


def fuzz_vendor() -> Any:
    from interviews.models import Vendor

    return Vendor.objects.filter(slug="fuzz-vendor").first() or VendorFactory(slug="fuzz-vendor")


def _assert_clean(response: Any) -> None:
    assert response.status_code in ALLOWED_ANSWERS, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    json.loads(response.content)


def _signed_bytes(body: bytes, message_id: str = "msg_fuzz") -> dict[str, str]:
    import time

    timestamp = int(time.time())
    key = outbound_signing_key(DEFAULT_VENDOR_SECRET)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, message_id, timestamp, body),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("raw", HOSTILE_RAW_BODIES, ids=lambda raw: f"{raw[:16]!r}+{len(raw)}")
def test_hostile_raw_bodies_are_answered_4xx_signed_or_not(raw: bytes, client: Client) -> None:
    vendor = fuzz_vendor()
    response = post(client, vendor, raw, _signed_bytes(raw))
    _assert_clean(response)
    # Only an accepted delivery is stored (an unknown but well-formed type is, and is ignored).
    assert VendorEvent.objects.exists() is (response.status_code == 200)
    response = post(client, vendor, raw, {"Content-Type": "application/json"})
    assert response.status_code in {401, 413}, response.content[:300]


@pytest.mark.django_db
@through_http
@given(data=st.data())
def test_signed_hostile_events_are_answered_200_or_4xx(data: st.DataObject, client: Client) -> None:
    vendor = fuzz_vendor()
    before = VendorEvent.objects.count()
    body, headers = signed(dumps(hostile_event(data)))
    response = post(client, vendor, body, headers)
    _assert_clean(response)
    stored = VendorEvent.objects.count() - before
    assert stored == (1 if response.status_code == 200 else 0)


@pytest.mark.django_db
@through_http
@given(data=st.data())
def test_unsigned_hostile_events_are_401_and_store_nothing(
    data: st.DataObject, client: Client
) -> None:
    vendor = fuzz_vendor()
    body = dumps(hostile_event(data))
    headers = data.draw(
        st.dictionaries(
            st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
            odd_text.filter(lambda value: "\x00" not in value),
        )
    )
    response = post(client, vendor, body, headers)
    assert response.status_code in {401, 413}, response.content[:300]
    assert not VendorEvent.objects.exists()


# -- band computation ----------------------------------------------------------------------------

scores = st.decimals(min_value=0, max_value=100, places=2)
margins = st.decimals(min_value=0, max_value=20, places=2)


@st.composite
def thresholds(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid band list: unique names, strictly descending cuts in 0–100, the last at 0."""
    cuts = draw(
        st.lists(
            st.integers(min_value=1, max_value=100) | st.floats(min_value=0.5, max_value=100),
            max_size=6,
            unique=True,
        )
    )
    cuts = sorted({float(cut) for cut in cuts}, reverse=True)
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
            min_size=len(cuts) + 1,
            max_size=len(cuts) + 1,
            unique=True,
        )
    )
    bands = [{"name": name, "min": cut} for name, cut in zip(names, [*cuts, 0], strict=True)]
    validate_band_thresholds(bands)  # the generator makes only what the model accepts
    return bands


def _rank(name: str, bands: list[dict[str, Any]]) -> int:
    return [band["name"] for band in bands].index(name)


@given(bands=thresholds(), score=scores)
def test_every_score_gets_the_one_band_whose_range_holds_it(
    bands: list[dict[str, Any]], score: Decimal
) -> None:
    name = band_for(score, bands)
    index = _rank(name, bands)
    assert score >= Decimal(str(bands[index]["min"]))
    if index > 0:
        assert score < Decimal(str(bands[index - 1]["min"]))


@given(bands=thresholds(), low=scores, high=scores)
def test_bands_are_monotonic_in_the_score(
    bands: list[dict[str, Any]], low: Decimal, high: Decimal
) -> None:
    low, high = sorted((low, high))
    # A higher score never lands in a lower band (bands are listed from the top down).
    assert _rank(band_for(high, bands), bands) <= _rank(band_for(low, bands), bands)


@given(bands=thresholds())
def test_each_cut_starts_its_band(bands: list[dict[str, Any]]) -> None:
    for band in bands:
        assert band_for(Decimal(str(band["min"])), bands) == band["name"]


@given(bands=thresholds(), score=scores, margin=margins)
def test_borderline_is_within_the_margin_of_a_non_zero_cut(
    bands: list[dict[str, Any]], score: Decimal, margin: Decimal
) -> None:
    cut = borderline_cut(score, bands, margin)
    nearest = [Decimal(str(b["min"])) for b in bands if b["min"] > 0]
    within = [c for c in nearest if abs(score - c) <= margin]
    assert is_borderline(score, bands, margin) is bool(within)
    if cut is not None:
        assert cut in within


@given(bands=thresholds(), score=scores, margin=margins, extra=margins)
def test_a_wider_margin_never_unflags_a_borderline_score(
    bands: list[dict[str, Any]], score: Decimal, margin: Decimal, extra: Decimal
) -> None:
    assume(is_borderline(score, bands, margin))
    assert is_borderline(score, bands, margin + extra)


@given(bands=thresholds(), score=scores)
def test_the_recommendation_of_any_band_is_one_of_three(
    bands: list[dict[str, Any]], score: Decimal
) -> None:
    assert recommended_outcome(band_for(score, bands)) in {"advance", "hold", "decline"}
