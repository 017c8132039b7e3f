"""A hiring-ops admin retries a dead writeback on the sync health page, in a real browser."""

from __future__ import annotations

import pytest

from governance.models import AuditEvent, StopScope
from governance.roles import HIRING_OPS_ADMIN
from integrations.models import InboundEventStatus, WritebackStatus
from integrations.services import outbox
from tests.browser import sign_in
from tests.factories import (
    AtsConnectionFactory,
    InboundEventFactory,
    SignatureFailureFactory,
    StopSwitchFactory,
    UnmappedStageFactory,
    UserFactory,
    WritebackJobFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_retries_a_dead_writeback_without_a_page_load(
    live_server, page, role_groups, monkeypatch, screenshot_dir
) -> None:
    from playwright.sync_api import expect

    # The relay is not under test: keep the retried job pending instead of sending it.
    monkeypatch.setattr(outbox, "writeback_relay_kick", lambda: None)
    acme = AtsConnectionFactory(name="Acme Greenhouse", mode="live")
    AtsConnectionFactory(name="Beta Lever", provider="lever", mode="live")
    dead = WritebackJobFactory(
        connection=acme,
        status=WritebackStatus.DEAD,
        attempts=8,
        next_attempt_at=None,
        last_error="HTTP 503 from Harvest: service unavailable",
    )
    WritebackJobFactory(
        connection=acme, status=WritebackStatus.FAILED, attempts=2, last_error="read timeout"
    )
    UnmappedStageFactory(connection=acme, remote_stage_name="Take Home Assignment")
    InboundEventFactory(connection=acme, status=InboundEventStatus.PROCESSED)
    InboundEventFactory(connection=acme, status=InboundEventStatus.FAILED)
    SignatureFailureFactory(connection=acme)
    StopSwitchFactory(scope=StopScope.GLOBAL, plan=None, reason="Vendor outage: paused")
    UserFactory(username="ops", groups=[HIRING_OPS_ADMIN], is_staff=True)

    page.goto(f"{live_server.url}/sync-health/")
    assert "/login/" in page.url
    sign_in(page, live_server.url, "ops", then="/sync-health/")
    assert page.get_by_role("link", name="Sync health").get_attribute("aria-current") == "page"
    assert page.get_by_test_id("count-dead").inner_text() == "1"

    row = page.locator(f"#writeback-{dead.pk}")
    assert "Dead (gave up)" in row.inner_text()
    page.evaluate("window.__samePage = true")  # gone if the page were reloaded
    row.get_by_role("button", name="Retry").click()

    page.locator(f"#writeback-{dead.pk} [role=status]").wait_for()
    assert "Pending" in row.get_by_test_id("job-status").inner_text()
    assert row.get_by_role("button", name="Retry").count() == 0
    # The counts region reloads after the retry (the sync-health-changed event).
    expect(page.get_by_test_id("count-dead")).to_have_text("0")
    assert page.evaluate("window.__samePage") is True
    assert page.console_errors == []

    dead.refresh_from_db()
    assert dead.status == WritebackStatus.PENDING
    assert AuditEvent.objects.filter(action="writeback.retry", object_id=str(dead.pk)).exists()

    page.screenshot(path=str(screenshot_dir / "sync-health.png"), full_page=True)


def test_without_javascript_the_retry_is_a_plain_form_post(
    live_server, browser, role_groups, monkeypatch
) -> None:
    monkeypatch.setattr(outbox, "writeback_relay_kick", lambda: None)
    dead = WritebackJobFactory(
        connection=AtsConnectionFactory(mode="live"),
        status=WritebackStatus.DEAD,
        attempts=8,
        next_attempt_at=None,
    )
    UserFactory(username="ops", groups=[HIRING_OPS_ADMIN], is_staff=True)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, "ops", then="/sync-health/")

        page.locator(f"#writeback-{dead.pk}").get_by_role("button", name="Retry").click()

        page.wait_for_url(f"{live_server.url}/sync-health/")
        assert (
            f"Writeback {dead.pk} queued for a new attempt."
            in page.locator(".messages").inner_text()
        )
        assert page.locator(f"#writeback-{dead.pk}").count() == 0  # no longer failing or dead
    finally:
        context.close()
    dead.refresh_from_db()
    assert dead.status == WritebackStatus.PENDING
