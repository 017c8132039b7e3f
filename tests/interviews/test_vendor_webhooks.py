"""``POST /webhooks/vendor/<slug>/``: verify, check, store once, answer; then process each once.

The signing helpers here build deliveries the way a vendor does (the reference
``standardwebhooks`` library) and are shared with the other vendor tests.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from standardwebhooks.webhooks import Webhook

from governance.roles import RECRUITER
from interviews import tasks
from interviews.models import (
    Interview,
    InterviewResult,
    InterviewStatus,
    ReviewTask,
    Vendor,
    VendorEvent,
    VendorEventStatus,
    VendorKind,
)
from interviews.services import vendor_events
from tests.factories import (
    CompetencyFactory,
    InterviewFactory,
    InterviewPlanFactory,
    UserFactory,
    VendorEventFactory,
    VendorFactory,
)
from tests.factories.interviews import DEFAULT_VENDOR_SECRET
from tests.helpers import RecordingTask

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
OTHER_SECRET = "whsec_c29tZWJvZHktZWxzZXMtdmVuZG9yLXNlY3JldA=="
ONE_MIB = 1_048_576
_message_ids = iter(range(1, 1_000_000))


# -- helpers shared with the other vendor tests ------------------------------------------------


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed(
    payload: dict[str, Any] | bytes,
    *,
    secret: str = DEFAULT_VENDOR_SECRET,
    message_id: str | None = None,
    timestamp: dt.datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers a vendor sends (reference library signer)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    message_id = message_id or f"msg_{next(_message_ids):08d}"
    sent_at = timestamp or timezone.now()
    return body, {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body.decode()),
    }


def event_for(interview: Interview, name: str = "interview_completed", **result: Any) -> dict:
    """A fixture event naming ``interview``, with ``result`` fields changed."""
    payload = fixture(name)
    payload["interview"] = {
        "id": interview.vendor_reference,
        "external_id": str(interview.public_id),
    }
    if result:
        payload["result"].update(result)
    return payload


def url_for(vendor: Vendor | str) -> str:
    slug = vendor if isinstance(vendor, str) else vendor.slug
    return reverse("interviews:vendor-webhook", args=[slug])


def post(client: Client, vendor: Vendor | str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        url_for(vendor),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k.lower() != "content-type"},
    )


def invited_interview(vendor: Vendor | None = None, **fields: Any) -> Interview:
    """An invited interview whose plan scores the fixture's competencies."""
    plan = InterviewPlanFactory(vendor=vendor or VendorFactory())
    CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=1)
    CompetencyFactory(plan=plan, key="problem_solving", name="Problem solving", position=2)
    fields.setdefault("vendor_reference", "vi_7Hq2Lm9X")
    return InterviewFactory(plan=plan, invited=True, **fields)


@pytest.fixture
def task(monkeypatch: pytest.MonkeyPatch) -> RecordingTask:
    recorder = RecordingTask()
    monkeypatch.setattr(tasks, "process_vendor_event_task", recorder)
    return recorder


def assert_refused(response: Any, status: int, message: str = "") -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert message in body["error"]


# -- accepted ----------------------------------------------------------------------------------


def test_url_is_webhooks_vendor_slug() -> None:
    assert url_for("acme-interviews") == "/webhooks/vendor/acme-interviews/"


def test_a_valid_delivery_is_stored_once_and_answered_200(
    client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview), message_id="msg_result_1")
    headers["Authorization"] = "Bearer should-never-be-stored"

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, interview.vendor, body, headers)

    assert response.status_code == 200
    event = VendorEvent.objects.get()
    assert response.json() == {"status": "accepted", "event": event.pk}
    assert (event.vendor, event.delivery_id, event.event_type) == (
        interview.vendor,
        "msg_result_1",
        "interview.completed",
    )
    assert event.status == VendorEventStatus.RECEIVED
    assert event.raw_body == body.decode()
    assert set(event.headers) == {
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert task.enqueued == [event.pk]


def test_a_delivery_sent_three_times_is_stored_and_enqueued_once(
    client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview, "interview_started"))

    with django_capture_on_commit_callbacks(execute=True):
        answers = [post(client, interview.vendor, body, headers).json() for _ in range(3)]

    event = VendorEvent.objects.get()
    assert answers == [
        {"status": "accepted", "event": event.pk},
        {"status": "duplicate", "event": event.pk},
        {"status": "duplicate", "event": event.pk},
    ]
    assert task.enqueued == [event.pk]


def test_a_duplicate_is_answered_200_even_if_it_would_now_be_refused(
    client: Client, task: RecordingTask
) -> None:
    # The first delivery was accepted; a retry must never turn into an error for the sender.
    vendor = VendorFactory()
    VendorEventFactory(vendor=vendor, delivery_id="msg_seen")
    body, headers = signed(
        b'{"type": "interview.completed", "interview": {}}', message_id="msg_seen"
    )

    response = post(client, vendor, body, headers)

    assert response.json()["status"] == "duplicate"
    assert VendorEvent.objects.count() == 1


def test_the_same_delivery_id_from_two_vendors_is_two_events(
    client: Client, task: RecordingTask
) -> None:
    first, second = invited_interview(), invited_interview(vendor_reference="vi_other")
    for interview in (first, second):
        body, headers = signed(event_for(interview, "interview_started"), message_id="msg_1")
        assert post(client, interview.vendor, body, headers).json()["status"] == "accepted"

    assert VendorEvent.objects.count() == 2


def test_an_unknown_event_type_is_stored_and_later_ignored(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()
    payload = {"type": "interview.reminder_sent", "interview": {"id": "vi_7Hq2Lm9X"}}
    body, headers = signed(payload)

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, interview.vendor, body, headers).status_code == 200

    assert VendorEvent.objects.get().status == VendorEventStatus.IGNORED


def test_csrf_token_is_not_required(task: RecordingTask) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview, "interview_started"))

    response = post(Client(enforce_csrf_checks=True), interview.vendor, body, headers)

    assert response.status_code == 200


# -- refused: signature ------------------------------------------------------------------------


def test_a_tampered_delivery_is_401_and_nothing_is_stored(
    client: Client, task: RecordingTask
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview))

    response = post(client, interview.vendor, body.replace(b"7.4", b"9.9"), headers)

    assert_refused(response, 401, "signature does not match")
    assert not VendorEvent.objects.exists()
    assert task.enqueued == []


def test_a_delivery_signed_with_another_secret_is_401(client: Client) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview), secret=OTHER_SECRET)

    assert_refused(post(client, interview.vendor, body, headers), 401)
    assert not VendorEvent.objects.exists()


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_delivery_missing_a_signature_header_is_401(client: Client, missing: str) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview))
    del headers[missing]

    assert_refused(post(client, interview.vendor, body, headers), 401, f"missing {missing}")
    assert not VendorEvent.objects.exists()


@pytest.mark.parametrize(
    ("offset", "message"),
    [(dt.timedelta(minutes=-6), "5 minutes old"), (dt.timedelta(minutes=6), "in the future")],
)
def test_a_stale_or_future_delivery_is_401(
    client: Client, offset: dt.timedelta, message: str
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview), timestamp=timezone.now() + offset)

    assert_refused(post(client, interview.vendor, body, headers), 401, message)
    assert not VendorEvent.objects.exists()


def test_a_signature_from_a_rotated_secret_is_accepted(client: Client, task: RecordingTask) -> None:
    vendor = VendorFactory(webhook_secret=f"{OTHER_SECRET}\n{DEFAULT_VENDOR_SECRET}")
    body, headers = signed(event_for(invited_interview(vendor), "interview_started"))

    assert post(client, vendor, body, headers).status_code == 200


def test_a_vendor_without_a_secret_answers_401_not_500(client: Client) -> None:
    vendor = VendorFactory(webhook_secret="")
    body, headers = signed(fixture("interview_started"))

    assert_refused(post(client, vendor, body, headers), 401, "no usable webhook secret")


def test_a_secret_from_an_unset_environment_variable_answers_401(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_VENDOR_SECRET", raising=False)
    vendor = VendorFactory(webhook_secret="", webhook_secret_env="ACME_VENDOR_SECRET")
    body, headers = signed(fixture("interview_started"))

    assert_refused(post(client, vendor, body, headers), 401)


def test_an_unexpected_verification_error_answers_401_not_500(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interviews.vendors.generic_http import GenericHttpVendor

    def explode(self: Any, headers: Any, body: bytes) -> Any:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(GenericHttpVendor, "verify", explode)
    vendor = VendorFactory()
    body, headers = signed(fixture("interview_started"))

    assert_refused(post(client, vendor, body, headers), 401, "could not be verified")


def test_secrets_never_appear_in_answers_or_logs(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    vendor = VendorFactory()
    body, headers = signed(fixture("interview_started"), secret=OTHER_SECRET)
    caplog.set_level(logging.DEBUG)

    response = post(client, vendor, body, headers)

    for secret in (DEFAULT_VENDOR_SECRET, OTHER_SECRET, DEFAULT_VENDOR_SECRET[6:]):
        assert secret not in response.content.decode()
        assert secret not in caplog.text


# -- refused: body -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"type": "interview.completed", "interview": {', "not valid JSON"),
        (b'["interview.completed"]', "not a JSON object"),
        (b'{"interview": {"id": "vi_1"}}', "no 'type'"),
        (b'{"type": "interview.started", "occurred_at": "yesterday"}', "occurred_at"),
    ],
    ids=["truncated", "array", "no-type", "bad-time"],
)
def test_an_authentic_but_malformed_body_is_400_and_nothing_is_stored(
    client: Client, raw: bytes, message: str
) -> None:
    vendor = VendorFactory()
    body, headers = signed(raw)

    assert_refused(post(client, vendor, body, headers), 400, message)
    assert not VendorEvent.objects.exists()


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"summary": []}, "result.summary has 0 bullet(s); send 1 to 3 evidence bullets"),
        (
            {"summary": ["One.", "Two.", "Three.", "Four."]},
            "result.summary has 4 bullet(s); send 1 to 3 evidence bullets",
        ),
        (
            {"summary": ["x" * 281]},
            "result.summary bullet 1 has 281 characters; the limit is 280",
        ),
        ({"summary": ["Fine.", "   "]}, "result.summary bullet 2 is empty"),
        (
            {"score": 150, "scale_max": 100},
            "result.score 150 is outside the result's scale 0–100",
        ),
        ({"flags": ["sleepy"]}, "unknown flag(s) sleepy"),
    ],
    ids=["0-bullets", "4-bullets", "281-chars", "blank-bullet", "score-150-of-100", "flag"],
)
def test_an_invalid_result_is_422_with_a_clear_message_and_nothing_is_stored(
    client: Client, task: RecordingTask, result: dict[str, Any], message: str
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview, **result))

    response = post(client, interview.vendor, body, headers)

    assert_refused(response, 422, message)
    assert not VendorEvent.objects.exists()
    assert task.enqueued == []


def test_a_bullet_of_exactly_280_characters_is_accepted(
    client: Client, task: RecordingTask
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview, summary=["x" * 280, "y", "z"]))

    assert post(client, interview.vendor, body, headers).status_code == 200


def test_a_competency_the_plan_does_not_score_is_422(client: Client) -> None:
    interview = invited_interview()
    competencies = [{"key": "empathy", "score": 8}, {"key": "telepathy", "score": 9}]
    body, headers = signed(event_for(interview, competencies=competencies))

    assert_refused(post(client, interview.vendor, body, headers), 422, "telepathy")
    assert not VendorEvent.objects.exists()


def test_ids_naming_two_different_interviews_are_422(client: Client) -> None:
    interview = invited_interview()
    other = invited_interview(interview.vendor, vendor_reference="vi_other")
    payload = event_for(interview, "interview_started")
    payload["interview"]["external_id"] = str(other.public_id)
    body, headers = signed(payload)

    assert_refused(post(client, interview.vendor, body, headers), 422, "different interviews")


def test_invalid_utf8_with_a_valid_signature_is_refused_as_unsigned(client: Client) -> None:
    vendor = VendorFactory()
    _, headers = signed(b"{}")

    response = post(client, vendor, '{"type": "é"}'.encode("latin-1"), headers)

    assert_refused(response, 401, "UTF-8")


# -- refused: address and size -----------------------------------------------------------------


@pytest.mark.parametrize("slug", ["no-such-vendor", "UPPER", "x" * 300])
def test_an_unknown_vendor_is_404(client: Client, slug: str) -> None:
    body, headers = signed(fixture("interview_started"))

    assert_refused(post(client, slug, body, headers), 404)


def test_an_inactive_vendor_is_404(client: Client) -> None:
    vendor = VendorFactory(active=False)
    body, headers = signed(fixture("interview_started"))

    assert_refused(post(client, vendor, body, headers), 404)


def test_the_rehearsal_vendor_receives_no_webhooks(client: Client) -> None:
    vendor = VendorFactory(kind=VendorKind.REHEARSAL)
    body, headers = signed(fixture("interview_started"))

    assert_refused(post(client, vendor, body, headers), 404, "does not send webhooks")


def test_a_body_over_one_mebibyte_is_413(client: Client) -> None:
    vendor = VendorFactory()
    payload = fixture("interview_started") | {"padding": "x" * ONE_MIB}
    body, headers = signed(payload)

    assert_refused(post(client, vendor, body, headers), 413)
    assert not VendorEvent.objects.exists()


def test_get_is_not_allowed(client: Client) -> None:
    vendor = VendorFactory()

    response = client.get(url_for(vendor))

    assert response.status_code == 405


# -- storage and enqueueing --------------------------------------------------------------------


def test_broker_down_still_answers_200_and_leaves_the_event_received(
    client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    task.error = BrokerOperationalError("Connection refused")
    interview = invited_interview()
    body, headers = signed(event_for(interview, "interview_started"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, interview.vendor, body, headers)

    assert response.json()["status"] == "accepted"
    assert VendorEvent.objects.get().status == VendorEventStatus.RECEIVED


def test_a_database_error_while_storing_answers_503_with_retry_after(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    from interviews import webhooks

    monkeypatch.setattr(webhooks, "vendor_event_store", broken)
    interview = invited_interview()
    body, headers = signed(event_for(interview, "interview_started"))

    response = post(client, interview.vendor, body, headers)

    assert_refused(response, 503, "retry later")
    assert response["Retry-After"] == "60"


def test_an_overlong_delivery_id_is_stored_as_a_stable_digest(
    client: Client, task: RecordingTask
) -> None:
    interview = invited_interview()
    message_id = "m" * 250
    body, headers = signed(event_for(interview, "interview_started"), message_id=message_id)

    first = post(client, interview.vendor, body, headers).json()
    again = post(client, interview.vendor, body, headers).json()

    event = VendorEvent.objects.get()
    assert event.delivery_id.startswith("sha256:")
    assert (first["status"], again["status"]) == ("accepted", "duplicate")


# -- processing --------------------------------------------------------------------------------


def deliver(client: Client, interview: Interview, payload: dict[str, Any], **kw: Any) -> Any:
    """Post a signed event and run what is enqueued on commit (eager Celery: processing)."""
    body, headers = signed(payload, **kw)
    return post(client, interview.vendor, body, headers)


def test_a_result_is_stored_banded_and_completes_the_interview(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, interview, event_for(interview))

    assert response.json()["status"] == "accepted"
    event = VendorEvent.objects.get()
    assert (event.status, event.error, event.attempts) == (VendorEventStatus.PROCESSED, "", 1)
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    result = InterviewResult.objects.get(interview=interview)
    assert result.score == Decimal("74.00")
    assert result.band == "proceed"
    scores = {s.competency.key: s.score for s in result.competency_scores.all()}
    assert scores == {"empathy": Decimal("80.00"), "problem_solving": Decimal("65.00")}
    assert result.raw_payload["interview"]["id"] == "vi_7Hq2Lm9X"


def test_replaying_a_result_changes_nothing_further(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()
    body, headers = signed(event_for(interview, score=6.4))  # 64 = borderline at the 65 cut

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            post(client, interview.vendor, body, headers)

    assert VendorEvent.objects.count() == 1
    assert InterviewResult.objects.filter(interview=interview).count() == 1
    assert ReviewTask.objects.filter(interview=interview).count() == 1


def test_the_same_result_under_a_new_message_id_is_not_a_new_version(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, interview, event_for(interview))
        deliver(client, interview, event_for(interview))

    assert VendorEvent.objects.count() == 2
    assert InterviewResult.objects.filter(interview=interview).count() == 1


def test_started_then_completed_follow_the_lifecycle(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, interview, event_for(interview, "interview_started"))
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.STARTED
    assert interview.started_at == dt.datetime(2026, 4, 10, 8, 47, 2, tzinfo=dt.UTC)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, interview, event_for(interview))
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED


def test_an_event_found_by_public_id_alone_is_applied(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()
    payload = event_for(interview, "interview_started")
    payload["interview"] = {"external_id": str(interview.public_id)}

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, interview, payload)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.STARTED


def test_an_unknown_interview_is_stored_then_fails_visibly(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview()
    payload = event_for(interview)
    payload["interview"] = {
        "id": "vi_nobody",
        "external_id": "0b7f4c1e-0000-4000-8000-000000000000",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, interview, payload)

    assert response.json()["status"] == "accepted"
    event = VendorEvent.objects.get()
    assert event.status == VendorEventStatus.FAILED
    assert event.error.startswith("unknown interview:")
    assert "vi_nobody" in event.error
    assert Interview.objects.count() == 1
    assert not InterviewResult.objects.exists()


def test_a_vendor_cannot_touch_another_vendors_interview(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    theirs = invited_interview()
    mine = VendorFactory()
    payload = event_for(theirs, "interview_started")

    with django_capture_on_commit_callbacks(execute=True):
        body, headers = signed(payload)
        post(client, mine, body, headers)

    assert VendorEvent.objects.get().status == VendorEventStatus.FAILED
    theirs.refresh_from_db()
    assert theirs.status == InterviewStatus.INVITED


def test_processing_twice_applies_once() -> None:
    interview = invited_interview()
    event = VendorEventFactory(
        vendor=interview.vendor,
        event_type="interview.completed",
        raw_body=json.dumps(event_for(interview)),
    )

    first = vendor_events.vendor_event_process(event_id=event.pk)
    second = vendor_events.vendor_event_process(event_id=event.pk)

    assert first.status == second.status == VendorEventStatus.PROCESSED
    assert second.attempts == 1
    assert InterviewResult.objects.filter(interview=interview).count() == 1


def test_a_result_refused_by_the_results_service_fails_the_event_with_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from interviews.services import results

    def refuse(*, interview: Interview, update: Any) -> None:
        raise results.ResultValidationError("result.summary has 4 bullets; send 1 to 3")

    monkeypatch.setattr(results, "vendor_update_apply", refuse)
    interview = invited_interview()
    event = VendorEventFactory(vendor=interview.vendor, raw_body=json.dumps(event_for(interview)))

    processed = vendor_events.vendor_event_process(event_id=event.pk)

    assert processed.status == VendorEventStatus.FAILED
    assert processed.error == "result.summary has 4 bullets; send 1 to 3"


def test_an_unexpected_error_fails_the_event_and_rolls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from interviews.services import results

    real_apply = results.vendor_update_apply

    def apply_then_crash(*, interview: Interview, update: Any) -> None:
        real_apply(interview=interview, update=update)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(results, "vendor_update_apply", apply_then_crash)
    interview = invited_interview()
    event = VendorEventFactory(vendor=interview.vendor, raw_body=json.dumps(event_for(interview)))

    processed = vendor_events.vendor_event_process(event_id=event.pk)

    assert processed.status == VendorEventStatus.FAILED
    assert processed.error == "RuntimeError: disk on fire"
    assert not InterviewResult.objects.exists()
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.INVITED


def test_a_stored_event_that_breaks_the_rules_fails_with_the_parse_message() -> None:
    interview = invited_interview()
    event = VendorEventFactory(
        vendor=interview.vendor, raw_body=json.dumps(event_for(interview, score=11))
    )

    processed = vendor_events.vendor_event_process(event_id=event.pk)

    assert processed.status == VendorEventStatus.FAILED
    assert "result.score 11 is outside the result's scale 0–10" in processed.error


def test_an_update_for_a_pending_interview_waits_for_its_invitation() -> None:
    interview = invited_interview()
    Interview.objects.filter(pk=interview.pk).update(
        status=InterviewStatus.PENDING, vendor_reference=""
    )
    event = VendorEventFactory(
        vendor=interview.vendor,
        event_type="interview.started",
        raw_body=json.dumps(event_for(interview, "interview_started")),
    )

    waiting = vendor_events.vendor_event_process(event_id=event.pk)

    assert waiting.status == VendorEventStatus.RECEIVED
    assert waiting.error.startswith("waiting (attempt 1)")
    # The invitation is recorded; the sweeper picks the event up at once (it was tried before).
    Interview.objects.filter(pk=interview.pk).update(
        status=InterviewStatus.INVITED, vendor_reference="vi_7Hq2Lm9X"
    )
    assert vendor_events.vendor_events_sweep() == 1

    event.refresh_from_db()
    assert event.status == VendorEventStatus.PROCESSED
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.STARTED


def test_an_update_for_a_pending_interview_is_applied_after_five_attempts() -> None:
    interview = invited_interview()
    Interview.objects.filter(pk=interview.pk).update(status=InterviewStatus.PENDING)
    event = VendorEventFactory(vendor=interview.vendor, raw_body=json.dumps(event_for(interview)))

    for _ in range(vendor_events.MAX_NOT_READY_ATTEMPTS):
        processed = vendor_events.vendor_event_process(event_id=event.pk)

    assert processed.status == VendorEventStatus.PROCESSED
    # The results service keeps a result for an interview that cannot complete, for a person.
    assert InterviewResult.objects.filter(interview=interview).exists()
    assert ReviewTask.objects.get(interview=interview).reason == "incomplete"


def test_an_event_deleted_before_its_task_ran_is_skipped() -> None:
    assert vendor_events.vendor_event_process(event_id=987654) is None
    tasks.process_vendor_event_task(987654)  # the task wrapper does not raise either


# -- sweeper and retries -----------------------------------------------------------------------


def test_sweep_enqueues_old_received_events_and_resets_stuck_ones(task: RecordingTask) -> None:
    now = timezone.now()
    old = VendorEventFactory()
    VendorEvent.objects.filter(pk=old.pk).update(received_at=now - dt.timedelta(minutes=3))
    fresh = VendorEventFactory()
    stuck = VendorEventFactory(status=VendorEventStatus.PROCESSING)
    VendorEvent.objects.filter(pk=stuck.pk).update(processed_at=now - dt.timedelta(minutes=11))
    busy = VendorEventFactory(status=VendorEventStatus.PROCESSING, processed_at=now)
    done = VendorEventFactory(status=VendorEventStatus.PROCESSED)
    VendorEvent.objects.filter(pk=done.pk).update(received_at=now - dt.timedelta(hours=1))

    with time_machine.travel(now, tick=False):
        count = vendor_events.vendor_events_sweep()

    assert set(task.enqueued) == {old.pk, stuck.pk}
    assert count == 2
    assert fresh.pk not in task.enqueued
    busy.refresh_from_db()
    assert busy.status == VendorEventStatus.PROCESSING


def test_sweep_with_the_broker_down_enqueues_nothing_and_raises_nothing(
    task: RecordingTask,
) -> None:
    task.error = BrokerOperationalError("down")
    event = VendorEventFactory()
    VendorEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=5)
    )

    assert vendor_events.vendor_events_sweep() == 0


def test_the_sweep_task_reports_vendor_events(task: RecordingTask) -> None:
    assert tasks.sweep_task()["vendor_events"] == 0


def test_retry_requeues_failed_events_only(
    django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    failed = VendorEventFactory(status=VendorEventStatus.FAILED, error="unknown interview")
    processed = VendorEventFactory(status=VendorEventStatus.PROCESSED)

    with django_capture_on_commit_callbacks(execute=True):
        queued = vendor_events.vendor_events_retry(event_ids=[failed.pk, processed.pk])

    assert queued == [failed.pk]
    assert task.enqueued == [failed.pk]
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (VendorEventStatus.RECEIVED, "")


def test_a_failed_unknown_interview_event_succeeds_once_retried(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    interview = invited_interview(vendor_reference="vi_later")
    payload = event_for(interview, "interview_started")
    payload["interview"] = {"id": "vi_7Hq2Lm9X"}

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, interview, payload)
    event = VendorEvent.objects.get()
    assert event.status == VendorEventStatus.FAILED

    Interview.objects.filter(pk=interview.pk).update(vendor_reference="vi_7Hq2Lm9X")
    with django_capture_on_commit_callbacks(execute=True):
        vendor_events.vendor_events_retry(event_ids=[event.pk])

    event.refresh_from_db()
    assert event.status == VendorEventStatus.PROCESSED


# -- admin -------------------------------------------------------------------------------------


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def event_url(view: str, *args: Any) -> str:
    return reverse(f"admin:interviews_vendorevent_{view}", args=args)


def test_vendor_events_are_read_only_in_the_admin(client: Client, superuser: Any) -> None:
    event = VendorEventFactory(raw_body='{"type": "interview.started"}')
    client.force_login(superuser)

    assert client.get(event_url("changelist")).status_code == 200
    page = client.get(event_url("change", event.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(event_url("add")).status_code == 403
    assert client.post(event_url("delete", event.pk), {"post": "yes"}).status_code == 403


def test_retry_processing_from_the_admin(
    client: Client, superuser: Any, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    failed = VendorEventFactory(status=VendorEventStatus.FAILED, error="unknown interview")
    done = VendorEventFactory(status=VendorEventStatus.PROCESSED)
    client.force_login(superuser)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            event_url("changelist"),
            {"action": "retry_processing", "_selected_action": [failed.pk, done.pk]},
            follow=True,
        )

    assert b"1 event(s) queued for processing." in response.content
    assert b"1 event(s) skipped" in response.content
    assert task.enqueued == [failed.pk]


def test_the_raw_body_is_shown_only_to_users_who_may_open_transcripts(
    client: Client, role_groups: None
) -> None:
    event = VendorEventFactory(raw_body='{"transcript": "https://vendor.example/t/secret-link"}')
    viewer = UserFactory(username="vic", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_vendorevent"))
    client.force_login(viewer)

    page = client.get(event_url("change", event.pk))
    assert page.status_code == 200
    assert b"secret-link" not in page.content

    viewer.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    assert b"secret-link" in client.get(event_url("change", event.pk)).content


def test_a_recruiter_cannot_see_or_retry_vendor_events(
    client: Client, role_groups: None, task: RecordingTask
) -> None:
    failed = VendorEventFactory(status=VendorEventStatus.FAILED)
    recruiter = UserFactory(username="rita", is_staff=True, groups=[RECRUITER])
    client.force_login(recruiter)

    assert client.get(event_url("changelist")).status_code == 403
    assert client.get(event_url("change", failed.pk)).status_code == 403
    client.post(
        event_url("changelist"), {"action": "retry_processing", "_selected_action": [failed.pk]}
    )
    failed.refresh_from_db()
    assert failed.status == VendorEventStatus.FAILED
    assert task.enqueued == []
