"""Accessibility of every page, checked in a real browser by axe-core (WCAG 2.1 A and AA:
labels, names, contrast, landmarks, headings, ARIA), plus the keyboard focus order.

axe-core is vendored inside the axe-playwright-python wheel (no download at test time); it is
injected through the DevTools protocol, so the pages' strict CSP stays as it is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from governance.models import AccessRole, StopScope
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from integrations.models import WritebackStatus
from interviews.models import ReviewReason
from interviews.services.review import review_task_claim
from tests.browser import sign_in
from tests.factories import (
    CandidateFactory,
    CompetencyScoreFactory,
    DecisionFactory,
    InterviewPlanFactory,
    RequisitionAccessFactory,
    ReviewTaskFactory,
    SignatureFailureFactory,
    StopSwitchFactory,
    UnmappedStageFactory,
    UserFactory,
    WritebackJobFactory,
)
from tests.helpers import completed_result

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in results.response["violations"]
    ]


@pytest.fixture
def world(role_groups: None, requisition: Any, alice: Any) -> dict[str, Any]:
    plan = InterviewPlanFactory()
    tasks = [
        ReviewTaskFactory(
            interview__application__requisition=requisition,
            interview__application__candidate=CandidateFactory(first_name=first, last_name=last),
            interview__plan=plan,
            reason=reason,
        )
        for first, last, reason in [
            ("Ada", "Lovelace", ReviewReason.BORDERLINE),
            ("Grace", "Hopper", ReviewReason.FLAGGED),
        ]
    ]
    review_task_claim(task=tasks[0], actor=alice)  # its decision form is open on the page
    result = completed_result(requisition, score=Decimal("66.5"), flags=["borderline", "integrity"])
    for score in ("85", "70", "55", "30"):
        CompetencyScoreFactory(result=result, score=Decimal(score))
    DecisionFactory(result=result, decided_by=alice, outcome="advance", override=True)
    manager = UserFactory(username="mona", groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=manager, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    UserFactory(username="ops", groups=[HIRING_OPS_ADMIN], is_staff=True)
    UserFactory(username="audrey", groups=[AUDITOR], is_staff=True)
    connection = requisition.connection
    WritebackJobFactory(
        connection=connection, status=WritebackStatus.DEAD, attempts=8, last_error="HTTP 500"
    )
    UnmappedStageFactory(connection=connection)
    SignatureFailureFactory(connection=connection)
    StopSwitchFactory(scope=StopScope.GLOBAL, plan=None, reason="Vendor outage")
    return {"result": result}


PAGES = [
    ("alice", ["/", "/review/", "/review/?reason=borderline&sort=score-high", "{card}"]),
    ("mona", ["/", "{card}"]),
    ("ops", ["/", "/sync-health/"]),
    ("audrey", ["/", "/audit/", "{card}"]),
]


@pytest.mark.parametrize(("username", "paths"), PAGES, ids=[u for u, _ in PAGES])
def test_pages_have_no_wcag_aa_violations(live_server, page, world, username, paths) -> None:
    card = f"/results/{world['result'].interview.public_id}/"
    page.goto(f"{live_server.url}/login/")
    assert _violations(page) == []
    sign_in(page, live_server.url, username)
    found = {}
    for path in paths:
        page.goto(live_server.url + path.format(card=card))
        found[path] = _violations(page)
    assert found == {path: [] for path in paths}


def test_the_checker_does_report_a_violation(live_server, page, world) -> None:
    """The sweep above can fail: an unlabelled field and low-contrast text are caught."""
    sign_in(page, live_server.url, "alice", then="/review/")
    page.evaluate(
        """() => {
        const input = document.createElement('input');
        input.type = 'text';
        document.querySelector('main').appendChild(input);
        const faint = document.createElement('p');
        faint.textContent = 'faint text';
        faint.style.color = '#eee';  // CSSOM, which the CSP allows (style attributes it blocks)
        faint.style.background = '#fff';
        document.querySelector('main').appendChild(faint);
    }"""
    )
    ids = {v.split(" ")[0] for v in _violations(page)}
    assert {"label", "color-contrast"} <= ids


def _tab_stops(page: Any, count: int) -> list[str]:
    stops = []
    for _ in range(count):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return (e.getAttribute('aria-label') || e.innerText || e.name || e.id || '')"
                ".trim().split('\\n')[0]; })()"
            )
        )
    return stops


def test_keyboard_focus_follows_the_reading_order_of_the_queue(live_server, page, world) -> None:
    sign_in(page, live_server.url, "alice", then="/review/")
    stops = _tab_stops(page, 40)
    # Skip link first, then the main navigation, then the filters, then the items in order.
    assert stops[0] == "Skip to content"
    first = {name: stops.index(name) for name in ("Review queue", "Any role family", "Apply")}
    assert first["Review queue"] < first["Any role family"] < first["Apply"]
    claim = stops.index("Claim review of Grace Hopper")
    record = stops.index("Record decision")  # Ada's claimed row comes first (oldest first)
    assert first["Apply"] < record < claim
    # The skip link moves focus to the main region.
    page.goto(f"{live_server.url}/review/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
