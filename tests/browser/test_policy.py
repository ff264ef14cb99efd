"""統括 drafts version 2 of the standards, records the committee's approval with its minutes, publishes it,
compares the versions and downloads a PDF that holds Japanese text; a staff member acknowledges it."""

from __future__ import annotations

import os
import re

import pytest

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("Chromium not installed at /usr/bin/chromium; .ci/run installs it", allow_module_level=True)

from playwright.sync_api import expect

from mamoru.core.context import acting_as
from mamoru.policy.defaults import default_documents_load
from mamoru.policy.models import Acknowledgement, PolicyVersion
from tests.core.test_auth_mfa import code_for, enrolled
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, url: str, username: str, device=None) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/accounts/login/?next=/policy/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if device is not None:
        page.get_by_label("Authentication code").fill(code_for(device, steps_ahead=1))  # enrolment used this step
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Policy library")


def test_chief_revises_the_standards_and_staff_acknowledge(live_server, world, page, tmp_path):
    with acting_as(label="test"):
        default_documents_load(world.units["city"])
    device, _codes = enrolled(world.user("chief"))
    sign_in(page, live_server.url, "chief", device)

    page.get_by_role("link", name="情報セキュリティ対策基準").click()
    page.get_by_label("summary of changes").fill("多要素認証の義務化")
    page.get_by_role("button", name="Draft the next version").click()
    expect(page).to_have_url(re.compile(r"/policy/standards/v2/$"))
    page.get_by_role("link", name="Edit 5.4-01").click()
    text = page.get_by_label("text")
    text.fill(text.input_value() + "管理者権限の利用には多要素認証を必須とする。")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Submit for review").click()

    minutes = tmp_path / "minutes.pdf"
    minutes.write_bytes(b"%PDF-1.4\n% committee minutes\n")
    page.get_by_label("Decision of the information security committee").check()
    page.get_by_label("committee decision date").fill("2026-11-20")
    page.get_by_label("committee minutes").set_input_files(str(minutes))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("The version was approved.")).to_be_visible()
    page.get_by_label("effective date").fill("2026-12-01")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("The version was published")).to_be_visible()
    version = PolicyVersion.objects.get(document__slug="standards", number=2)
    assert version.status == "published" and version.approval_kind == "committee"

    page.get_by_role("link", name="Compare versions").click()
    expect(page.locator("table.diff ins")).to_have_text(["管理者権限の利用には多要素認証を必須とする。"])
    page.goto(f"{live_server.url}/policy/standards/v2/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = tmp_path / "standards.pdf"
    download_info.value.save_as(pdf_path)
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(pdf_path))
    text_all = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "情報セキュリティ対策基準" in text_all and "多要素認証を必須とする" in text_all.replace("\r\n", "")
    assert page.console_errors == [] and page.failed_responses == []

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, "staff_b")
    page.goto(f"{live_server.url}/policy/standards/v2/")
    page.get_by_role("button", name="I have read it").click()
    expect(page.get_by_text("your acknowledgement was recorded")).to_be_visible()
    assert Acknowledgement.objects.get(version=version, person=world.people["staff_b"]).acknowledged_at
