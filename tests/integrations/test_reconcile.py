"""``manage.py reconcile_ats`` with a fake connector that pages through StageChanges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations import registry
from integrations.connectors.base import CandidateData, RequisitionData, StageChange
from integrations.http import AtsServerError
from integrations.models import (
    Application,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    UnmappedStage,
)
from integrations.signals import application_stage_changed
from tests.factories import ApplicationFactory, AtsConnectionFactory, StageMappingFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


class PagingClient:
    """Yields the changes page by page, like a connector following Link headers."""

    def __init__(self, pages: list[list[StageChange]], fail_after_page: int | None = None):
        self.pages = pages
        self.fail_after_page = fail_after_page
        self.since: list[dt.datetime | None] = []
        self.pages_read = 0

    def iter_stage_changes(self, *, since: dt.datetime | None) -> Iterator[StageChange]:
        self.since.append(since)
        for number, page in enumerate(self.pages, start=1):
            self.pages_read += 1
            yield from page
            if self.fail_after_page == number:
                raise AtsServerError(
                    "HTTP 503 from GET https://ats.example/v1/applications?page=2",
                    status_code=503,
                )


@pytest.fixture
def connection() -> Any:
    connection = AtsConnectionFactory(slug="acme-gh", mode=ConnectionMode.LIVE)
    for name, stage in [
        ("Application Review", CanonicalStage.APPLICATION_REVIEW),
        ("Phone Screen", CanonicalStage.RECRUITER_SCREEN),
        ("Onsite", CanonicalStage.ONSITE),
    ]:
        StageMappingFactory(
            connection=connection, remote_stage_id="", remote_stage_name=name, canonical_stage=stage
        )
    return connection


def use_client(monkeypatch: pytest.MonkeyPatch, client: PagingClient) -> PagingClient:
    monkeypatch.setattr(registry, "client_for", lambda connection: client)
    return client


def change_for(
    application_id: str,
    stage: str,
    *,
    at: dt.datetime = T0,
    candidate_id: str | None = None,
    requisition_id: str = "4001",
) -> StageChange:
    return StageChange(
        application_remote_id=application_id,
        candidate=CandidateData(remote_id=candidate_id or f"c-{application_id}", first_name="Sam"),
        requisition=RequisitionData(remote_id=requisition_id, title="Support Specialist"),
        remote_stage_name=stage,
        occurred_at=at,
    )


def change_of(application: Application, stage: str, *, at: dt.datetime = T0) -> StageChange:
    return change_for(
        application.remote_id,
        stage,
        at=at,
        candidate_id=application.candidate.remote_id,
        requisition_id=application.requisition.remote_id,
    )


def reconcile(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reconcile_ats", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def in_review_since_yesterday(connection: Any) -> Any:
    """An application we last saw in Application Review, a day before T0."""
    return ApplicationFactory(
        connection=connection,
        remote_stage_name="Application Review",
        canonical_stage=CanonicalStage.APPLICATION_REVIEW,
        last_event_at=T0 - dt.timedelta(days=1),
    )


def test_reconcile_creates_moves_and_keeps_newer_webhook_state(
    connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    behind = in_review_since_yesterday(connection)
    newer = ApplicationFactory(
        connection=connection,
        remote_stage_name="Onsite",
        canonical_stage=CanonicalStage.ONSITE,
        last_event_at=T0 + dt.timedelta(hours=1),  # a webhook brought this after the API read
    )
    same = ApplicationFactory(
        connection=connection,
        remote_stage_name="Phone Screen",
        canonical_stage=CanonicalStage.RECRUITER_SCREEN,
        last_event_at=T0 - dt.timedelta(days=1),
    )
    client = use_client(
        monkeypatch,
        PagingClient(
            [
                [change_of(behind, "Phone Screen"), change_of(newer, "Application Review")],
                [change_for("app-new", "Application Review"), change_of(same, "Phone Screen")],
                [change_for("app-odd", "Take Home Test")],
            ]
        ),
    )

    out, err = reconcile("acme-gh")

    assert client.pages_read == 3
    assert client.since == [None]
    behind.refresh_from_db()
    newer.refresh_from_db()
    assert behind.canonical_stage == CanonicalStage.RECRUITER_SCREEN
    assert newer.canonical_stage == CanonicalStage.ONSITE  # the older API state did not win
    created = Application.objects.get(connection=connection, remote_id="app-new")
    assert created.canonical_stage == CanonicalStage.APPLICATION_REVIEW
    odd = Application.objects.get(connection=connection, remote_id="app-odd")
    assert odd.canonical_stage == CanonicalStage.UNMAPPED
    assert odd.remote_stage_name == "Take Home Test"
    assert UnmappedStage.objects.filter(remote_stage_name="Take Home Test").exists()
    assert "Done: 5 seen: 1 created, 1 moved, 1 unchanged, 1 stale, 1 unmapped, 0 errors" in out
    assert err == ""


def test_reconcile_running_twice_changes_nothing_the_second_time(
    connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_client(monkeypatch, PagingClient([[change_for("app-1", "Onsite")]]))
    reconcile("acme-gh")
    out, _ = reconcile("acme-gh")
    assert Application.objects.filter(remote_id="app-1").count() == 1
    assert "1 seen: 0 created, 0 moved, 1 unchanged" in out


def test_a_move_found_by_reconcile_is_published_once_committed(
    connection: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    application = in_review_since_yesterday(connection)
    use_client(monkeypatch, PagingClient([[change_of(application, "Phone Screen")]]))
    received: list[tuple[str | None, str, Any]] = []

    def receiver(sender: Any, application: Any, old: Any, new: Any, event: Any, **_: Any) -> None:
        received.append((old, new, event))

    application_stage_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            reconcile("acme-gh")
    finally:
        application_stage_changed.disconnect(receiver)
    assert received == [(CanonicalStage.APPLICATION_REVIEW, CanonicalStage.RECRUITER_SCREEN, None)]


def test_reconcile_prints_progress_every_50_applications(
    connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = [change_for(f"app-{n}", "Phone Screen") for n in range(120)]
    use_client(monkeypatch, PagingClient([changes[:100], changes[100:]]))
    out, _ = reconcile("acme-gh")
    lines = out.splitlines()
    assert lines[0].startswith("Reconciling acme-gh (greenhouse) — all applications")
    assert lines[1].startswith("  50 seen: 50 created, 0 moved")
    assert lines[2].startswith("  100 seen: 100 created, 0 moved")
    assert lines[-1].startswith("Done: 120 seen: 120 created")
    assert Application.objects.filter(connection=connection).count() == 120


def test_dry_run_writes_nothing_and_publishes_nothing(
    connection: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    behind = in_review_since_yesterday(connection)
    use_client(
        monkeypatch,
        PagingClient(
            [
                [
                    change_of(behind, "Onsite"),
                    change_for("app-new", "Phone Screen"),
                    change_for("app-odd", "Take Home Test"),
                ]
            ]
        ),
    )
    applications_before = Application.objects.count()
    candidates_before = Candidate.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        out, _ = reconcile("acme-gh", "--dry-run")
    assert callbacks == []
    behind.refresh_from_db()
    assert behind.canonical_stage == CanonicalStage.APPLICATION_REVIEW
    assert behind.last_event_at == T0 - dt.timedelta(days=1)
    assert Application.objects.count() == applications_before
    assert Candidate.objects.count() == candidates_before
    assert not UnmappedStage.objects.exists()
    assert "[dry run: nothing is written]" in out
    assert "Dry run: 3 seen: 1 created, 1 moved, 0 unchanged, 0 stale, 1 unmapped" in out


def test_since_is_passed_to_the_connector_as_an_aware_datetime(
    connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = use_client(monkeypatch, PagingClient([]))
    reconcile("acme-gh", "--since", "2026-05-01T08:30:00+02:00")
    reconcile("acme-gh", "--since", "2026-05-01")
    reconcile("acme-gh", "--since", "2026-05-01T06:30:00Z")
    assert client.since == [
        dt.datetime(2026, 5, 1, 6, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, 6, 30, tzinfo=dt.UTC),
    ]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-02-30", "01/05/2026"])
def test_a_bad_since_is_refused_clearly(connection: Any, since: str) -> None:
    with pytest.raises(CommandError, match="is not an ISO-8601 date or time"):
        reconcile("acme-gh", "--since", since)


def test_a_since_in_the_future_is_refused(connection: Any) -> None:
    with pytest.raises(CommandError, match="is in the future"):
        reconcile("acme-gh", "--since", "2999-01-01")


def test_an_unknown_slug_is_refused_with_the_known_ones(connection: Any) -> None:
    with pytest.raises(CommandError, match=r"No ATS connection with slug 'nope'.*acme-gh"):
        reconcile("nope")


def test_an_api_error_stops_with_a_clear_message_after_reporting_what_was_done(
    connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_client(
        monkeypatch,
        PagingClient(
            [[change_for("app-1", "Onsite"), change_for("app-2", "Onsite")], []],
            fail_after_page=1,
        ),
    )
    out = StringIO()
    with pytest.raises(CommandError, match=r"The ATS API failed after 2 application\(s\).*503"):
        call_command("reconcile_ats", "acme-gh", stdout=out, stderr=StringIO())
    assert "Stopped: 2 seen: 2 created" in out.getvalue()
    # What was read before the failure is kept.
    assert Application.objects.filter(remote_id__in=["app-1", "app-2"]).count() == 2


def test_a_bad_record_is_reported_counted_and_does_not_stop_the_others(
    connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = change_for("app-broken", "Onsite", requisition_id="")
    use_client(monkeypatch, PagingClient([[broken, change_for("app-ok", "Onsite")]]))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"1 application\(s\) could not be applied"):
        call_command("reconcile_ats", "acme-gh", stdout=out, stderr=err)
    assert "application app-broken: MalformedPayloadError" in err.getvalue()
    assert "2 seen: 1 created, 0 moved, 0 unchanged, 0 stale, 0 unmapped, 1 errors" in (
        out.getvalue()
    )
    assert Application.objects.filter(remote_id="app-ok").exists()
