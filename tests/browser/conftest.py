"""Browser tests: Playwright (sync API) driving the system's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The live server listens on the loopback address only (read when the live_server fixture starts).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh headless Chromium page in English.

    ``page.console_errors`` collects script errors and console errors (e.g. Content-Security-Policy
    violations); ``page.failed_responses`` collects (status, url) of every response >= 400 except the
    browser's automatic /favicon.ico request.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # synchronous, so Django's guard against ORM use inside a running loop is switched off here only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-US")
        context.set_default_timeout(15_000)
        pg = context.new_page()
        pg.console_errors = []
        pg.failed_responses = []

        def on_console(msg: Any) -> None:
            # A failed load is reported here without its URL; failed_responses has it.
            if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
                pg.console_errors.append(msg.text)

        def on_response(response: Any) -> None:
            if response.status >= 400 and not response.url.endswith("/favicon.ico"):
                pg.failed_responses.append((response.status, response.url))

        pg.on("console", on_console)
        pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
        pg.on("response", on_response)
        try:
            yield pg
        finally:
            context.close()
            browser.close()
