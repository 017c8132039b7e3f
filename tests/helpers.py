"""Small builders shared by several test modules (fixtures live in ``tests/conftest.py``)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection as db_connection

from tests.factories import AtsConnectionFactory, StageMappingFactory


def connection_with_stages(
    *, slug: str, provider: str, stages: list[tuple[str, str, str]], **kwargs: Any
) -> Any:
    """An ATS connection with one stage mapping per (remote id, remote name, canonical stage)."""
    connection = AtsConnectionFactory(slug=slug, provider=provider, **kwargs)
    for remote_id, remote_name, canonical in stages:
        StageMappingFactory(
            connection=connection,
            remote_stage_id=remote_id,
            remote_stage_name=remote_name,
            canonical_stage=canonical,
        )
    return connection


# -- assessment partners (Greenhouse, Ashby) ---------------------------------------------------

PARTNER_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "partners"


def partner_fixture(name: str) -> dict[str, Any]:
    return json.loads((PARTNER_FIXTURES / name).read_text())


def basic_auth(key: str, password: str = "") -> str:
    """An HTTP Basic Authorization header value with ``key`` as the user name."""
    return "Basic " + base64.b64encode(f"{key}:{password}".encode()).decode()


def set_partner_key(connection: Any, key: str) -> Any:
    connection.set_secret("partner_key", key)
    connection.save(update_fields=["partner_key_encrypted"])
    return connection


def partner_plan(vendor_test_id: str, launch_mode: str) -> Any:
    """A live "Support screen" plan launched by an assessment partner."""
    from interviews.models import PlanStatus
    from tests.factories import InterviewPlanFactory

    return InterviewPlanFactory(
        name="Support screen",
        vendor_test_id=vendor_test_id,
        launch_mode=launch_mode,
        status=PlanStatus.LIVE,
    )


# -- real concurrency (PostgreSQL) -------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def run_in_threads(*calls: Callable[[], Any]) -> None:
    """Start every call at the same moment, each on its own database connection."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def worker(call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []


# -- Celery stand-ins -------------------------------------------------------------------------


class RecordingTask:
    """Stands in for a Celery task: records the ids it would enqueue (or raises ``error``)."""

    def __init__(self) -> None:
        self.enqueued: list[int] = []
        self.error: Exception | None = None

    def delay(self, event_id: int) -> None:
        if self.error is not None:
            raise self.error
        self.enqueued.append(event_id)


# -- results -----------------------------------------------------------------------------------

ADA_LOVELACE = {"first_name": "Ada", "last_name": "Lovelace"}


def completed_result(
    requisition: Any, *, candidate: dict[str, str] | None = None, **result_fields: Any
) -> Any:
    """The result of a completed interview, for a new application on ``requisition``."""
    from tests.factories import ApplicationFactory, InterviewFactory, InterviewResultFactory

    application = ApplicationFactory(
        requisition=requisition,
        connection=requisition.connection,
        candidate__connection=requisition.connection,
        **{f"candidate__{name}": value for name, value in (candidate or {}).items()},
    )
    interview = InterviewFactory(completed=True, application=application)
    return InterviewResultFactory(interview=interview, **result_fields)


# -- stop switches in the admin ----------------------------------------------------------------


def admin_switch_on_for_plan(client: Any, plan: Any, reason: str = "Vendor outage") -> Any:
    """Switch a plan's stop switch on through the admin's add form."""
    from django.urls import reverse

    from governance.models import StopScope

    return client.post(
        reverse("admin:governance_stopswitch_add"),
        {"scope": StopScope.PLAN, "plan": plan.pk, "vendor": "", "reason": reason},
    )


def admin_switch_off(client: Any, *switches: Any) -> Any:
    """Run the admin's "switch off" action on ``switches``."""
    from django.urls import reverse

    return client.post(
        reverse("admin:governance_stopswitch_changelist"),
        {"action": "switch_off", "_selected_action": [switch.pk for switch in switches]},
    )
