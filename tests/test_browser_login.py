"""Each role logs in through a real browser and sees its own home page."""

from __future__ import annotations

import pytest

from governance.models import AccessRole
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN, RECRUITER
from tests.browser import sign_in
from tests.factories import RequisitionAccessFactory, RequisitionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLE_HOME = {
    RECRUITER: ("#recruiter-home", ["#admin-home", "#auditor-home"]),
    HIRING_MANAGER: ("#requisitions", ["#recruiter-home", "#admin-home", "#auditor-home"]),
    HIRING_OPS_ADMIN: ("#admin-home", ["#recruiter-home", "#auditor-home"]),
    AUDITOR: ("#auditor-home", ["#recruiter-home", "#admin-home"]),
}


@pytest.mark.parametrize("role", list(ROLE_HOME))
def test_each_role_logs_in_and_sees_its_home_page(live_server, page, role_groups, role) -> None:
    requisition = RequisitionFactory(title="Customer Support Specialist")
    user = UserFactory(username="pat", groups=[role], is_staff=role in (AUDITOR, HIRING_OPS_ADMIN))
    if role in (RECRUITER, HIRING_MANAGER):
        access_role = AccessRole.RECRUITER if role == RECRUITER else AccessRole.HIRING_MANAGER
        RequisitionAccessFactory(user=user, requisition=requisition, role=access_role)

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url  # anonymous users are sent to the login page
    sign_in(page, live_server.url, "pat")

    visible, hidden = ROLE_HOME[role]
    assert page.locator(visible).is_visible()
    for selector in hidden:
        assert page.locator(selector).count() == 0
    assert role in page.locator(".roles").inner_text()
    if role in (RECRUITER, HIRING_MANAGER):
        assert page.get_by_text("Customer Support Specialist").is_visible()
    # The page loaded htmx and our CSS under the strict CSP without console errors.
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.console_errors == []

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
