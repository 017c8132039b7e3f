"""The recruiters' review queue: access, claims, decisions, filters, no-JS flow, query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AccessRole, AuditEvent, Decision
from governance.roles import AUDITOR, HIRING_MANAGER
from interviews import scoring
from interviews.models import ReviewReason, ReviewStatus, ReviewTask
from interviews.services.review import (
    CLAIM_TTL,
    ReviewClaimError,
    review_task_claim,
    review_task_release,
)
from tests.factories import (
    CandidateFactory,
    InterviewPlanFactory,
    RequisitionAccessFactory,
    ReviewTaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
QUEUE = reverse("interviews:review-queue")
HTMX = {"HTTP_HX_REQUEST": "true"}


def make_task(requisition: Any, **kwargs: Any) -> ReviewTask:
    name = kwargs.pop("name", None)
    if name:
        first, last = name.split(" ", 1)
        kwargs["interview__application__candidate"] = CandidateFactory(
            first_name=first, last_name=last
        )
    return ReviewTaskFactory(interview__application__requisition=requisition, **kwargs)


def claim_url(task: ReviewTask) -> str:
    return reverse("interviews:review-claim", args=[task.pk])


def decide_url(task: ReviewTask) -> str:
    return reverse("interviews:review-decide", args=[task.pk])


def overriding_outcome(task: ReviewTask) -> str:
    recommended = scoring.recommended_outcome(task.result.band)
    return "advance" if recommended != "advance" else "decline"


def decide_data(task: ReviewTask, outcome: str, reason: str = "", text: str = "") -> dict[str, str]:
    prefix = f"task-{task.pk}"
    return {
        f"{prefix}-outcome": outcome,
        f"{prefix}-override_reason": reason,
        f"{prefix}-override_text": text,
        "next": QUEUE,
    }


# -- access -----------------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_login(client) -> None:
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_recruiter_sees_only_tasks_on_their_requisitions(
    client, alice, charlie, requisition, other_requisition
) -> None:
    make_task(requisition, name="Ada Lovelace")
    make_task(other_requisition, name="Grace Hopper")
    client.force_login(alice)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert "Ada Lovelace" in response.text
    assert "Grace Hopper" not in response.text
    assert response["Vary"]
    assert "HX-Request" in response["Vary"]

    client.force_login(charlie)
    response = client.get(QUEUE)
    assert "Grace Hopper" in response.text
    assert "Ada Lovelace" not in response.text


@pytest.mark.parametrize("group", [HIRING_MANAGER, AUDITOR])
def test_hiring_managers_and_auditors_are_refused(client, role_groups, requisition, group) -> None:
    task = make_task(requisition)
    user = UserFactory(groups=[group])
    if group == HIRING_MANAGER:
        RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    client.force_login(user)
    assert client.get(QUEUE).status_code == 403
    assert client.post(claim_url(task)).status_code == 403
    assert client.post(decide_url(task), decide_data(task, "hold")).status_code == 403


def test_recruiter_cannot_claim_another_teams_task(client, charlie, requisition) -> None:
    task = make_task(requisition)
    client.force_login(charlie)
    assert client.post(claim_url(task)).status_code == 404
    task.refresh_from_db()
    assert task.status == ReviewStatus.OPEN


def test_empty_queue_explains_itself(client, alice) -> None:
    client.force_login(alice)
    response = client.get(QUEUE)
    assert "the queue is empty" in response.text


# -- claims -----------------------------------------------------------------------------------


def test_second_claim_is_refused_with_a_clear_message(client, alice, bob, requisition) -> None:
    task = make_task(requisition)
    client.force_login(alice)
    response = client.post(claim_url(task), {"next": QUEUE}, **HTMX)
    assert response.status_code == 200
    assert "Record decision" in response.text
    assert 'id="queue-counts"' in response.text
    assert 'hx-swap-oob="true"' in response.text

    client.force_login(bob)
    response = client.post(claim_url(task), {"next": QUEUE}, **HTMX)
    assert response.status_code == 200
    holder = alice.get_full_name() or alice.username
    assert f"{holder} is already working on this item." in response.text
    assert 'role="alert"' in response.text
    task.refresh_from_db()
    assert task.claimed_by == alice
    with pytest.raises(ReviewClaimError, match="already working"):
        review_task_claim(task=task, actor=bob)
    assert AuditEvent.objects.filter(action="review_task.claim").count() == 1


def test_stale_claim_can_be_taken_over(alice, bob, requisition) -> None:
    task = make_task(requisition)
    review_task_claim(task=task, actor=bob)
    ReviewTask.objects.filter(pk=task.pk).update(
        claimed_at=timezone.now() - CLAIM_TTL - dt.timedelta(minutes=1)
    )
    task = review_task_claim(task=task, actor=alice)
    assert task.claimed_by == alice


def test_only_the_holder_can_release(alice, bob, requisition) -> None:
    task = make_task(requisition)
    review_task_claim(task=task, actor=alice)
    with pytest.raises(ReviewClaimError):
        review_task_release(task=task, actor=bob)
    task = review_task_release(task=task, actor=alice)
    assert task.status == ReviewStatus.OPEN
    assert task.claimed_by is None


def test_deciding_needs_a_claim(client, alice, requisition) -> None:
    task = make_task(requisition)
    client.force_login(alice)
    response = client.post(decide_url(task), decide_data(task, "hold"), **HTMX)
    assert "Claim this item before deciding" in response.text
    assert not Decision.objects.exists()


# -- decisions --------------------------------------------------------------------------------


def test_override_without_reason_shows_errors_and_stores_nothing(client, alice, requisition):
    task = make_task(requisition)
    review_task_claim(task=task, actor=alice)
    client.force_login(alice)
    response = client.post(decide_url(task), decide_data(task, overriding_outcome(task)), **HTMX)
    assert response.status_code == 200
    assert "An override needs a reason code" in response.text
    assert "Explain the override" in response.text
    assert not Decision.objects.exists()
    task.refresh_from_db()
    assert task.status == ReviewStatus.CLAIMED


def test_override_with_reason_closes_task_and_updates_counts(client, alice, requisition) -> None:
    task = make_task(requisition)
    make_task(requisition, reason=ReviewReason.FLAGGED)
    review_task_claim(task=task, actor=alice)
    client.force_login(alice)
    data = decide_data(
        task, overriding_outcome(task), "additional_evidence", "Reference call confirmed skills."
    )
    response = client.post(decide_url(task), data, **HTMX)
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' not in response.text  # the row leaves the queue
    assert 'id="queue-counts"' in response.text
    assert 'data-testid="queue-total">1<' in response.text
    task.refresh_from_db()
    assert task.status == ReviewStatus.DONE
    decision = Decision.objects.get()
    assert decision.is_override
    assert decision.override_reason == "additional_evidence"
    assert AuditEvent.objects.filter(action="decision.override").count() == 1


def test_queue_works_without_javascript(client, alice, requisition) -> None:
    task = make_task(requisition, name="Ada Lovelace")
    client.force_login(alice)
    page = client.get(QUEUE)
    assert f'action="{claim_url(task)}"' in page.text

    response = client.post(claim_url(task), {"next": f"{QUEUE}?sort=oldest"})
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?sort=oldest"
    page = client.get(response["Location"])
    assert "Record decision" in page.text

    # An invalid decision re-renders the whole page with the errors, status 200.
    bad = client.post(decide_url(task), decide_data(task, overriding_outcome(task)))
    assert bad.status_code == 200
    assert "An override needs a reason code" in bad.text
    assert "<html" in bad.text

    good = client.post(
        decide_url(task), decide_data(task, scoring.recommended_outcome(task.result.band))
    )
    assert good.status_code == 302
    page = client.get(good["Location"])
    assert "Decision recorded for Ada Lovelace" in page.text
    assert "the queue is empty" in page.text


def test_foreign_next_url_is_ignored(client, alice, requisition) -> None:
    task = make_task(requisition)
    client.force_login(alice)
    response = client.post(claim_url(task), {"next": "https://evil.example/review/"})
    assert response["Location"] == QUEUE


# -- filters, sorting, counts, pagination ------------------------------------------------------


def test_filters_and_counts_per_reason(client, alice, requisition) -> None:
    make_task(requisition, name="Ada Lovelace", reason=ReviewReason.FLAGGED)
    make_task(requisition, name="Grace Hopper", reason=ReviewReason.BORDERLINE)
    old = make_task(requisition, name="Alan Turing", reason=ReviewReason.BORDERLINE)
    ReviewTask.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    client.force_login(alice)

    response = client.get(QUEUE, {"reason": "borderline"}, **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text  # the queue-table partial only
    assert "Grace Hopper" in response.text
    assert "Ada Lovelace" not in response.text
    counts = response.context["reason_counts"]
    assert {v: n for v, _, n, _ in counts}["flagged"] == 1  # counts ignore the reason filter
    assert {v: n for v, _, n, _ in counts}["borderline"] == 2

    response = client.get(QUEUE, {"age": "7d+"})
    assert "Alan Turing" in response.text
    assert "Grace Hopper" not in response.text

    response = client.get(QUEUE, {"requisition": str(requisition.pk), "reason": "pilot_sample"})
    assert "No items match these filters" in response.text

    tasks = client.get(QUEUE).context["tasks"]
    assert tasks[0].pk == old.pk  # oldest first by default


def test_an_invalid_filter_is_ignored_without_dropping_the_valid_ones(
    client, alice, requisition
) -> None:
    make_task(requisition, name="Ada Lovelace", reason=ReviewReason.FLAGGED)
    make_task(requisition, name="Grace Hopper", reason=ReviewReason.BORDERLINE)
    client.force_login(alice)
    response = client.get(QUEUE, {"reason": "borderline", "band": "nope", "sort": "sideways"})
    assert response.status_code == 200
    assert "Grace Hopper" in response.text
    assert "Ada Lovelace" not in response.text  # still filtered by the valid reason
    assert [t.interview.application.candidate.first_name for t in response.context["tasks"]] == [
        "Grace"
    ]


def test_sort_by_score(client, alice, requisition) -> None:
    low = make_task(requisition, result__score=Decimal("40.00"))
    high = make_task(requisition, result__score=Decimal("90.00"))
    client.force_login(alice)
    tasks = client.get(QUEUE, {"sort": "score-high"}).context["tasks"]
    assert [t.pk for t in tasks] == [high.pk, low.pk]


def test_pagination_shows_25_per_page(client, alice, requisition) -> None:
    plan = InterviewPlanFactory()
    for _ in range(27):
        make_task(requisition, interview__plan=plan)
    client.force_login(alice)
    assert len(client.get(QUEUE).context["tasks"]) == 25
    assert len(client.get(QUEUE, {"page": 2}).context["tasks"]) == 2


def _queries_for_queue(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(QUEUE).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_rows(
    client, alice, requisition, django_assert_max_num_queries
) -> None:
    plan = InterviewPlanFactory()
    tasks = [make_task(requisition, interview__plan=plan) for _ in range(10)]
    review_task_claim(task=tasks[0], actor=alice)
    client.force_login(alice)
    small = _queries_for_queue(client)
    for _ in range(490):  # 10 vs 500 rows (the queue pages at 25)
        make_task(requisition, interview__plan=plan)
    with django_assert_max_num_queries(small):
        client.get(QUEUE)
    assert _queries_for_queue(client) == small


@pytest.mark.parametrize("route", ["review-claim", "review-release", "review-decide"])
def test_actions_refuse_anonymous_users_and_other_teams(
    client, charlie, requisition, route
) -> None:
    task = make_task(requisition)
    url = reverse(f"interviews:{route}", args=[task.pk])
    response = client.post(url, {"next": QUEUE})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    client.force_login(charlie)
    assert client.post(url, {"next": QUEUE}).status_code == 404
    assert client.get(url).status_code == 405
