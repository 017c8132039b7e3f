"""Lever webhooks end to end: a signed delivery is stored, processed (eager Celery) and applied
with the opportunity's state read back from the Lever API — the loopback ATS, real sockets.

Lever signs ``token + triggeredAt`` only, so the body is a notification: these tests check that
the application follows Lever's state (stage, archive, posting, name, e-mail) and never a body
that says otherwise, and that an unreachable API fails the event until a replay.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from integrations import registry
from integrations.connectors.lever import mapping
from integrations.models import (
    Application,
    AtsConnection,
    CanonicalStage,
    InboundEvent,
    InboundEventStatus,
    Requisition,
)
from integrations.services.stage_sync import stage_change_apply
from integrations.signals import application_stage_changed
from tests.ats_server import LOOPBACK_API_KEY, AtsServer, Reply, loopback_connection
from tests.factories import StageMappingFactory
from tests.integrations.test_signatures import LEVER_HEADERS, fixture_body, lever_sign

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clients"
# The ids of tests/fixtures/lever/*.json (Lever's documented example delivery).
OPPORTUNITY = "3410c8b9-5c31-4bab-b7e9-9f710206d647"
CONTACT = "05c248f9-ccb1-435f-bab5-0ec608aec263"
AI_STAGE = "7c2690d8-6308-4ed9-ae2a-cbfe7db26593"  # the fixture's toStageId
ONSITE_STAGE = "992f01a9-ee19-41d2-ae79-1040701b195c"
POSTING = "f2f2b3a4-1111-4111-8111-111111111111"  # lever_lookups.json
HIRED_REASON = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"  # type "hired" in lever_lookups.json
UNDERQUALIFIED_REASON = "0b9e6f4e-6b2b-4ac1-8b0e-9a3c0f1d2e3f"  # type "non-hired"
OPPORTUNITY_PATH = "/v1/opportunities/{id}"


def lookups() -> dict[str, Any]:
    return json.loads((FIXTURES / "lever_lookups.json").read_text())


def lever_opportunity(
    *,
    stage: tuple[str, str] = (AI_STAGE, "AI Interview"),
    archived: dict[str, Any] | None = None,
    updated_at: int = 1775800000000,
    posting: str | None = POSTING,
) -> dict[str, Any]:
    """``GET /opportunities/{id}?expand=stage&expand=applications&expand=contact``'s ``data``.

    The documented opportunity (hire.lever.co/developer/documentation#retrieve-a-single-
    opportunity) with the three fields expanded: stage ``{id, text}``, application objects and
    the contact ``{id, name, headline, location, emails, phones, isAnonymized}``.
    """
    applications = []
    if posting:
        applications.append(
            {
                "id": "a1b2c3d4-0000-4000-8000-000000000001",
                "opportunityId": OPPORTUNITY,
                "candidateId": OPPORTUNITY,
                "createdAt": 1775000000000,
                "type": "posting",
                "posting": posting,
                "name": "Jane Doe",
                "email": "jane.doe@example.com",
                "archived": archived,
            }
        )
    return {
        "id": OPPORTUNITY,
        "name": "Jane Doe",
        "headline": "Acme Support",
        "contact": {
            "id": CONTACT,
            "name": "Jane Doe",
            "headline": "Acme Support",
            "location": {"name": "Lisbon"},
            "emails": ["jane.doe@example.com", "jane@home.example"],
            "phones": [{"type": "mobile", "value": "+351 555 0100"}],
            "isAnonymized": False,
        },
        "emails": ["jane.doe@example.com", "jane@home.example"],
        "stage": {"id": stage[0], "text": stage[1]},
        "archived": archived,
        "tags": [],
        "sources": ["linkedin"],
        "origin": "applied",
        "applications": applications,
        "createdAt": 1775000000000,
        "updatedAt": updated_at,
        "lastAdvancedAt": updated_at,
        "isAnonymized": False,
    }


def answer(opportunity: dict[str, Any]) -> Reply:
    return Reply(200, json={"data": opportunity})


def script_lever(server: AtsServer, opportunity: dict[str, Any]) -> None:
    """Lever answers ``opportunity`` for any id, plus the posting and the archive reasons."""
    data = lookups()
    server.on("GET", OPPORTUNITY_PATH, answer(opportunity))
    server.on("GET", "/v1/postings/{id}", Reply(200, json={"data": data["posting"]}))
    server.on("GET", "/v1/archive_reasons", Reply(200, json={"data": data["archive_reasons"]}))


def now_ms() -> int:
    return int(time.time() * 1000)


def delivery(
    name: str = "candidate_stage_change", *, triggered_at: int | None = None, **changes: Any
) -> bytes:
    """A Lever fixture delivery, signed with the factory secret; ``changes`` update ``data``."""
    payload = json.loads(fixture_body("lever", name))
    payload["data"].update(changes)
    return lever_sign(json.dumps(payload).encode(), triggered_at=triggered_at or now_ms())


def post(client: Any, connection: AtsConnection, body: bytes, capture: Any) -> Any:
    url = reverse("integrations:ats-webhook", args=[connection.slug])
    # Processing is enqueued on commit; Celery is eager in tests, so it runs right here.
    with capture(execute=True):
        response = client.post(
            url, data=body, content_type="application/json", headers=LEVER_HEADERS
        )
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def lever(ats_server: AtsServer) -> AtsConnection:
    connection = loopback_connection(ats_server, "lever", slug="acme-lever")
    StageMappingFactory(
        connection=connection,
        remote_stage_id=AI_STAGE,
        remote_stage_name="AI Interview",
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )
    StageMappingFactory(
        connection=connection,
        remote_stage_id=ONSITE_STAGE,
        remote_stage_name="Onsite",
        canonical_stage=CanonicalStage.ONSITE,
    )
    return connection


@pytest.fixture
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The in-call retry delays, recorded instead of slept (no sleeps in tests)."""
    sleeps: list[float] = []
    build = registry.client_for

    def client_for(connection: AtsConnection) -> Any:
        client = build(connection)
        client.http.sleep = sleeps.append
        return client

    monkeypatch.setattr(registry, "client_for", client_for)
    return sleeps


@pytest.fixture
def published() -> Iterator[list[tuple[str | None, str]]]:
    calls: list[tuple[str | None, str]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append((kwargs["old"], kwargs["new"]))

    application_stage_changed.connect(receiver, weak=False, dispatch_uid="test-lever-sync")
    yield calls
    application_stage_changed.disconnect(dispatch_uid="test-lever-sync")


# -- the state comes from Lever -----------------------------------------------------------------


def test_a_signed_stage_change_lands_on_the_real_posting_with_the_candidate_from_lever(
    client, lever, ats_server, published, django_capture_on_commit_callbacks
):
    script_lever(ats_server, lever_opportunity(updated_at=1775800000000))

    response = post(client, lever, delivery(), django_capture_on_commit_callbacks)

    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert (event.status, event.error, event.attempts) == (InboundEventStatus.PROCESSED, "", 1)
    application = Application.objects.select_related("candidate", "requisition").get()
    assert application.remote_id == OPPORTUNITY
    requisition = application.requisition
    assert (requisition.remote_id, requisition.title) == (POSTING, "Customer Support Specialist")
    assert (requisition.department, requisition.location) == ("Customer Experience", "Lisbon")
    candidate = application.candidate
    assert (candidate.remote_id, candidate.first_name, candidate.last_name) == (
        CONTACT,
        "Jane",
        "Doe",
    )
    assert candidate.email == "jane.doe@example.com"
    assert (application.remote_stage_id, application.remote_stage_name) == (
        AI_STAGE,
        "AI Interview",
    )
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    # Ordered by Lever's updatedAt, not by the (unsigned-body) event.
    assert application.last_event_at.timestamp() == 1775800000
    assert published == [(None, CanonicalStage.AUTOMATED_INTERVIEW)]
    assert not Requisition.objects.filter(remote_id=mapping.PLACEHOLDER_POSTING_ID).exists()

    [read] = ats_server.requests("GET", OPPORTUNITY_PATH)
    assert read.path == f"/v1/opportunities/{OPPORTUNITY}"
    assert read.query_list == {"expand": ["stage", "applications", "contact"]}
    assert read.basic_auth == (LOOPBACK_API_KEY, "")
    [posting] = ats_server.requests("GET", "/v1/postings/{id}")
    assert posting.path == f"/v1/postings/{POSTING}"
    # Not archived: no archive reasons needed; the stage came expanded: no /stages call.
    assert ats_server.requests("GET", "/v1/archive_reasons") == []
    assert ats_server.requests("GET", "/v1/stages/{id}") == []
    assert ats_server.unmatched == []


def test_an_application_known_from_the_body_alone_moves_to_its_real_posting(
    client, lever, ats_server, django_capture_on_commit_callbacks
):
    # What an application created before this change (or by the body-only path) looks like.
    [stand_in] = mapping.normalize(
        lever,
        mapping.STAGE_CHANGE,
        json.loads(fixture_body("lever", "candidate_stage_change")),
        client=None,
    )
    stage_change_apply(connection=lever, change=stand_in)
    assert Application.objects.get().requisition.remote_id == mapping.PLACEHOLDER_POSTING_ID
    assert stand_in.occurred_at is not None
    later = int(stand_in.occurred_at.timestamp() * 1000) + 60_000
    script_lever(ats_server, lever_opportunity(updated_at=later))

    post(client, lever, delivery(), django_capture_on_commit_callbacks)

    application = Application.objects.select_related("candidate", "requisition").get()
    assert application.requisition.remote_id == POSTING
    assert application.candidate.full_name == "Jane Doe"
    assert application.candidate.email == "jane.doe@example.com"


@pytest.mark.parametrize(
    ("name", "forged"),
    [
        ("candidate_stage_change", {"toStageId": ONSITE_STAGE, "fromStageId": AI_STAGE}),
        ("candidate_archive_change", {"toArchived": {"archivedAt": 1, "reason": HIRED_REASON}}),
    ],
)
def test_a_forged_body_is_corrected_by_the_state_in_lever(
    name, forged, client, lever, ats_server, published, django_capture_on_commit_callbacks
):
    # A captured delivery keeps its valid signature (token + triggeredAt) whatever data says.
    captured = json.loads(delivery())
    forged_body = json.loads(fixture_body("lever", name))
    forged_body.update(
        id="forged-1",
        token=captured["token"],
        triggeredAt=captured["triggeredAt"],
        signature=captured["signature"],
    )
    forged_body["data"].update(forged, contactId="someone-else")
    script_lever(ats_server, lever_opportunity(stage=(AI_STAGE, "AI Interview")))

    post(client, lever, json.dumps(forged_body).encode(), django_capture_on_commit_callbacks)

    assert InboundEvent.objects.get().status == InboundEventStatus.PROCESSED
    application = Application.objects.select_related("candidate").get()
    # Lever says: AI Interview, not archived, contact CONTACT.
    assert application.remote_stage_id == AI_STAGE
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert application.candidate.remote_id == CONTACT
    assert published == [(None, CanonicalStage.AUTOMATED_INTERVIEW)]


def test_an_archive_change_follows_the_archive_state_in_lever(
    client, lever, ats_server, published, django_capture_on_commit_callbacks
):
    started = now_ms()
    script_lever(ats_server, lever_opportunity(updated_at=started))
    post(client, lever, delivery(triggered_at=started), django_capture_on_commit_callbacks)

    # The body names a "hired" reason; Lever's state (the one that counts) is a rejection.
    archived = {"archivedAt": started + 1000, "reason": UNDERQUALIFIED_REASON}
    ats_server.on(
        "GET",
        OPPORTUNITY_PATH,
        answer(lever_opportunity(archived=archived, updated_at=started + 1000)),
    )
    archive = delivery("candidate_archive_change", triggered_at=started + 1000)
    post(client, lever, archive, django_capture_on_commit_callbacks)

    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.REJECTED
    assert application.remote_stage_id == AI_STAGE  # kept: the stage is still known
    assert len(ats_server.requests("GET", "/v1/archive_reasons")) == 1

    # Unarchived in Lever: the current stage counts again.
    ats_server.on("GET", OPPORTUNITY_PATH, answer(lever_opportunity(updated_at=started + 2000)))
    unarchive = delivery(
        "candidate_archive_change",
        triggered_at=started + 2000,
        fromArchived=archived,
        toArchived=None,
    )
    unarchive = json.dumps({**json.loads(unarchive), "id": "unarchive-1"}).encode()
    post(client, lever, unarchive, django_capture_on_commit_callbacks)

    assert Application.objects.get().canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert published == [
        (None, CanonicalStage.AUTOMATED_INTERVIEW),
        (CanonicalStage.AUTOMATED_INTERVIEW, CanonicalStage.REJECTED),
        (CanonicalStage.REJECTED, CanonicalStage.AUTOMATED_INTERVIEW),
    ]


def test_an_archive_with_a_hired_reason_in_lever_is_a_hire(
    client, lever, ats_server, django_capture_on_commit_callbacks
):
    archived = {"archivedAt": 1775800000000, "reason": HIRED_REASON}
    script_lever(ats_server, lever_opportunity(archived=archived))

    post(client, lever, delivery("candidate_archive_change"), django_capture_on_commit_callbacks)

    assert Application.objects.get().canonical_stage == CanonicalStage.HIRED


def test_an_opportunity_without_a_posting_is_ignored(
    client, lever, ats_server, django_capture_on_commit_callbacks
):
    script_lever(ats_server, lever_opportunity(posting=None))

    post(client, lever, delivery(), django_capture_on_commit_callbacks)

    assert InboundEvent.objects.get().status == InboundEventStatus.IGNORED
    assert not Application.objects.exists()
    assert ats_server.requests("GET", "/v1/postings/{id}") == []


# -- Lever unreachable --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("down", "error"),
    [
        (Reply.server_error(), "AtsServerError"),
        (Reply.slow(2.0, json={"data": {}}), "AtsTimeout"),
    ],
    ids=["5xx", "timeout"],
)
def test_lever_down_fails_the_event_clearly_and_a_replay_after_recovery_processes_it(
    down,
    error,
    client,
    ats_server,
    no_backoff_sleep,
    published,
    django_capture_on_commit_callbacks,
):
    lever = loopback_connection(
        ats_server, "lever", slug="acme-lever", settings={"http_timeout": [1.0, 0.3]}
    )
    StageMappingFactory(
        connection=lever,
        remote_stage_id=AI_STAGE,
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )
    script_lever(ats_server, lever_opportunity())
    ats_server.on("GET", OPPORTUNITY_PATH, down)

    post(client, lever, delivery(), django_capture_on_commit_callbacks)

    event = InboundEvent.objects.get()
    assert event.status == InboundEventStatus.FAILED
    assert event.error.startswith(
        f"{error}: cannot read Lever opportunity {OPPORTUNITY} for this candidateStageChange; "
        "retry or replay the event once Lever answers: "
    )
    assert f"GET http://127.0.0.1:{ats_server.port}/v1/opportunities/{OPPORTUNITY}" in event.error
    assert LOOPBACK_API_KEY not in event.error
    # Nothing taken from the unverifiable body meanwhile.
    assert not Application.objects.exists()
    assert published == []
    # The read was retried in-call (READ_RETRIES) before giving up.
    assert len(ats_server.requests("GET", OPPORTUNITY_PATH)) == 4
    assert len(no_backoff_sleep) == 3

    ats_server.on("GET", OPPORTUNITY_PATH, answer(lever_opportunity()))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_events", "--connection", lever.slug, stdout=out)

    event.refresh_from_db()
    assert (event.status, event.error, event.attempts) == (InboundEventStatus.PROCESSED, "", 2)
    assert "Replayed 1 event(s): processed 1" in out.getvalue()
    application = Application.objects.select_related("requisition").get()
    assert application.requisition.remote_id == POSTING
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert published == [(None, CanonicalStage.AUTOMATED_INTERVIEW)]


def test_an_opportunity_lever_does_not_know_fails_without_a_retry_hint(
    client, lever, ats_server, django_capture_on_commit_callbacks
):
    # E.g. a forged body naming a made-up opportunity: nothing is created from it.
    script_lever(ats_server, lever_opportunity())
    not_found = {"code": "ResourceNotFound", "message": "opportunities not-there was not found"}
    ats_server.on("GET", OPPORTUNITY_PATH, Reply(404, json=not_found))

    post(client, lever, delivery(opportunityId="not-there"), django_capture_on_commit_callbacks)

    event = InboundEvent.objects.get()
    assert event.status == InboundEventStatus.FAILED
    assert event.error.startswith(
        "AtsPermanentError: cannot read Lever opportunity not-there for this "
        "candidateStageChange: HTTP 404"
    )
    # Tried once: a 404 is not retried.
    assert len(ats_server.requests("GET", OPPORTUNITY_PATH)) == 1
    assert not Application.objects.exists()
