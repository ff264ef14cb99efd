"""A section manager answers the campaign with evidence in the browser; the CISO reads the department rates and
the previous year, and downloads the PDF report."""

from __future__ import annotations

import os

import pytest

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("Chromium not installed at /usr/bin/chromium; .ci/run installs it", allow_module_level=True)

from playwright.sync_api import expect

from mamoru.inspection import services
from mamoru.inspection.models import Evidence
from tests.core.test_auth_mfa import code_for, enrolled
from tests.factories import PASSWORD
from tests.inspection.factories import PDF, answer_everything, assignment_of, campaign_for

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, username, device=None):
    page.goto(f"{live_server.url}/accounts/login/?next=/inspection/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if device is not None:
        page.get_by_label("Authentication code").fill(code_for(device, steps_ahead=1))
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-inspection")


def test_a_manager_answers_with_evidence_and_the_ciso_reads_the_results(live_server, world, page, tmp_path):
    from django.utils import timezone

    last = campaign_for(world, fiscal_year=services.fiscal_year_of(timezone.localdate()) - 1,
                        audiences=["security_manager"])
    answer_everything(assignment_of(last, world, "manager_a", "security_manager"), world.user("manager_a"),
                      value="partly", comment="前年は一部未実施")
    campaign = campaign_for(world, audiences=["security_manager"])
    mine = assignment_of(campaign, world, "manager_a", "security_manager")
    questions = list(campaign.questions.order_by("order", "pk"))

    _sign_in(page, live_server, "manager_a")
    page.locator("tr", has_text=campaign.title).get_by_role("link", name="Information security managers").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Information security managers")
    first, second = questions[0], questions[1]
    page.locator(f"input[name='v{first.pk}'][value='yes']").check()
    evidence = tmp_path / "巡回記録.pdf"
    evidence.write_bytes(PDF)
    page.locator(f"#f{first.pk}").set_input_files(str(evidence))
    page.locator(f"input[name='v{second.pk}'][value='no']").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("巡回記録.pdf was attached")).to_be_visible()
    expect(page.get_by_text("Draft saved.")).to_be_visible()

    # Submitting without a comment on the "no" is refused with the question's number; nothing is lost.
    for q in questions[2:]:
        page.locator(f"input[name='v{q.pk}'][value='yes']").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text(f"“partly” or “no”: {second.requirement}.")).to_be_visible()
    expect(page.locator(f"input[name='v{questions[-1].pk}'][value='yes']")).to_be_checked()
    page.locator(f"#c{second.pk}").fill("鍵の管理簿を作成中")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Submitted. Thank you.")).to_be_visible()
    mine.refresh_from_db()
    assert mine.status == "submitted" and mine.answered == len(questions)
    assert Evidence.objects.get().answer.question == first
    assert page.console_errors == [] and page.failed_responses == []

    page.context.clear_cookies()
    device, _codes = enrolled(world.user("ciso"))
    _sign_in(page, live_server, "ciso", device)
    page.get_by_role("link", name=campaign.title).click()
    expect(page.get_by_role("heading", name="Progress per department")).to_be_visible()
    expect(page.locator("tr", has_text="部A").first).to_contain_text("1")
    page.get_by_role("link", name="Results").click()
    row = page.locator("tr", has_text="部A").first
    expect(row).to_contain_text(f"{round(100 * (len(questions) - 1) / len(questions), 1)}%")
    expect(row).to_contain_text("50.0%")  # last year: everything "partly"
    with page.expect_download() as download:
        page.get_by_role("link", name="Report (PDF)").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    assert page.console_errors == [] and page.failed_responses == []
