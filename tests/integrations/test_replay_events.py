"""``manage.py replay_events``: failed deliveries are processed again, with progress."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from integrations.models import Application, AtsConnection, CanonicalStage, InboundEventStatus
from integrations.services.stage_sync import inbound_event_replay
from integrations.signals import application_stage_changed
from tests.factories import AtsConnectionFactory, InboundEventFactory
from tests.helpers import connection_with_stages

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "normalize"


def payload(application: str = "app_1", **changes: Any) -> dict[str, Any]:
    body = json.loads((FIXTURES / "generic_application_stage_changed.json").read_text())
    body["application"]["id"] = application
    body.update(changes)
    return body


def event(connection: AtsConnection, body: dict[str, Any] | str, **fields: Any) -> Any:
    return InboundEventFactory(
        connection=connection,
        action="application.stage_changed",
        raw_body=body if isinstance(body, str) else json.dumps(body),
        **fields,
    )


def replay(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("replay_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def generic() -> AtsConnection:
    return connection_with_stages(
        slug="acme-generic",
        provider="generic",
        stages=[("", "AI Interview", CanonicalStage.AUTOMATED_INTERVIEW)],
    )


@pytest.fixture
def published() -> Any:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs)

    application_stage_changed.connect(receiver, weak=False, dispatch_uid="replay-test")
    yield calls
    application_stage_changed.disconnect(dispatch_uid="replay-test")


def test_a_failed_event_is_processed_by_replay_events(generic, django_capture_on_commit_callbacks):
    # Failed earlier, e.g. the database was briefly unavailable.
    failed = event(generic, payload(), status="failed", error="OperationalError: gone", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = replay()

    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.attempts) == ("processed", "", 2)
    assert Application.objects.get().canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert f"1/1 event {failed.pk} acme-generic:" in out
    assert "Replayed 1 event(s): processed 1." in out


def test_progress_and_a_summary_by_resulting_status(generic):
    still_broken = payload("app_2")
    del still_broken["candidate"]["id"]
    events = [
        event(generic, payload("app_1"), status="failed"),
        event(generic, still_broken, status="failed"),
        event(generic, payload("app_3"), status="processed"),
    ]

    out, _ = replay()

    assert "1/2 " in out
    assert "2/2 " in out
    assert "missing required field candidate.id" in out
    assert "Replayed 2 event(s): failed 1, processed 1." in out
    events[2].refresh_from_db()
    assert events[2].status == "processed"


def test_dry_run_changes_nothing(generic):
    failed = event(generic, payload(), status="failed", error="boom")

    out, _ = replay("--dry-run")

    assert f"would replay event {failed.pk}" in out
    assert "Dry run: 1 event(s) would be replayed." in out
    failed.refresh_from_db()
    assert (failed.status, failed.error) == ("failed", "boom")
    assert not Application.objects.exists()


def test_only_the_named_connection_is_replayed(generic):
    other = AtsConnectionFactory(slug="other", provider="generic")
    mine = event(generic, payload("app_1"), status="failed")
    theirs = event(other, payload("app_2"), status="failed")

    replay("--connection", "acme-generic")

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("processed", "failed")


def test_an_unknown_connection_is_a_clear_error(generic):
    with pytest.raises(CommandError, match="No ATS connection with slug 'nope'"):
        replay("--connection", "nope")


def test_ids_replay_any_status_without_a_second_state_change(
    generic, published, django_capture_on_commit_callbacks
):
    done = event(generic, payload(), status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        replay()
        out, _ = replay("--id", str(done.pk))

    done.refresh_from_db()
    assert done.status == "processed"
    assert done.attempts == 2
    assert len(published) == 1  # the replay found nothing new to publish
    assert "Replayed 1 event(s): processed 1." in out


def test_ids_that_cannot_be_replayed_are_reported(generic):
    busy = event(generic, payload(), status=InboundEventStatus.PROCESSING)

    out, err = replay("--id", str(busy.pk), "424242")

    assert "No events to replay." in out
    assert f"{busy.pk}, 424242" in err
    busy.refresh_from_db()
    assert busy.status == "processing"


def test_status_selects_other_events(generic):
    stale = event(generic, payload(), status="stale")
    failed = event(generic, payload("app_2"), status="failed")

    replay("--status", "stale")

    stale.refresh_from_db()
    failed.refresh_from_db()
    assert (stale.status, failed.status) == ("processed", "failed")


def test_replay_service_reports_progress(generic):
    event(generic, payload("app_1"), status="failed")
    event(generic, payload("app_2"), status="failed")
    seen: list[tuple[int, int, str]] = []

    count = inbound_event_replay(progress=lambda n, total, e: seen.append((n, total, e.status)))

    assert count == 2
    assert seen == [(1, 2, "processed"), (2, 2, "processed")]
