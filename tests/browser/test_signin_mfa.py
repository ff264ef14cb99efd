"""The CISO signs in, is sent to MFA enrolment, sets up TOTP, sees the recovery codes and reaches home."""

from __future__ import annotations

import os
import re
from base64 import b32decode

import pytest

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("Chromium not installed at /usr/bin/chromium; .ci/run installs it", allow_module_level=True)

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditEntry
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_ciso_signs_in_enrols_mfa_and_reaches_home(live_server, world, page):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("ciso")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/accounts/mfa/enrol/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up multi-factor authentication")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code image did not load"

    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))
    code = f"{totp(key):06d}"
    page.get_by_label("Authentication code").fill(code)
    page.get_by_role("button", name="Confirm and finish set-up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name=re.compile("continue")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Home")
    assert page.url == f"{live_server.url}/"
    assert page.console_errors == []  # e.g. no Content-Security-Policy violations
    assert page.failed_responses == []
    assert TOTPDevice.objects.filter(user=world.user("ciso"), confirmed=True).count() == 1
    assert AuditEntry.objects.filter(event=AuditEvent.MFA_ENROLLED, actor="ciso").exists()
