"""The API docs page (/api/docs/) renders the schema in a real browser under the strict CSP."""

from __future__ import annotations

import pytest

from governance.roles import RECRUITER
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_lists_the_endpoints_without_csp_violations(
    live_server, page, role_groups
) -> None:
    from playwright.sync_api import expect

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    UserFactory(username="rita", groups=[RECRUITER])

    page.goto(f"{live_server.url}/api/docs/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(UserFactory.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/api/docs/")

    # The schema is generated on request: give a loaded machine time to render it.
    expect(page.get_by_text("Screenbridge API", exact=False).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/api/v1/review-tasks/{id}/claim/").first).to_be_visible()
    expect(page.get_by_text("/api/v1/writeback-jobs/{id}/retry/").first).to_be_visible()
    assert [text for text in console if "Content Security Policy" in text] == []
    assert page.console_errors == []
