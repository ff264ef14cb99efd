"""The 統括 uploads a firewall's new ruleset, runs the verification and reads the violation with its example
packet; a broken ruleset is refused with its line; the report downloads as a PDF."""

from __future__ import annotations

import os
import re

import pytest

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("Chromium not installed at /usr/bin/chromium; .ci/run installs it", allow_module_level=True)

from playwright.sync_api import expect

from mamoru.network.demo import load_demo_network
from mamoru.network.models import Firewall, VerificationRun
from tests.core.test_auth_mfa import code_for, enrolled
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_chief_uploads_a_ruleset_verifies_and_reads_the_report(live_server, world, page, tmp_path):
    load_demo_network(world.units["city"])
    device, _codes = enrolled(world.user("chief"))
    page.goto(f"{live_server.url}/accounts/login/?next=/network/")
    page.get_by_label("User name").fill("chief")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Authentication code").fill(code_for(device, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Network and segmentation")

    page.get_by_role("link", name="fw-core").click()
    broken = tmp_path / "broken.rules"
    broken.write_text("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.0.0.999 -j ACCEPT\nCOMMIT\n")
    page.get_by_label("ruleset file").set_input_files(str(broken))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text(re.compile(r"Line 3: .*10\.0\.0\.999"))).to_be_visible()

    opened = tmp_path / "opened.rules"  # someone opened the My Number tier towards the LGWAN tier
    opened.write_text("*filter\n:FORWARD DROP [0:0]\n"
                      "-A FORWARD -i eth0 -o eth1 -s 10.10.0.0/16 -p tcp --dport 445 -j ACCEPT\nCOMMIT\n")
    page.get_by_label("ruleset file").set_input_files(str(opened))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Ruleset opened.rules stored: 1 rules")).to_be_visible()

    page.get_by_role("link", name="Network and segmentation").first.click()
    page.get_by_role("button", name="Verify the rulesets now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verification report")
    row = page.locator("tr", has_text="-A FORWARD -i eth0 -o eth1")
    expect(row.first).to_contain_text("mynumber → lgwan")
    expect(row.first).to_contain_text("tcp/445")
    expect(row.first).to_contain_text("fw-core/opened.rules:3")
    run = VerificationRun.objects.latest("pk")
    assert run.started_by == world.user("chief") and run.violations == 4
    assert Firewall.objects.get(name="fw-core").current_ruleset().filename == "opened.rules"

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    assert page.console_errors == [] and page.failed_responses == []
