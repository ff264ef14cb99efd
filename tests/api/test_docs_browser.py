"""Swagger UI at /api/docs/ really runs in Chromium under our Content-Security-Policy, offline."""

from __future__ import annotations

import os

import pytest

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("Chromium not installed at /usr/bin/chromium; .ci/run installs it", allow_module_level=True)

from playwright.sync_api import expect

from tests.browser.conftest import page  # noqa: F401 - the shared Chromium page fixture
from tests.conftest import signed_in_client

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_every_endpoint_without_csp_violations(live_server, transactional_db, world,
                                                                  page):  # noqa: F811
    client = signed_in_client(world.user("ciso"))  # a session that has passed MFA
    session_id = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session_id, "url": live_server.url}])
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Mamoru API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert any("org-units" in t for t in tags) and any("tokens" in t for t in tags), tags
    assert page.console_errors == []  # a blocked inline script or style would be reported here
    assert page.failed_responses == []
    assert requested and all(url.startswith(live_server.url) or url.startswith("data:") for url in requested), \
        [u for u in requested if not u.startswith(live_server.url)]
