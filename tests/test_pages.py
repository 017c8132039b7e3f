from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import OperationalError
from django.urls import reverse

from governance.models import AccessRole
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from interviews.models import ReviewReason, ReviewStatus
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    InterviewFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _open_task_on(requisition: Any, reason: str = ReviewReason.BORDERLINE) -> Any:
    application = ApplicationFactory(
        requisition=requisition,
        connection=requisition.connection,
        candidate__connection=requisition.connection,
    )
    return ReviewTaskFactory(
        interview=InterviewFactory(application=application), reason=reason, status=ReviewStatus.OPEN
    )


def test_home_requires_login(client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_with_labelled_fields(client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<label for="id_username">' in body
    assert '<label for="id_password">' in body
    assert "django_htmx/htmx-2.min.js" in body  # served from our static files, not a CDN


def test_login_with_wrong_password_shows_an_error(client, alice) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_recruiter_logs_in_and_sees_the_review_counts_of_their_requisitions(
    client, alice, requisition
) -> None:
    _open_task_on(requisition, ReviewReason.BORDERLINE)
    _open_task_on(requisition, ReviewReason.FLAGGED)
    response = client.post(
        reverse("login"), {"username": "alice", "password": UserFactory.DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    body = client.get(reverse("home")).content.decode()
    assert 'data-testid="review-total">2<' in body
    assert requisition.title in body
    assert "Configuration and sync health" not in body
    assert "Audit trail" not in body


def test_recruiter_does_not_see_other_requisitions_or_their_review_tasks(
    client, charlie, requisition, other_requisition
) -> None:
    _open_task_on(requisition)
    client.force_login(charlie)
    body = client.get(reverse("home")).content.decode()
    assert requisition.title not in body
    assert other_requisition.title in body
    assert 'data-testid="review-total">0<' in body


def test_hiring_manager_sees_pipeline_counts_for_their_requisitions_only(
    client, role_groups
) -> None:
    mine = RequisitionFactory(title="Support Team Lead")
    theirs = RequisitionFactory(title="Sales Director")
    for stage in ["applied", "applied", "onsite"]:
        ApplicationFactory(
            requisition=mine,
            connection=mine.connection,
            candidate__connection=mine.connection,
            canonical_stage=stage,
        )
    hank = UserFactory(groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=hank, requisition=mine, role=AccessRole.HIRING_MANAGER)
    client.force_login(hank)
    body = client.get(reverse("home")).content.decode()
    assert "Your requisitions" in body
    assert "Support Team Lead" in body
    assert "Sales Director" not in body
    assert theirs.title not in body
    assert "Review queue" not in body
    assert "Configuration and sync health" not in body


def test_admin_sees_connections_and_sync_health(client, role_groups) -> None:
    connection = AtsConnectionFactory(name="Acme Greenhouse")
    ApplicationFactory(connection=connection, canonical_stage="unmapped")
    ada = UserFactory(groups=[HIRING_OPS_ADMIN], is_staff=True)
    client.force_login(ada)
    body = client.get(reverse("home")).content.decode()
    assert "Configuration and sync health" in body
    assert "Acme Greenhouse" in body
    assert "1 application in unmapped stages" in body
    assert reverse("admin:index") in body


def test_auditor_sees_oversight_links_but_no_configuration(client, role_groups) -> None:
    audrey = UserFactory(groups=[AUDITOR], is_staff=True)
    client.force_login(audrey)
    body = client.get(reverse("home")).content.decode()
    assert "Oversight" in body
    assert reverse("governance:audit-trail") in body
    assert "Configuration and sync health" not in body


def test_user_without_a_role_is_told_so(client, db) -> None:
    client.force_login(UserFactory())
    body = client.get(reverse("home")).content.decode()
    assert "No role yet" in body


def test_logout_needs_post_and_ends_the_session(client, alice) -> None:
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_pages_send_security_headers(client) -> None:
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_reports_database_and_broker(client) -> None:
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("eager")


def test_healthz_reports_an_unreachable_broker_without_failing(client, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert json.loads(response.content)["checks"]["broker"].startswith("error")


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    from config import views

    monkeypatch.setattr(views.connection, "ensure_connection", refuse)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "error"
    assert body["checks"]["database"] == "error: OperationalError"
