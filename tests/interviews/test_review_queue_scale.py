"""The review queue's reads at scale: filter choices from the grants, one aggregate for every
count (no separate ``COUNT(*)`` for the paginator), the partial index for open items."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import AccessRole
from governance.roles import RECRUITER
from interviews.models import ReviewReason, ReviewStatus, ReviewTask
from interviews.services import review
from tests.factories import (
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    RoleFamilyAccessFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
QUEUE = reverse("interviews:review-queue")


def choices(response: Any, name: str) -> list[str]:
    return [label for value, label in response.context["filter_form"].fields[name].choices if value]


def test_filter_choices_come_from_the_viewers_recruiter_grants(
    client, alice, requisition, other_requisition
) -> None:
    quiet = RequisitionFactory(title="Billing Specialist")  # granted, no open item
    RequisitionAccessFactory(user=alice, requisition=quiet, role=AccessRole.RECRUITER)
    watched = RequisitionFactory(title="Hiring Manager Only")  # visible, but not to decide
    RequisitionAccessFactory(user=alice, requisition=watched, role=AccessRole.HIRING_MANAGER)
    mine, theirs = RoleFamilyFactory(name="Support"), RoleFamilyFactory(name="Sales")
    RoleFamilyMembershipFactory(requisition=requisition, role_family=mine)
    RoleFamilyMembershipFactory(requisition=other_requisition, role_family=theirs)
    RoleFamilyMembershipFactory(requisition=quiet, role_family=mine)
    ReviewTaskFactory(interview__application__requisition=requisition)
    ReviewTaskFactory(interview__application__requisition=other_requisition)
    client.force_login(alice)

    response = client.get(QUEUE)

    assert choices(response, "requisition") == ["Billing Specialist", "Customer Support Specialist"]
    assert choices(response, "role_family") == ["Support"]  # once, though two requisitions
    assert "Account Executive" not in response.text  # another team's requisition never leaks
    assert "Sales" not in response.text


def test_a_role_family_grant_offers_the_familys_requisitions(client, role_groups) -> None:
    family = RoleFamilyFactory(name="Support")
    joined = RequisitionFactory(title="Support Tier 2")
    RoleFamilyMembershipFactory(requisition=joined, role_family=family)
    dana = UserFactory(username="dana", groups=[RECRUITER])
    RoleFamilyAccessFactory(user=dana, role_family=family)
    client.force_login(dana)

    response = client.get(QUEUE)

    assert choices(response, "requisition") == ["Support Tier 2"]
    assert choices(response, "role_family") == ["Support"]


def test_counts_total_and_pages_come_from_one_aggregate(client, alice, requisition) -> None:
    for reason, n in ((ReviewReason.BORDERLINE, 27), (ReviewReason.FLAGGED, 3)):
        for _ in range(n):
            ReviewTaskFactory(interview__application__requisition=requisition, reason=reason)
    ReviewTaskFactory(
        interview__application__requisition=requisition,
        reason=ReviewReason.FLAGGED,
        status=ReviewStatus.DONE,
    )
    client.force_login(alice)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE, {"reason": "borderline", "page": 2})

    counts = {value: n for value, _, n, _ in response.context["reason_counts"]}
    assert counts["borderline"] == 27
    assert counts["flagged"] == 3  # the done item is not in the queue
    assert response.context["total"] == 30
    assert response.context["shown_total"] == 27
    page = response.context["page"]
    assert (page.number, page.paginator.num_pages, len(response.context["tasks"])) == (2, 2, 2)
    review_task_sql = [q["sql"] for q in queries.captured_queries if "reviewtask" in q["sql"]]
    assert not any("COUNT(*)" in sql for sql in review_task_sql)
    assert sum("COUNT(" in sql for sql in review_task_sql) == 1


def test_the_count_of_an_unfiltered_queue_is_the_total(client, alice, requisition) -> None:
    for _ in range(3):
        ReviewTaskFactory(interview__application__requisition=requisition)
    client.force_login(alice)

    response = client.get(QUEUE, {"reason": "not-a-reason"})  # ignored, like before

    assert response.context["shown_total"] == response.context["total"] == 3
    assert len(response.context["tasks"]) == 3


def test_the_partial_index_covers_only_open_and_claimed_items() -> None:
    index = next(i for i in ReviewTask._meta.indexes if i.name == "reviewtask_active_age_idx")
    assert index.fields == ["created_at", "id"]  # the queue's default order
    assert dict(index.condition.children) == {"status__in": list(review.ACTIVE)}
