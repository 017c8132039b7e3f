"""A recruiter works the review queue in a real browser: claim, decide with a reason, in place."""

from __future__ import annotations

import pytest

from governance.models import Decision
from interviews import scoring
from interviews.models import ReviewReason, ReviewStatus, ReviewTask
from tests.browser import sign_in
from tests.factories import CandidateFactory, InterviewPlanFactory, ReviewTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_recruiter_claims_and_decides_without_a_page_reload(
    live_server, page, alice, requisition, screenshot_dir
):
    plan = InterviewPlanFactory()
    people = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")]
    tasks = [
        ReviewTaskFactory(
            interview__application__requisition=requisition,
            interview__application__candidate=CandidateFactory(first_name=given, last_name=family),
            interview__plan=plan,
            reason=reason,
        )
        for (given, family), reason in zip(
            people,
            [ReviewReason.BORDERLINE, ReviewReason.BORDERLINE, ReviewReason.FLAGGED],
            strict=True,
        )
    ]
    first = tasks[0]
    recommended = scoring.recommended_outcome(first.result.band)
    override = "Advance" if recommended != "advance" else "Decline"

    sign_in(page, live_server.url, "alice", then="/review/")
    assert page.get_by_test_id("queue-total").inner_text() == "3"
    borderline = page.locator('#queue-counts a[data-reason="borderline"] .count')
    assert borderline.inner_text() == "2"
    page.evaluate("window.__queueMarker = 'still here'")

    # j moves the keyboard focus onto the first item.
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == f"task-{first.pk}"

    row = page.locator(f"#task-{first.pk}")
    row.get_by_role("button", name="Claim review of Ada Lovelace").click()
    row.get_by_role("button", name="Record decision").wait_for()
    assert ReviewTask.objects.get(pk=first.pk).status == ReviewStatus.CLAIMED

    row.get_by_label(override, exact=False).first.check()
    reason = row.get_by_label("Override reason")
    assert reason.is_visible()  # shown once the decision departs from the recommendation
    reason.select_option("additional_evidence")
    row.get_by_label("Why does this depart").fill("Reference call confirmed the skills.")
    page.screenshot(path=str(screenshot_dir / "review-queue.png"), full_page=True)
    row.get_by_role("button", name="Record decision").click()

    page.locator(f"#task-{first.pk}").wait_for(state="detached")
    page.wait_for_function(
        "document.querySelector('[data-testid=queue-total]').textContent.trim() === '2'"
    )
    assert borderline.inner_text() == "1"
    assert "Decision recorded for Ada Lovelace" in page.locator("#queue-status").inner_text()
    assert page.evaluate("window.__queueMarker") == "still here"  # no full page load happened
    assert page.locator("[data-queue-item]").count() == 2
    decision = Decision.objects.get()
    assert decision.is_override
    assert decision.override_reason == "additional_evidence"
    assert page.console_errors == []


def test_deciding_the_last_item_shows_the_empty_state_in_place(
    live_server, page, alice, requisition
):
    task = ReviewTaskFactory(
        interview__application__requisition=requisition,
        interview__application__candidate=CandidateFactory(first_name="Grace", last_name="Hopper"),
        reason=ReviewReason.BORDERLINE,
    )
    recommended = scoring.recommended_outcome(task.result.band)

    sign_in(page, live_server.url, "alice", then="/review/")
    page.evaluate("window.__queueMarker = 'still here'")
    assert page.get_by_test_id("queue-empty").count() == 0

    row = page.locator(f"#task-{task.pk}")
    row.get_by_role("button", name="Claim review of Grace Hopper").click()
    row.get_by_role("button", name="Record decision").wait_for()
    row.locator(f"input[name$='outcome'][value='{recommended}']").check()
    row.get_by_role("button", name="Record decision").click()

    page.get_by_test_id("queue-empty").wait_for()
    assert "the queue is empty" in page.get_by_test_id("queue-empty").inner_text()
    assert page.get_by_test_id("queue-total").inner_text() == "0"
    assert page.evaluate("window.__queueMarker") == "still here"  # no full page load happened
    assert Decision.objects.get().outcome == recommended
    assert page.console_errors == []
