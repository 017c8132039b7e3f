"""Processing stored deliveries: identity, idempotency, ordering, mapping, events out, sweeper,
and the admin pages for unmapped stages and retries."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection as db_connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.roles import AUDITOR, HIRING_OPS_ADMIN, RECRUITER
from integrations import registry, tasks
from integrations.connectors.base import AtsClient, CandidateData, RequisitionData, StageChange
from integrations.connectors.lever import mapping as lever_mapping
from integrations.connectors.lever.mapping import PLACEHOLDER_POSTING_ID
from integrations.http import AtsTimeout
from integrations.models import (
    Application,
    ApplicationStageChange,
    AtsConnection,
    Candidate,
    CanonicalStage,
    InboundEvent,
    InboundEventStatus,
    Requisition,
    StageMapping,
    UnmappedStage,
)
from integrations.services import stage_sync
from integrations.services.stage_sync import (
    inbound_event_process,
    inbound_events_sweep,
    stage_change_apply,
    unmapped_stage_map,
)
from integrations.signals import application_stage_changed
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    InboundEventFactory,
    StageMappingFactory,
    UserFactory,
)
from tests.helpers import connection_with_stages, postgres_only, run_in_threads

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "normalize"
LEVER_AI_STAGE = "7c2690d8-6308-4ed9-ae2a-cbfe7db26593"
LEVER_OPPORTUNITY = "3410c8b9-5c31-4bab-b7e9-9f710206d647"
LEVER_CONTACT = "05c248f9-ccb1-435f-bab5-0ec608aec263"
LEVER_UPDATED_AT = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 4, 9, 12, 0, tzinfo=dt.UTC)


# -- helpers -----------------------------------------------------------------------------------


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def store(
    connection: AtsConnection,
    payload: dict[str, Any] | str,
    *,
    received_at: dt.datetime | None = None,
    occurred_at: dt.datetime | None = None,
    **fields: Any,
) -> InboundEvent:
    """An InboundEvent as the webhook intake stores it (Greenhouse sends no occurred_at)."""
    if isinstance(payload, dict):
        action = payload.get("action") or payload.get("event") or payload.get("type") or ""
        raw_body = json.dumps(payload)
    else:
        action, raw_body = fields.pop("action", ""), payload
    return InboundEventFactory(
        connection=connection,
        action=fields.pop("action", action),
        raw_body=raw_body,
        occurred_at=occurred_at,
        received_at=received_at or timezone.now(),
        **fields,
    )


def process(event: InboundEvent) -> InboundEvent:
    return inbound_event_process(event_id=event.pk)


def generic_payload(
    *,
    application: str = "app_1",
    candidate: str = "cand_1",
    email: str = "amara.okafor@example.com",
    stage: str = "AI Interview",
    stage_id: str = "",
    occurred_at: str = "2026-04-09T12:00:00Z",
    outcome: str = "",
    job: str = "job_204",
) -> dict[str, Any]:
    payload = load("generic_application_stage_changed")
    payload["application"]["id"] = application
    payload["candidate"].update(id=candidate, email=email)
    payload["job"]["id"] = job
    payload["stage"] = {"id": stage_id, "name": stage}
    payload["occurred_at"] = occurred_at
    payload["outcome"] = outcome
    return payload


def ashby_payload(
    *, updated_at: str, stage_id: str, title: str, candidate: str | None = None
) -> dict[str, Any]:
    payload = load("ashby_candidate_stage_change")
    application = payload["data"]["application"]
    application["updatedAt"] = updated_at
    application["currentInterviewStage"].update(id=stage_id, title=title)
    if candidate:
        application["candidate"]["id"] = candidate
    return payload


def greenhouse_payload(*, stage_id: int, stage_name: str) -> dict[str, Any]:
    payload = load("greenhouse_candidate_stage_change")
    payload["payload"]["application"]["current_stage"].update(id=stage_id, name=stage_name)
    return payload


def lever_body_change(connection: AtsConnection, payload: dict[str, Any]) -> StageChange:
    """A Lever delivery normalized from its body alone (``client=None``): stand-in posting."""
    [change] = lever_mapping.normalize(connection, payload["event"], payload, client=None)
    return change


class FakeLeverClient(AtsClient):
    """Lever's current state of any opportunity (what normalize reads instead of the body)."""

    def opportunity_stage_change(self, opportunity_id: str) -> StageChange | None:
        return StageChange(
            application_remote_id=opportunity_id,
            candidate=CandidateData(
                remote_id=LEVER_CONTACT, first_name="Jane", last_name="Doe", email="jane@ex.com"
            ),
            requisition=RequisitionData(remote_id="posting-1", title="Support Engineer"),
            remote_stage_id=LEVER_AI_STAGE,
            remote_stage_name="AI Interview",
            occurred_at=LEVER_UPDATED_AT,
        )


class LeverDown(AtsClient):
    def opportunity_stage_change(self, opportunity_id: str) -> StageChange | None:
        raise AtsTimeout(
            f"read timeout after 30s: GET https://api.lever.co/v1/opportunities/{opportunity_id}"
            "\n<traceback details>"
        )


@pytest.fixture
def published() -> Iterator[list[dict[str, Any]]]:
    """Every application_stage_changed sent, as its keyword arguments."""
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append({"sender": sender, **kwargs})

    application_stage_changed.connect(receiver, weak=False, dispatch_uid="test-published")
    yield calls
    application_stage_changed.disconnect(dispatch_uid="test-published")


@pytest.fixture
def greenhouse() -> AtsConnection:
    return connection_with_stages(
        slug="acme-gh",
        provider="greenhouse",
        stages=[
            ("", "ai interview", CanonicalStage.AUTOMATED_INTERVIEW),
            ("", "Phone Screen", CanonicalStage.RECRUITER_SCREEN),
            ("", "Onsite", CanonicalStage.ONSITE),
        ],
    )


@pytest.fixture
def generic() -> AtsConnection:
    return connection_with_stages(
        slug="acme-generic",
        provider="generic",
        stages=[
            ("", "AI Interview", CanonicalStage.AUTOMATED_INTERVIEW),
            ("", "Onsite", CanonicalStage.ONSITE),
        ],
    )


@pytest.fixture
def ashby() -> AtsConnection:
    return connection_with_stages(
        slug="acme-ashby",
        provider="ashby",
        stages=[
            (
                "8c2955af-1318-4800-9343-8828bdedd470",
                "AI Interview",
                CanonicalStage.AUTOMATED_INTERVIEW,
            ),
            ("onsite-stage", "Onsite", CanonicalStage.ONSITE),
        ],
    )


@pytest.fixture
def lever(monkeypatch: pytest.MonkeyPatch) -> AtsConnection:
    connection = AtsConnectionFactory(slug="acme-lever", provider="lever")
    StageMappingFactory(
        connection=connection,
        remote_stage_id=LEVER_AI_STAGE,
        remote_stage_name="AI Interview",
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )
    # Services get the connector through the registry: a fake one answers Lever's state.
    monkeypatch.setattr(registry, "client_for", FakeLeverClient)
    return connection


# -- records keyed by remote ids ---------------------------------------------------------------


def test_a_stage_change_creates_records_keyed_by_remote_ids(
    greenhouse, published, django_capture_on_commit_callbacks
):
    event = store(greenhouse, load("greenhouse_candidate_stage_change"))

    with django_capture_on_commit_callbacks(execute=True):
        event = process(event)

    assert event.status == InboundEventStatus.PROCESSED
    assert event.processed_at is not None
    assert event.attempts == 1
    assert event.error == ""
    application = Application.objects.select_related("candidate", "requisition").get()
    assert (application.connection, application.remote_id) == (greenhouse, "265277")
    assert application.candidate.remote_id == "265772"
    assert application.candidate.full_name == "Zoë Hurley-Núñez"
    assert application.requisition.remote_id == "3485"
    assert application.requisition.title == "Support Engineer"
    assert (application.remote_stage_id, application.remote_stage_name) == ("71416", "AI Interview")
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    # Greenhouse has no move timestamp: receipt time orders and dates the stage.
    assert application.last_event_at == event.received_at
    assert application.stage_entered_at == event.received_at
    assert [(c["old"], c["new"]) for c in published] == [(None, "automated_interview")]


def test_two_candidates_with_the_same_email_stay_two(generic):
    process(store(generic, generic_payload(application="a1", candidate="c1", email="x@ex.com")))
    process(store(generic, generic_payload(application="a2", candidate="c2", email="x@ex.com")))

    assert Candidate.objects.filter(email="x@ex.com").count() == 2
    assert sorted(Application.objects.values_list("candidate__remote_id", flat=True)) == [
        "c1",
        "c2",
    ]


def test_a_candidate_on_two_connections_is_two_candidates(generic):
    other = AtsConnectionFactory(provider="generic")
    process(store(generic, generic_payload(candidate="c1")))
    process(store(other, generic_payload(candidate="c1")))

    assert Candidate.objects.filter(remote_id="c1").count() == 2


def test_an_event_without_names_never_blanks_what_is_known(lever):
    ApplicationFactory(
        connection=lever,
        remote_id=LEVER_OPPORTUNITY,
        candidate__remote_id=LEVER_CONTACT,
        candidate__first_name="Ada",
        candidate__email="ada@example.com",
        requisition__remote_id="posting-1",
        last_event_at=T0 - dt.timedelta(days=30),
    )

    stage_change_apply(
        connection=lever, change=lever_body_change(lever, load("lever_candidate_stage_change"))
    )

    application = Application.objects.select_related("candidate", "requisition").get()
    assert (application.candidate.first_name, application.candidate.email) == (
        "Ada",
        "ada@example.com",
    )
    # The stand-in posting of a Lever event never replaces the real one.
    assert application.requisition.remote_id == "posting-1"
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert not Requisition.objects.filter(remote_id=PLACEHOLDER_POSTING_ID).exists()


def test_a_new_lever_application_gets_its_posting_and_stage_from_lever(lever, published):
    event = process(store(lever, load("lever_candidate_stage_change")))

    assert event.status == InboundEventStatus.PROCESSED
    application = Application.objects.select_related("candidate", "requisition").get()
    assert application.remote_id == LEVER_OPPORTUNITY
    assert application.candidate.remote_id == LEVER_CONTACT
    assert application.candidate.full_name == "Jane Doe"
    assert application.requisition.remote_id == "posting-1"
    assert application.remote_stage_name == "AI Interview"
    # Ordered by Lever's updatedAt: the state read is the newest.
    assert application.last_event_at == LEVER_UPDATED_AT
    assert not Requisition.objects.filter(remote_id=PLACEHOLDER_POSTING_ID).exists()


def test_a_new_lever_application_from_the_body_alone_gets_a_stand_in_posting(lever):
    result = stage_change_apply(
        connection=lever, change=lever_body_change(lever, load("lever_candidate_stage_change"))
    )

    application = Application.objects.select_related("candidate", "requisition").get()
    assert result.applied
    assert application.candidate.remote_id == LEVER_CONTACT
    assert application.requisition.remote_id == PLACEHOLDER_POSTING_ID
    assert (application.remote_stage_id, application.remote_stage_name) == (LEVER_AI_STAGE, "")
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert application.last_event_at == dt.datetime.fromtimestamp(1775752716.072, tz=dt.UTC)


# -- exactly once ------------------------------------------------------------------------------


def test_one_delivery_processed_twice_changes_state_once_and_publishes_once(
    generic, published, django_capture_on_commit_callbacks
):
    event = store(generic, generic_payload())

    with django_capture_on_commit_callbacks(execute=True):
        first = process(event)
        second = process(event)
        tasks.process_inbound_event_task(event.pk)  # the Celery wrapper, a third time

    assert first.status == second.status == InboundEventStatus.PROCESSED
    assert second.attempts == 1  # only the first run claimed it
    assert Application.objects.count() == 1
    assert len(published) == 1


def test_a_repeat_of_the_same_state_publishes_nothing(
    ashby, published, django_capture_on_commit_callbacks
):
    # Ashby sends candidateStageChange and applicationUpdate for one move.
    stage_change = load("ashby_candidate_stage_change")
    update = load("ashby_candidate_stage_change")
    update["action"] = "applicationUpdate"
    update["webhookActionId"] = "another-delivery"

    with django_capture_on_commit_callbacks(execute=True):
        process(store(ashby, stage_change))
        entered = Application.objects.get().stage_entered_at
        repeat = process(store(ashby, update))

    assert repeat.status == InboundEventStatus.PROCESSED
    assert Application.objects.get().stage_entered_at == entered
    assert [(c["old"], c["new"]) for c in published] == [(None, "automated_interview")]


def test_a_claim_taken_over_by_another_worker_rolls_back(generic, monkeypatch):
    event = store(generic, generic_payload())
    real = registry.mapping_module("generic")

    class SlowWorker:
        """While this worker normalizes, the sweeper hands the event to another worker."""

        @staticmethod
        def normalize(*args: Any, **kwargs: Any) -> Any:
            InboundEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
            return real.normalize(*args, **kwargs)

    monkeypatch.setattr(registry, "mapping_module", lambda provider: SlowWorker)

    result = process(event)

    assert result.status == InboundEventStatus.PROCESSING  # the other worker's claim stands
    assert not Application.objects.exists()


def test_the_task_never_raises_for_a_missing_event():
    tasks.process_inbound_event_task(987654)


# -- ordering ----------------------------------------------------------------------------------


def test_an_older_event_after_a_newer_one_is_stale_with_provider_timestamps(
    ashby, published, django_capture_on_commit_callbacks
):
    newer = ashby_payload(
        updated_at="2026-04-12T08:00:00Z", stage_id="onsite-stage", title="Onsite"
    )
    older = ashby_payload(
        updated_at="2026-04-09T16:38:36Z",
        stage_id="8c2955af-1318-4800-9343-8828bdedd470",
        title="AI Interview",
    )

    with django_capture_on_commit_callbacks(execute=True):
        process(store(ashby, newer))
        late = process(store(ashby, older))

    assert late.status == InboundEventStatus.STALE
    assert late.processed_at is not None
    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.ONSITE
    assert application.remote_stage_name == "Onsite"
    assert application.last_event_at == dt.datetime(2026, 4, 12, 8, tzinfo=dt.UTC)
    assert [c["new"] for c in published] == ["onsite"]


def test_an_older_greenhouse_event_processed_late_is_stale_by_receipt_order(
    greenhouse, published, django_capture_on_commit_callbacks
):
    # Received first (AI Interview) but delayed, e.g. the broker was down for it only.
    first = store(
        greenhouse,
        greenhouse_payload(stage_id=71416, stage_name="AI Interview"),
        received_at=T0,
        delivery_id="gh-1",
    )
    second = store(
        greenhouse,
        greenhouse_payload(stage_id=71418, stage_name="Onsite"),
        received_at=T0 + dt.timedelta(minutes=3),
        delivery_id="gh-2",
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert process(second).status == InboundEventStatus.PROCESSED
        assert process(first).status == InboundEventStatus.STALE

    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.ONSITE
    assert application.remote_stage_id == "71418"
    assert [c["new"] for c in published] == ["onsite"]


def test_a_newer_event_moves_the_stage_and_its_entry_time(
    generic, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        process(store(generic, generic_payload(occurred_at="2026-04-09T12:00:00Z")))
        process(store(generic, generic_payload(stage="Onsite", occurred_at="2026-04-10T12:00:00Z")))

    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.ONSITE
    assert application.stage_entered_at == dt.datetime(2026, 4, 10, 12, tzinfo=dt.UTC)
    assert [(c["old"], c["new"]) for c in published] == [
        (None, "automated_interview"),
        ("automated_interview", "onsite"),
    ]


def test_applied_stage_changes_are_kept_as_history_with_the_furthest_stage(
    generic, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        process(store(generic, generic_payload(occurred_at="2026-04-09T12:00:00Z")))
        process(store(generic, generic_payload(stage="Onsite", occurred_at="2026-04-10T12:00:00Z")))
        # Back to an earlier stage: the history grows, the furthest stage stays onsite.
        process(
            store(
                generic, generic_payload(stage="AI Interview", occurred_at="2026-04-11T12:00:00Z")
            )
        )
        # The same state again is no change, so no history row.
        process(
            store(
                generic, generic_payload(stage="AI Interview", occurred_at="2026-04-12T12:00:00Z")
            )
        )

    application = Application.objects.get()
    history = list(
        ApplicationStageChange.objects.filter(application=application).values_list(
            "from_stage", "to_stage", "changed_at"
        )
    )
    day = lambda d: dt.datetime(2026, 4, d, 12, tzinfo=dt.UTC)  # noqa: E731
    assert history == [
        ("", "automated_interview", day(9)),
        ("automated_interview", "onsite", day(10)),
        ("onsite", "automated_interview", day(11)),
    ]
    assert application.furthest_stage_rank == 5  # onsite


def test_older_candidate_details_never_overwrite_newer_ones(generic):
    process(
        store(generic, generic_payload(email="new@example.com", occurred_at="2026-04-10T00:00Z"))
    )
    other_application = generic_payload(
        application="app_2", email="old@example.com", occurred_at="2026-04-01T00:00Z"
    )
    process(store(generic, other_application))

    assert Candidate.objects.get().email == "new@example.com"
    assert Application.objects.count() == 2


# -- stage mapping -----------------------------------------------------------------------------


def test_a_mapping_by_id_wins_over_a_mapping_by_name(generic):
    StageMappingFactory(
        connection=generic,
        remote_stage_id="stage_ai_interview",
        remote_stage_name="AI Interview (pilot)",
        canonical_stage=CanonicalStage.RECRUITER_SCREEN,
    )

    process(store(generic, generic_payload(stage="AI Interview", stage_id="stage_ai_interview")))

    assert Application.objects.get().canonical_stage == CanonicalStage.RECRUITER_SCREEN


def test_names_match_ignoring_case_and_whitespace(generic):
    process(store(generic, generic_payload(stage="  ai   INTERVIEW ")))

    assert Application.objects.get().canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW


def test_an_unmapped_stage_is_recorded_kept_and_launches_nothing(
    generic, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = process(store(generic, generic_payload(stage="Take Home", stage_id="th-1")))
        process(
            store(generic, generic_payload(application="app_2", stage="Take Home", stage_id="th-1"))
        )

    assert first.status == InboundEventStatus.PROCESSED
    application = Application.objects.get(remote_id="app_1")
    assert application.canonical_stage == CanonicalStage.UNMAPPED
    assert (application.remote_stage_id, application.remote_stage_name) == ("th-1", "Take Home")
    stage = UnmappedStage.objects.get()
    assert (stage.remote_stage_id, stage.remote_stage_name, stage.seen_count) == (
        "th-1",
        "Take Home",
        2,
    )
    assert stage.resolved_at is None
    assert published == []


def test_moving_into_an_unmapped_stage_publishes_nothing(
    generic, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        process(store(generic, generic_payload(occurred_at="2026-04-09T12:00:00Z")))
        process(store(generic, generic_payload(stage="Take Home", occurred_at="2026-04-10T12:00Z")))

    assert Application.objects.get().canonical_stage == CanonicalStage.UNMAPPED
    assert [c["new"] for c in published] == ["automated_interview"]


def test_an_outcome_wins_over_the_stage_mapping(
    greenhouse, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        process(
            store(
                greenhouse,
                greenhouse_payload(stage_id=71415, stage_name="Phone Screen"),
                received_at=T0,
            )
        )
        rejected = process(
            store(
                greenhouse,
                load("greenhouse_reject_candidate"),
                received_at=T0 + dt.timedelta(hours=1),
            )
        )

    assert rejected.status == InboundEventStatus.PROCESSED
    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.REJECTED
    # The remote stage is kept: an unreject restores the mapped stage.
    assert application.remote_stage_name == "Phone Screen"
    assert [(c["old"], c["new"]) for c in published] == [
        (None, "recruiter_screen"),
        ("recruiter_screen", "rejected"),
    ]


def test_a_lever_archive_from_the_body_rejects_and_an_unarchive_restores_the_stage(lever):
    # Body-only changes: an archive carries no stage, so the application's is kept.
    # (With a client, both events carry Lever's full state: see test_lever_sync.py.)
    stage_change_apply(
        connection=lever, change=lever_body_change(lever, load("lever_candidate_stage_change"))
    )
    archived = stage_change_apply(
        connection=lever, change=lever_body_change(lever, load("lever_candidate_archive_change"))
    )
    assert archived.applied
    assert Application.objects.get().canonical_stage == CanonicalStage.REJECTED

    unarchive = load("lever_candidate_archive_change")
    unarchive["id"] = "unarchive-1"
    unarchive["triggeredAt"] += 60_000
    unarchive["data"]["fromArchived"], unarchive["data"]["toArchived"] = (
        unarchive["data"]["toArchived"],
        None,
    )
    stage_change_apply(connection=lever, change=lever_body_change(lever, unarchive))

    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert application.remote_stage_id == LEVER_AI_STAGE


def test_an_ashby_merge_repoints_the_application_to_the_surviving_candidate(ashby):
    stage_id = "8c2955af-1318-4800-9343-8828bdedd470"
    process(
        store(
            ashby,
            ashby_payload(updated_at="2026-04-09T10:00:00Z", stage_id=stage_id, title="AI"),
        )
    )
    merged = ashby_payload(
        updated_at="2026-04-10T10:00:00Z",
        stage_id=stage_id,
        title="AI",
        candidate="9d1e7f4a-0000-4c2b-8e5d-merged000001",
    )
    process(store(ashby, merged))

    application = Application.objects.select_related("candidate").get()
    assert application.remote_id == "3ae2b801-19f6-41ef-ad28-214bd731948f"
    assert application.candidate.remote_id == "9d1e7f4a-0000-4c2b-8e5d-merged000001"
    assert Candidate.objects.count() == 2  # the old record stays; nothing is merged by e-mail


def test_an_event_that_moves_no_application_is_ignored(greenhouse):
    event = process(store(greenhouse, {"action": "application_updated", "payload": {}}))

    assert event.status == InboundEventStatus.IGNORED
    assert event.processed_at is not None
    assert not Application.objects.exists()


# -- failures ----------------------------------------------------------------------------------


def test_a_malformed_delivery_fails_with_a_clear_error(generic):
    payload = generic_payload()
    del payload["candidate"]["id"]

    event = process(store(generic, payload))

    assert event.status == InboundEventStatus.FAILED
    assert event.error == "MalformedPayloadError: missing required field candidate.id"
    assert event.processed_at is None
    assert not Application.objects.exists()


def test_a_body_that_is_not_json_fails(generic):
    event = process(store(generic, "{not json", action="application.stage_changed"))

    assert event.status == InboundEventStatus.FAILED
    assert event.error.startswith("MalformedPayloadError: body is not valid JSON")


def test_an_ats_error_fails_the_event_with_one_line_and_a_retry_processes_it(
    lever, monkeypatch, published, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(registry, "client_for", lambda c: LeverDown(c))
    event = process(store(lever, load("lever_candidate_stage_change")))

    assert event.status == InboundEventStatus.FAILED
    assert event.error == (
        f"AtsTimeout: cannot read Lever opportunity {LEVER_OPPORTUNITY} for this "
        "candidateStageChange; retry or replay the event once Lever answers: read timeout "
        f"after 30s: GET https://api.lever.co/v1/opportunities/{LEVER_OPPORTUNITY}"
    )
    assert not Application.objects.exists()

    monkeypatch.setattr(registry, "client_for", FakeLeverClient)
    with django_capture_on_commit_callbacks(execute=True):
        retried = process(event)

    assert (retried.status, retried.error, retried.attempts) == ("processed", "", 2)
    assert Application.objects.get().canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert len(published) == 1


def test_a_failing_subscriber_does_not_fail_a_processed_event(
    generic, django_capture_on_commit_callbacks
):
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("subscriber bug")

    application_stage_changed.connect(broken, weak=False, dispatch_uid="broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event = process(store(generic, generic_payload()))
    finally:
        application_stage_changed.disconnect(dispatch_uid="broken")

    event.refresh_from_db()
    assert event.status == InboundEventStatus.PROCESSED


# -- events out --------------------------------------------------------------------------------


def test_the_signal_carries_old_and_new_and_fires_only_after_commit(
    generic, published, django_capture_on_commit_callbacks
):
    process(store(generic, generic_payload(occurred_at="2026-04-09T12:00:00Z")))
    event = store(generic, generic_payload(stage="Onsite", occurred_at="2026-04-10T12:00:00Z"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        process(event)
    assert published == []  # nothing before the commit

    for callback in callbacks:
        callback()
    [call] = published
    assert call["sender"] is Application
    assert call["application"] == Application.objects.get()
    assert (call["old"], call["new"]) == ("automated_interview", "onsite")
    assert call["event"].pk == event.pk


def test_a_rolled_back_change_publishes_nothing(
    generic, published, django_capture_on_commit_callbacks
):
    change = stage_sync.registry.mapping_module("generic").normalize(
        generic, "application.stage_changed", generic_payload(), client=None
    )[0]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with stage_sync.transaction.atomic():
                stage_change_apply(connection=generic, change=change)
                raise RuntimeError("caller failed after applying")
        except RuntimeError:
            pass

    assert callbacks == []
    assert published == []
    assert not Application.objects.exists()


def test_a_reconcile_repair_applies_without_an_event(
    generic, published, django_capture_on_commit_callbacks
):
    [change] = registry.mapping_module("generic").normalize(
        generic, "application.stage_changed", generic_payload(), client=None
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = stage_change_apply(connection=generic, change=change)

    assert result.applied
    assert result.stage_changed
    assert result.application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert published[0]["event"] is None


# -- sweeper -----------------------------------------------------------------------------------


def test_the_sweeper_processes_forgotten_and_stuck_events_only(generic):
    now = timezone.now()
    forgotten = store(
        generic, generic_payload(application="a1"), received_at=now - dt.timedelta(minutes=3)
    )
    stuck = store(
        generic,
        generic_payload(application="a2"),
        received_at=now - dt.timedelta(minutes=30),
        status=InboundEventStatus.PROCESSING,
        processed_at=now - dt.timedelta(minutes=11),  # the claim of a worker that died
        attempts=1,
    )
    fresh = store(generic, generic_payload(application="a3"), received_at=now)
    busy = store(
        generic,
        generic_payload(application="a4"),
        received_at=now - dt.timedelta(minutes=30),
        status=InboundEventStatus.PROCESSING,
        processed_at=now - dt.timedelta(minutes=1),  # replayed a minute ago, still running
        attempts=2,
    )
    failed = store(
        generic,
        generic_payload(application="a5"),
        received_at=now - dt.timedelta(minutes=30),
        status=InboundEventStatus.FAILED,
    )

    assert inbound_events_sweep() == 2  # eager Celery in tests: processed right away

    for event in (forgotten, stuck, fresh, busy, failed):
        event.refresh_from_db()
    assert forgotten.status == stuck.status == InboundEventStatus.PROCESSED
    assert stuck.attempts == 2
    assert fresh.status == InboundEventStatus.RECEIVED  # its on-commit enqueue is still due
    assert busy.status == InboundEventStatus.PROCESSING
    assert failed.status == InboundEventStatus.FAILED  # failures wait for a human
    assert sorted(Application.objects.values_list("remote_id", flat=True)) == ["a1", "a2"]


def test_the_sweeper_survives_a_broker_outage(generic, monkeypatch):
    event = store(generic, generic_payload(), received_at=timezone.now() - dt.timedelta(minutes=5))

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("redis://127.0.0.1:6379 refused")

    monkeypatch.setattr(tasks.process_inbound_event_task, "delay", broker_down)

    assert inbound_events_sweep() == 0
    event.refresh_from_db()
    assert event.status == InboundEventStatus.RECEIVED  # picked up by a later sweep


def test_the_sweep_task_runs_twice_without_double_processing(generic):
    store(generic, generic_payload(), received_at=timezone.now() - dt.timedelta(minutes=5))

    assert tasks.sweep_inbound_events_task() == 1
    assert tasks.sweep_inbound_events_task() == 0
    assert InboundEvent.objects.get().attempts == 1


# -- mapping an unmapped stage -----------------------------------------------------------------


def _two_jobs_in_take_home(greenhouse: AtsConnection) -> list[Application]:
    """Greenhouse stage ids are per job: two jobs, two ids for one "Take Home" stage."""
    apps = []
    for index, stage_id in enumerate(["81001", "82001"]):
        payload = greenhouse_payload(stage_id=int(stage_id), stage_name="Take Home")
        application = payload["payload"]["application"]
        application["id"] = 900 + index
        application["candidate"]["id"] = 700 + index
        application["jobs"][0]["id"] = 3485 + index
        process(store(greenhouse, payload))
        apps.append(Application.objects.get(remote_id=str(900 + index)))
    return apps


def test_mapping_a_stage_by_name_remaps_every_job_quietly(
    greenhouse, published, django_capture_on_commit_callbacks
):
    first, second = _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.get(remote_stage_id="81001")
    entered = first.stage_entered_at

    with django_capture_on_commit_callbacks(execute=True):
        result = unmapped_stage_map(
            unmapped_stage=stage, canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW, by_name=True
        )

    assert (result.mapping_created, result.remapped, result.resolved, result.published) == (
        True,
        2,
        2,
        0,
    )
    mapping = StageMapping.objects.get(connection=greenhouse, normalized_name="take home")
    assert mapping.remote_stage_id == ""
    for application in (first, second):
        application.refresh_from_db()
        assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert first.stage_entered_at == entered
    assert not UnmappedStage.objects.filter(resolved_at__isnull=True).exists()
    assert published == []  # mapping is configuration, not 2 candidates moving


def test_mapping_a_stage_by_id_covers_that_job_only(greenhouse):
    first, second = _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.get(remote_stage_id="81001")

    result = unmapped_stage_map(
        unmapped_stage=stage, canonical_stage=CanonicalStage.ONSITE, by_name=False
    )

    assert result.remapped == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.canonical_stage, second.canonical_stage) == ("onsite", "unmapped")
    assert UnmappedStage.objects.get(remote_stage_id="82001").resolved_at is None


def test_mapping_with_publish_starts_the_workflow_for_each_application(
    greenhouse, published, django_capture_on_commit_callbacks
):
    _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.get(remote_stage_id="81001")

    with django_capture_on_commit_callbacks(execute=True):
        result = unmapped_stage_map(
            unmapped_stage=stage,
            canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
            by_name=True,
            publish=True,
        )

    assert result.published == 2
    assert sorted((c["old"], c["new"], c["event"]) for c in published) == [
        ("unmapped", "automated_interview", None),
        ("unmapped", "automated_interview", None),
    ]


def test_the_next_event_in_a_mapped_stage_is_mapped(greenhouse):
    _two_jobs_in_take_home(greenhouse)
    unmapped_stage_map(
        unmapped_stage=UnmappedStage.objects.get(remote_stage_id="81001"),
        canonical_stage=CanonicalStage.ONSITE,
        by_name=True,
    )
    payload = greenhouse_payload(stage_id=83001, stage_name="TAKE home")
    payload["payload"]["application"]["id"] = 999

    process(store(greenhouse, payload))

    assert Application.objects.get(remote_id="999").canonical_stage == CanonicalStage.ONSITE
    assert UnmappedStage.objects.filter(resolved_at__isnull=True).count() == 0


# -- admin: unmapped stages --------------------------------------------------------------------


def admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:integrations_{name}", args=args)


def staff(role: str) -> Any:
    user = UserFactory(is_staff=True, groups=[role])
    assert Group.objects.filter(name=role).exists()
    return user


@pytest.fixture
def ops_admin(role_groups: None) -> Any:
    return staff(HIRING_OPS_ADMIN)


@pytest.fixture
def recruiter(role_groups: None) -> Any:
    return staff(RECRUITER)


@pytest.fixture
def auditor(role_groups: None) -> Any:
    return staff(AUDITOR)


def test_the_unmapped_stages_list_shows_counts(client, ops_admin, greenhouse):
    _two_jobs_in_take_home(greenhouse)
    client.force_login(ops_admin)

    response = client.get(admin_url("unmappedstage_changelist"))

    assert response.status_code == 200
    rows = {stage.remote_stage_id: stage for stage in response.context["cl"].result_list}
    assert rows["81001"].application_count == 1
    assert rows["81001"].seen_count == 1
    assert b"Take Home" in response.content
    assert b"Map to" in response.content


def test_the_unmapped_stages_list_query_count_does_not_grow(client, ops_admin, greenhouse):
    client.force_login(ops_admin)
    _two_jobs_in_take_home(greenhouse)
    url = admin_url("unmappedstage_changelist")
    client.get(url)
    with CaptureQueriesContext(db_connection) as few:
        client.get(url)
    for index in range(5):
        process(store(greenhouse, greenhouse_assessment_stage(index)))
    with CaptureQueriesContext(db_connection) as many:
        assert client.get(url).status_code == 200

    assert UnmappedStage.objects.count() == 7
    assert len(many) == len(few)


def greenhouse_assessment_stage(index: int) -> dict[str, Any]:
    payload = greenhouse_payload(stage_id=85000 + index, stage_name=f"Assessment {index}")
    payload["payload"]["application"]["id"] = 5000 + index
    return payload


def test_a_recruiter_cannot_see_or_map_unmapped_stages(client, recruiter, greenhouse):
    _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.first()
    client.force_login(recruiter)

    assert client.get(admin_url("unmappedstage_changelist")).status_code == 403
    assert client.get(admin_url("unmappedstage_change", stage.pk)).status_code == 403
    response = client.post(
        admin_url("unmappedstage_change", stage.pk),
        {"map_to": "onsite", "match_by": "name"},
    )
    assert response.status_code == 403
    assert not StageMapping.objects.filter(normalized_name="take home").exists()


def test_an_auditor_sees_unmapped_stages_but_cannot_map_them(client, auditor, greenhouse):
    _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.first()
    client.force_login(auditor)

    assert client.get(admin_url("unmappedstage_changelist")).status_code == 200
    page = client.get(admin_url("unmappedstage_change", stage.pk))
    assert page.status_code == 200
    assert b'name="map_to"' not in page.content
    assert b'name="_save"' not in page.content
    response = client.post(
        admin_url("unmappedstage_change", stage.pk), {"map_to": "onsite", "match_by": "name"}
    )
    assert response.status_code == 403


def test_a_hiring_ops_admin_maps_a_stage_in_one_form(
    client, ops_admin, greenhouse, published, django_capture_on_commit_callbacks
):
    first, second = _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.get(remote_stage_id="81001")
    client.force_login(ops_admin)

    page = client.get(admin_url("unmappedstage_change", stage.pk))
    assert page.status_code == 200
    assert "Every stage named “Take Home”".encode() in page.content
    assert b"2 application(s) in it now" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url("unmappedstage_change", stage.pk),
            {"map_to": "automated_interview", "match_by": "name"},
            follow=True,
        )

    assert response.status_code == 200
    assert (
        "now mapped to Automated interview: 2 application(s) re-mapped" in response.content.decode()
    )
    assert StageMapping.objects.filter(
        connection=greenhouse, remote_stage_id="", normalized_name="take home"
    ).exists()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.canonical_stage == second.canonical_stage == "automated_interview"
    stage.refresh_from_db()
    assert stage.resolved_at is not None
    assert published == []
    # A mapped stage's page is read-only history.
    assert b'name="map_to"' not in client.get(admin_url("unmappedstage_change", stage.pk)).content


def test_the_map_form_can_start_workflows_when_asked(
    client, ops_admin, greenhouse, published, django_capture_on_commit_callbacks
):
    _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.get(remote_stage_id="81001")
    client.force_login(ops_admin)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            admin_url("unmappedstage_change", stage.pk),
            {"map_to": "automated_interview", "match_by": "id", "start_workflows": "on"},
        )

    assert [(c["old"], c["new"]) for c in published] == [("unmapped", "automated_interview")]


def test_the_map_form_reports_a_conflicting_mapping(client, ops_admin, greenhouse):
    _two_jobs_in_take_home(greenhouse)
    StageMappingFactory(
        connection=greenhouse,
        remote_stage_id="",
        remote_stage_name="take   home",
        canonical_stage=CanonicalStage.ONSITE,
    )
    stage = UnmappedStage.objects.get(remote_stage_id="81001")
    client.force_login(ops_admin)

    response = client.post(
        admin_url("unmappedstage_change", stage.pk),
        {"map_to": "automated_interview", "match_by": "name"},
    )

    assert response.status_code == 200
    assert b"already mapped to Onsite" in response.content
    stage.refresh_from_db()
    assert stage.resolved_at is None


def test_the_map_form_requires_a_canonical_stage(client, ops_admin, greenhouse):
    _two_jobs_in_take_home(greenhouse)
    stage = UnmappedStage.objects.first()
    client.force_login(ops_admin)

    response = client.post(admin_url("unmappedstage_change", stage.pk), {"match_by": "name"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["map_to"]
    assert not StageMapping.objects.filter(normalized_name="take home").exists()


# -- admin: retry processing -------------------------------------------------------------------


def test_retry_processing_reprocesses_failed_events_now(
    client, ops_admin, lever, monkeypatch, django_capture_on_commit_callbacks
):
    working = registry.client_for
    monkeypatch.setattr(registry, "client_for", lambda c: LeverDown(c))
    failed = process(store(lever, load("lever_candidate_stage_change")))
    assert failed.status == InboundEventStatus.FAILED
    processed = store(lever, {"event": "contactUpdated"}, status=InboundEventStatus.PROCESSED)
    monkeypatch.setattr(registry, "client_for", working)
    client.force_login(ops_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url("inboundevent_changelist"),
            {"action": "retry_processing", "_selected_action": [failed.pk, processed.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert b"1 event(s) queued for processing." in response.content
    assert b"1 event(s) skipped" in response.content
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.attempts) == ("processed", "", 2)
    assert Application.objects.get().canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW


def test_a_recruiter_cannot_retry_events(client, recruiter, generic):
    event = store(generic, generic_payload(), status=InboundEventStatus.FAILED)
    client.force_login(recruiter)

    response = client.post(
        admin_url("inboundevent_changelist"),
        {"action": "retry_processing", "_selected_action": [event.pk]},
    )

    assert response.status_code == 403
    event.refresh_from_db()
    assert event.status == InboundEventStatus.FAILED


# -- real concurrency (PostgreSQL) -------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_delivery_apply_it_once(generic, published):
    event = store(generic, generic_payload())

    run_in_threads(*[lambda: process(event)] * 4)

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    assert Application.objects.count() == 1
    assert len(published) == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_for_a_new_application_at_once_make_one_application(generic, published):
    events = [
        store(generic, generic_payload(occurred_at="2026-04-09T12:00:00Z")),
        store(generic, generic_payload(stage="Onsite", occurred_at="2026-04-10T12:00:00Z")),
    ]

    run_in_threads(*[lambda e=e: process(e) for e in events])

    statuses = sorted(InboundEvent.objects.values_list("status", flat=True))
    # Whichever ran first, the newer stage is where the application ends.
    assert statuses in (["processed", "processed"], ["processed", "stale"])
    application = Application.objects.get()
    assert application.canonical_stage == CanonicalStage.ONSITE
    assert Candidate.objects.count() == Requisition.objects.count() == 1
    assert "onsite" in [call["new"] for call in published]
