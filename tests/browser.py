"""Headless Chromium for page tests: the system browser, never one a tool downloads.

Browser tests skip when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1 (set by CI),
in which case they fail so a missing browser can never pass silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no Chromium found (apt-get install -y chromium)")
        pytest.skip("Chromium not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test body in the same thread are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot_dir(tmp_path: Any) -> Any:
    """Where browser tests save screenshots: docs/screenshots with SAVE_SCREENSHOTS=1 (to refresh
    the README's pictures), else a temporary folder, so test runs never modify tracked files."""
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        target = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path


def sign_in(page: Any, base_url: str, username: str, *, then: str = "/") -> None:
    """Sign in through the login form (the real one, CSRF and all) and wait for ``then``."""
    from tests.factories import UserFactory

    page.goto(f"{base_url}/login/?next={then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(UserFactory.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{then}")
