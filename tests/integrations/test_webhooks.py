"""``POST /webhooks/ats/<slug>/``: verify, store once, answer, enqueue processing after commit."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.test.utils import override_settings
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerOperationalError

from integrations import webhooks
from integrations.connectors.greenhouse import webhook as greenhouse_webhook
from integrations.models import AtsConnection, InboundEvent, InboundEventStatus, SignatureFailure
from integrations.services import intake
from tests.factories.integrations import DEFAULT_WEBHOOK_SECRET
from tests.helpers import RecordingTask
from tests.integrations.test_signatures import (
    EXPECTED,
    GENERIC_SECRET,
    LEVER_HEADERS,
    MAIN_FIXTURES,
    PROVIDERS,
    SECRETS,
    WRONG_SECRETS,
    connection_for,
    fixture_body,
    generic_headers,
    greenhouse_headers,
    lever_sign,
    main_delivery,
    malformed_but_signed,
    signed,
    tampered,
    without_signature,
)

pytestmark = pytest.mark.django_db

ONE_MIB = 1_048_576


@pytest.fixture(autouse=True)
def task(monkeypatch: pytest.MonkeyPatch) -> RecordingTask:
    # Never run the real processing (eager in tests) from these tests.
    recorder = RecordingTask()
    monkeypatch.setattr(intake, "process_inbound_event_task", recorder)
    return recorder


def url_for(connection: AtsConnection | str) -> str:
    slug = connection if isinstance(connection, str) else connection.slug
    return reverse("integrations:ats-webhook", args=[slug])


def post(client: Client, connection: AtsConnection | str, body: bytes, headers: dict) -> Any:
    return client.post(
        url_for(connection),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k.lower() != "content-type"},
    )


def assert_refused(response: Any, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"error"}


# -- accepted ----------------------------------------------------------------------------------


def test_url_is_webhooks_ats_slug() -> None:
    assert reverse("integrations:ats-webhook", args=["greenhouse-prod"]) == (
        "/webhooks/ats/greenhouse-prod/"
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_valid_delivery_is_stored_once_and_answered_200(
    provider: str, client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    connection = connection_for(provider)
    body, headers = main_delivery(provider)
    # A Greenhouse webhook may send Basic credentials; they must never be stored.
    headers |= {"Authorization": "Basic dXNlcjpzM2NyZXQ=", "X-Forwarded-For": "10.0.0.9"}

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection, body, headers)

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert response.json() == {"status": "accepted", "event": event.pk}
    assert (event.connection, event.delivery_id, event.action) == (connection, *EXPECTED[provider])
    assert event.status == InboundEventStatus.RECEIVED
    assert event.raw_body == body.decode()
    assert event.headers["content-type"] == "application/json"
    assert "authorization" not in event.headers
    assert "x-forwarded-for" not in event.headers
    assert set(event.headers) <= intake.RELEVANT_HEADERS
    assert task.enqueued == [event.pk]
    assert not SignatureFailure.objects.exists()


def test_stored_headers_are_the_signature_id_and_timestamp_ones(client: Client) -> None:
    greenhouse = connection_for("greenhouse")
    generic = connection_for("generic")

    gh_body, gh_headers = main_delivery("greenhouse")
    post(client, greenhouse, gh_body, gh_headers)
    body, headers = main_delivery("generic")
    post(client, generic, body, headers)

    gh_event = InboundEvent.objects.get(connection=greenhouse)
    assert gh_event.headers == {
        "content-type": "application/json",
        "user-agent": "Greenhouse-Webhooks",
        "signature": gh_headers["Signature"],
        "greenhouse-event-id": gh_headers["Greenhouse-Event-ID"],
    }
    generic_event = InboundEvent.objects.get(connection=generic)
    assert generic_event.headers == {
        "content-type": "application/json",
        "webhook-id": headers["webhook-id"],
        "webhook-timestamp": headers["webhook-timestamp"],
        "webhook-signature": headers["webhook-signature"],
    }


@pytest.mark.parametrize(
    ("provider", "occurred_at"),
    [
        ("greenhouse", None),
        ("lever", dt.datetime(2026, 4, 9, 16, 38, 36, 72000, tzinfo=dt.UTC)),
        ("ashby", dt.datetime(2026, 4, 9, 16, 38, 36, tzinfo=dt.UTC)),
        ("generic", dt.datetime(2026, 4, 9, 16, 38, 36, tzinfo=dt.UTC)),
    ],
)
def test_provider_timestamp_is_stored_as_occurred_at(
    provider: str, occurred_at: dt.datetime | None, client: Client
) -> None:
    body, headers = main_delivery(provider)

    post(client, connection_for(provider), body, headers)

    assert InboundEvent.objects.get().occurred_at == occurred_at


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_delivery_sent_five_times_is_stored_once(
    provider: str, client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    connection = connection_for(provider)
    body, headers = main_delivery(provider)

    with django_capture_on_commit_callbacks(execute=True):
        responses = [post(client, connection, body, headers) for _ in range(5)]

    event = InboundEvent.objects.get()
    assert [r.status_code for r in responses] == [200] * 5
    assert responses[0].json() == {"status": "accepted", "event": event.pk}
    assert [r.json() for r in responses[1:]] == [{"status": "duplicate", "event": event.pk}] * 4
    assert task.enqueued == [event.pk]


def test_same_delivery_id_on_two_connections_is_two_events(client: Client) -> None:
    body, headers = main_delivery("greenhouse")

    post(client, connection_for("greenhouse"), body, headers)
    post(client, connection_for("greenhouse"), body, headers)

    assert InboundEvent.objects.count() == 2


def test_ashby_related_webhooks_sharing_an_action_id_are_both_stored(client: Client) -> None:
    connection = connection_for("ashby")

    for name in ("candidate_stage_change", "application_update", "candidate_stage_change"):
        body, headers = signed("ashby", fixture_body("ashby", name))
        assert post(client, connection, body, headers).status_code == 200

    assert sorted(InboundEvent.objects.values_list("action", flat=True)) == [
        "applicationUpdate",
        "candidateStageChange",
    ]


@pytest.mark.parametrize("provider", ["ashby", "greenhouse"])
def test_ping_is_answered_200_and_not_stored(
    provider: str, client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    body, headers = signed(provider, fixture_body(provider, "ping"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection_for(provider), body, headers)

    assert response.status_code == 200
    assert response.json() == {"status": "pong"}
    assert not InboundEvent.objects.exists()
    assert not SignatureFailure.objects.exists()
    assert task.enqueued == []


def test_unsigned_ping_is_refused(client: Client) -> None:
    response = post(client, connection_for("ashby"), fixture_body("ashby", "ping"), {})

    assert_refused(response, 401)
    assert SignatureFailure.objects.count() == 1


def test_csrf_token_is_not_required(client: Client) -> None:
    body, headers = main_delivery("greenhouse")

    response = post(Client(enforce_csrf_checks=True), connection_for("greenhouse"), body, headers)

    assert response.status_code == 200


# -- refused: signature ------------------------------------------------------------------------


def _assert_only_one_failure_counted(connection: AtsConnection, reason: str) -> None:
    assert not InboundEvent.objects.exists()
    failure = SignatureFailure.objects.get()
    assert failure.connection == connection
    assert reason in failure.reason
    assert failure.remote_addr == "127.0.0.1"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tampered_delivery_is_401_and_only_the_failure_is_counted(
    provider: str, client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    connection = connection_for(provider)
    body, headers = main_delivery(provider)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection, tampered(provider, body), headers)

    assert_refused(response, 401)
    assert "does not match" in response.json()["error"]
    _assert_only_one_failure_counted(connection, "does not match")
    assert task.enqueued == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_delivery_signed_with_another_secret_is_401(provider: str, client: Client) -> None:
    connection = connection_for(provider)
    body = fixture_body(provider, MAIN_FIXTURES[provider])
    body, headers = signed(provider, body, secret=WRONG_SECRETS[provider])

    response = post(client, connection, body, headers)

    assert_refused(response, 401)
    _assert_only_one_failure_counted(connection, "does not match")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_delivery_without_a_signature_is_401(provider: str, client: Client) -> None:
    connection = connection_for(provider)
    body, headers = without_signature(provider, *main_delivery(provider))

    response = post(client, connection, body, headers)

    assert_refused(response, 401)
    assert not InboundEvent.objects.exists()
    assert SignatureFailure.objects.filter(connection=connection).count() == 1


def test_generic_delivery_with_a_stale_timestamp_is_401(client: Client) -> None:
    connection = connection_for("generic")
    body = fixture_body("generic", "application_stage_changed")
    sent_at = dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=6)

    response = post(client, connection, body, generic_headers(body, timestamp=sent_at))

    assert_refused(response, 401)
    _assert_only_one_failure_counted(connection, "more than 5 minutes old")


def test_lever_delivery_dated_in_the_future_is_401(client: Client) -> None:
    connection = connection_for("lever")
    future = int((dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=10)).timestamp() * 1000)
    body = lever_sign(fixture_body("lever", "candidate_stage_change"), triggered_at=future)

    response = post(client, connection, body, LEVER_HEADERS)

    assert_refused(response, 401)
    _assert_only_one_failure_counted(connection, "future")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connection_without_a_secret_answers_401_not_500(provider: str, client: Client) -> None:
    connection = connection_for(provider, webhook_secret="")
    body, headers = main_delivery(provider)

    response = post(client, connection, body, headers)

    assert_refused(response, 401)
    _assert_only_one_failure_counted(connection, "no usable webhook secret")


def test_secret_from_an_unset_environment_variable_answers_401_not_500(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SB_TEST_UNSET_WEBHOOK_SECRET", raising=False)
    connection = connection_for("greenhouse", webhook_secret="")
    connection.webhook_secret_env = "SB_TEST_UNSET_WEBHOOK_SECRET"
    connection.save()
    body, headers = main_delivery("greenhouse")

    response = post(client, connection, body, headers)

    assert_refused(response, 401)
    assert "SB_TEST_UNSET_WEBHOOK_SECRET" not in response.content.decode()


def test_unexpected_error_in_verification_answers_401_not_500(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_verify(*args: Any) -> None:
        raise KeyError("current_stage")

    monkeypatch.setattr(greenhouse_webhook, "verify", broken_verify)
    connection = connection_for("greenhouse")
    body, headers = main_delivery("greenhouse")

    with caplog.at_level(logging.ERROR, logger="integrations.webhooks"):
        response = post(client, connection, body, headers)

    assert_refused(response, 401)
    _assert_only_one_failure_counted(connection, "unexpected error")
    assert "Unexpected error verifying a webhook" in caplog.text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_secrets_never_appear_in_responses_or_logs(
    provider: str,
    client: Client,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
    task: RecordingTask,
) -> None:
    connection = connection_for(provider)
    body, headers = main_delivery(provider)
    wrong_body, wrong_headers = signed(provider, body, secret=WRONG_SECRETS[provider])
    task.error = BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379.")

    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        responses = [
            post(client, connection, body, headers),
            post(client, connection, body, headers),
            post(client, connection, wrong_body, wrong_headers),
            post(client, connection, tampered(provider, body), headers),
            post(client, connection, *malformed_but_signed(provider)),
        ]

    assert [r.status_code for r in responses] == [200, 200, 401, 401, 400]
    for secret in (SECRETS[provider], WRONG_SECRETS[provider], DEFAULT_WEBHOOK_SECRET):
        assert all(secret not in r.content.decode() for r in responses)
        assert secret not in caplog.text
    assert connection.webhook_secret_encrypted not in caplog.text


# -- refused: body -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_json_with_a_valid_signature_is_400(
    provider: str, client: Client, task: RecordingTask
) -> None:
    body, headers = malformed_but_signed(provider)

    response = post(client, connection_for(provider), body, headers)

    assert_refused(response, 400)
    assert not InboundEvent.objects.exists()
    assert not SignatureFailure.objects.exists()


def test_invalid_utf8_with_a_valid_signature_is_400(client: Client) -> None:
    body = b'{"action": "candidate_stage_change", "note": "caf\xe9"}'

    response = post(client, connection_for("greenhouse"), body, greenhouse_headers(body))

    assert_refused(response, 400)
    assert "UTF-8" in response.json()["error"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("slug", ["no-such-connection", "Spaces and %20 odd chars"])
def test_unknown_connection_is_404(slug: str, client: Client) -> None:
    body, headers = main_delivery("greenhouse")

    response = post(client, slug, body, headers)

    assert_refused(response, 404)
    assert not SignatureFailure.objects.exists()


def test_inactive_connection_is_404(client: Client) -> None:
    connection = connection_for("greenhouse", active=False)
    body, headers = main_delivery("greenhouse")

    response = post(client, connection, body, headers)

    assert_refused(response, 404)
    assert not InboundEvent.objects.exists()
    assert not SignatureFailure.objects.exists()


def _greenhouse_body_of_size(size: int) -> bytes:
    skeleton = b'{"action": "candidate_stage_change", "padding": ""}'
    body = skeleton.replace(b'""', b'"' + b"x" * (size - len(skeleton)) + b'"')
    assert len(body) == size
    return body


def test_body_of_exactly_one_mebibyte_is_accepted(client: Client) -> None:
    body = _greenhouse_body_of_size(ONE_MIB)

    response = post(client, connection_for("greenhouse"), body, greenhouse_headers(body))

    assert response.status_code == 200


def test_body_over_one_mebibyte_is_413(client: Client) -> None:
    body = _greenhouse_body_of_size(ONE_MIB + 1)

    response = post(client, connection_for("greenhouse"), body, greenhouse_headers(body))

    assert_refused(response, 413)
    assert not InboundEvent.objects.exists()
    assert not SignatureFailure.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_body_over_the_django_upload_limit_is_413_not_500(client: Client) -> None:
    body = _greenhouse_body_of_size(2000)

    response = post(client, connection_for("greenhouse"), body, greenhouse_headers(body))

    assert_refused(response, 413)


def test_body_longer_than_its_declared_length_is_413(rf: RequestFactory) -> None:
    connection = connection_for("greenhouse")
    request = rf.post(url_for(connection), data=b"{}", content_type="application/json")
    request._body = _greenhouse_body_of_size(ONE_MIB + 1)  # e.g. chunked, no Content-Length

    response = webhooks.ats_webhook(request, slug=connection.slug)

    assert_refused(response, 413)


def test_get_is_not_allowed(client: Client) -> None:
    response = client.get(url_for(connection_for("greenhouse")))

    assert response.status_code == 405


# -- enqueueing --------------------------------------------------------------------------------


def test_processing_is_enqueued_only_after_commit(
    client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    body, headers = main_delivery("greenhouse")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(client, connection_for("greenhouse"), body, headers)
    assert task.enqueued == []

    for callback in callbacks:
        callback()
    assert task.enqueued == [InboundEvent.objects.get().pk]


def test_each_new_event_is_enqueued_once(
    client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    connection = connection_for("ashby")
    deliveries = [
        signed("ashby", fixture_body("ashby", name))
        for name in ("candidate_stage_change", "application_update")
    ]

    with django_capture_on_commit_callbacks(execute=True):
        for body, headers in deliveries * 3:
            post(client, connection, body, headers)

    assert sorted(task.enqueued) == sorted(InboundEvent.objects.values_list("pk", flat=True))
    assert len(task.enqueued) == 2


def test_broker_down_still_answers_200_and_leaves_the_event_received(
    client: Client,
    django_capture_on_commit_callbacks: Any,
    task: RecordingTask,
    caplog: pytest.LogCaptureFixture,
) -> None:
    task.error = BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379. Refused.")
    body, headers = main_delivery("lever")

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection_for("lever"), body, headers)

    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert InboundEvent.objects.get().status == InboundEventStatus.RECEIVED
    assert "could not be queued" in caplog.text


@pytest.mark.parametrize("error", [ConnectionRefusedError(111, "refused"), RuntimeError("boom")])
def test_any_enqueue_error_still_answers_200(
    error: Exception, client: Client, django_capture_on_commit_callbacks: Any, task: RecordingTask
) -> None:
    task.error = error
    body, headers = main_delivery("ashby")

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection_for("ashby"), body, headers)

    assert response.status_code == 200
    assert InboundEvent.objects.get().status == InboundEventStatus.RECEIVED


def test_database_error_while_storing_answers_503_with_retry_after(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_store(**kwargs: Any) -> None:
        raise OperationalError("could not serialize access")

    monkeypatch.setattr(webhooks, "inbound_event_store", failing_store)
    body, headers = main_delivery("greenhouse")

    response = post(client, connection_for("greenhouse"), body, headers)

    assert_refused(response, 503)
    assert response["Retry-After"] == "60"


# -- real transactions (ATOMIC_REQUESTS) -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_signature_failure_is_committed_although_the_request_is_atomic(client: Client) -> None:
    connection = connection_for("greenhouse")
    body, headers = main_delivery("greenhouse")

    response = post(client, connection, tampered("greenhouse", body), headers)

    assert response.status_code == 401
    assert SignatureFailure.objects.filter(connection=connection).count() == 1
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_committed_delivery_is_enqueued_and_a_retry_is_not(
    client: Client, task: RecordingTask
) -> None:
    connection = connection_for("generic", webhook_secret=GENERIC_SECRET)
    body, headers = main_delivery("generic")

    first = post(client, connection, body, headers)
    again = post(client, connection, body, headers)

    event = InboundEvent.objects.get()
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    assert task.enqueued == [event.pk]


def test_event_payload_round_trips_for_processing(client: Client) -> None:
    body, headers = main_delivery("greenhouse")

    post(client, connection_for("greenhouse"), body, headers)

    stored = json.loads(InboundEvent.objects.get().raw_body)
    assert stored["payload"]["application"]["current_stage"]["name"] == "AI Interview"
