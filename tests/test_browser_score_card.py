"""A hiring manager logs in, sees score cards on the home page, opens one (fits a laptop screen
without scrolling) and cannot open another manager's card. Screenshots: SAVE_SCREENSHOTS=1."""

from __future__ import annotations

from decimal import Decimal

import pytest

from governance.models import AccessRole, AuditEvent
from governance.roles import HIRING_MANAGER
from tests.browser import sign_in
from tests.factories import (
    ApplicationFactory,
    CompetencyFactory,
    CompetencyScoreFactory,
    DecisionFactory,
    InterviewFactory,
    InterviewResultFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPETENCIES = [
    ("Customer empathy", "78", "Restated the customer's frustration before proposing a fix."),
    ("Problem solving", "71.5", "Broke a billing dispute into checks in a sensible order."),
    ("Written clarity", "62", "Answers were clear but long; one reply buried the next step."),
    ("Prioritisation", "69", "Chose the outage ticket over a refund request, with a reason."),
    ("Product curiosity", "58", "Asked one question about the product; little follow-up."),
]


def _completed(requisition, first, last, score, *, flags=(), decisions=()):
    application = ApplicationFactory(
        requisition=requisition,
        connection=requisition.connection,
        candidate__connection=requisition.connection,
        candidate__first_name=first,
        candidate__last_name=last,
    )
    interview = InterviewFactory(completed=True, application=application)
    result = InterviewResultFactory(
        interview=interview,
        score=Decimal(score),
        flags=list(flags),
        summary_bullets=[
            "Calmed an upset customer by restating the problem and giving one clear next step.",
            "Explained a prioritisation choice and the trade-off it accepted.",
            "Struggled to keep written answers short under time pressure.",
        ],
    )
    for position, (name, sub, evidence) in enumerate(COMPETENCIES):
        competency = CompetencyFactory(
            plan=interview.plan, key=f"c{position}", name=name, position=position
        )
        CompetencyScoreFactory(
            result=result, competency=competency, score=Decimal(sub), evidence=evidence
        )
    for decision in decisions:
        DecisionFactory(result=result, **decision)
    return result


def test_hiring_manager_reads_score_cards(live_server, page, role_groups, screenshot_dir) -> None:
    mine = RequisitionFactory(title="Customer Support Specialist", department="Support")
    theirs = RequisitionFactory(title="Account Executive", department="Sales")
    manager = UserFactory(username="mona", first_name="Mona", groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=manager, requisition=mine, role=AccessRole.HIRING_MANAGER)
    recruiter = UserFactory(username="rita", first_name="Rita", last_name="Reyes")
    opened = _completed(
        mine,
        "Ada",
        "Lovelace",
        "66.5",
        flags=["borderline", "low_confidence"],
        decisions=[
            {"outcome": "hold", "recommended_outcome": "hold", "decided_by": recruiter},
            {"outcome": "advance", "override": True, "decided_by": recruiter},
        ],
    )
    _completed(mine, "Grace", "Hopper", "84")
    other = _completed(theirs, "Alan", "Turing", "55")

    sign_in(page, live_server.url, "mona")
    cards = page.locator("#manager-score-cards [data-testid=score-card]")
    assert cards.count() == 2
    assert page.get_by_text("Alan T.").count() == 0
    page.screenshot(path=str(screenshot_dir / "hiring-manager-home.png"), full_page=True)

    page.get_by_role("link", name="Open score card of Ada L.").click()
    page.wait_for_url(f"**/results/{opened.interview.public_id}/")
    assert page.get_by_role("heading", name="Ada L.").is_visible()
    assert page.get_by_test_id("band").inner_text() == "Proceed"
    assert page.get_by_text("Vendor confidence below threshold").is_visible()
    assert page.get_by_test_id("artifact-transcript").count() == 0
    # Fits one 1366×768 laptop screen without scrolling.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    page.screenshot(path=str(screenshot_dir / "score-card.png"))
    assert AuditEvent.objects.filter(action="score_card.view", actor=manager).count() == 1
    assert page.console_errors == []  # CSS and SVG bars load under the strict CSP

    response = page.goto(f"{live_server.url}/results/{other.interview.public_id}/")
    assert response is not None
    assert response.status == 404
    assert "Alan" not in page.content()


def test_score_card_works_with_javascript_off(live_server, browser, role_groups) -> None:
    requisition = RequisitionFactory(title="Customer Support Specialist")
    manager = UserFactory(username="mona", groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=manager, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    result = _completed(requisition, "Ada", "Lovelace", "72")
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 768}
    )
    try:
        page = context.new_page()
        sign_in(page, live_server.url, "mona")
        page.get_by_role("link", name="Open score card of Ada L.").click()
        page.wait_for_url(f"**/results/{result.interview.public_id}/")
        assert page.get_by_role("heading", name="Ada L.").is_visible()
    finally:
        context.close()
