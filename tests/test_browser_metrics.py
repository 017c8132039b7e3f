"""A hiring-ops admin opens the metrics dashboard and filters it, in a real browser."""

from __future__ import annotations

import pytest

from governance.roles import HIRING_OPS_ADMIN
from tests.factories import UserFactory
from tests.governance import metrics_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_reads_the_dashboard_and_filters_it_in_place(
    live_server, page, role_groups, screenshot_dir
) -> None:
    from playwright.sync_api import expect

    metrics_world.build()
    UserFactory(username="ops", groups=[HIRING_OPS_ADMIN], is_staff=True)
    url = f"{live_server.url}/metrics/?since=2026-03-01&until=2026-03-31"
    page.goto(url)
    page.get_by_label("Username").fill("ops")
    page.get_by_label("Password").fill(UserFactory.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url)

    assert page.get_by_role("link", name="Metrics").get_attribute("aria-current") == "page"
    # 4 completed of 7 invited (tests/governance/test_metrics.py works it out by hand).
    expect(page.get_by_test_id("completion-rate")).to_contain_text("57.1 %")
    assert page.locator("svg.chart").count() == 3
    assert page.get_by_role("img", name="Completion rate per week").is_visible()

    page.evaluate("window.__samePage = true")  # gone if the page were reloaded
    page.get_by_label("Role family").select_option(label="Sales")
    page.get_by_role("button", name="Apply").click()
    # Sales has no plan: nothing invited, the baseline alone (B1 24 h, B2 6 h: median 15 h).
    expect(page.get_by_test_id("completion-rate")).to_contain_text("—")
    expect(page.get_by_test_id("tts-baseline")).to_contain_text("median 15.0 h")
    assert page.evaluate("window.__samePage") is True
    assert "role_family=sales" in page.url
    assert page.console_errors == []

    page.get_by_label("Role family").select_option(label="All role families")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("completion-rate")).to_contain_text("57.1 %")
    page.screenshot(path=str(screenshot_dir / "metrics.png"), full_page=True)
