"""A section manager opens the bulk-edit panel (its fields load on demand), selects rows and changes their tier."""

from __future__ import annotations

import os
import re

import pytest

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("Chromium not installed at /usr/bin/chromium; .ci/run installs it", allow_module_level=True)

from playwright.sync_api import expect

from mamoru.assets import services
from mamoru.assets.models import InformationAsset
from mamoru.core.context import acting_as
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_manager_bulk_edits_selected_rows(live_server, world, page):
    with acting_as(label="test"):
        services.scheme_presets_load(world.units["city"])
        first = services.asset_create(org_unit=world.units["sec_a"], name="住民記録台帳", tier="lgwan")
        second = services.asset_create(org_unit=world.units["sec_a"], name="窓口申請書", tier="lgwan")
        untouched = services.asset_create(org_unit=world.units["sec_a"], name="設計書", tier="lgwan")

    page.goto(f"{live_server.url}/accounts/login/?next=/assets/")
    page.get_by_label("User name").fill("manager_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/assets/$"))

    page.get_by_text("Change the selected rows").click()  # opens the panel; htmx fetches its fields
    tier = page.locator("#bulk").get_by_label("tier")
    expect(tier).to_be_visible()
    page.get_by_label(f"Select {first.number}").check()
    page.get_by_label(f"Select {second.number}").check()
    tier.select_option("standalone")
    page.once("dialog", lambda dialog: dialog.accept())  # "Change all selected assets?"
    page.get_by_role("button", name="Apply to selected").click()

    expect(page.get_by_text("2 assets updated.")).to_be_visible()
    expect(page.locator("tr", has_text="住民記録台帳")).to_contain_text("Stand-alone or other")
    expect(page.locator("tr", has_text="窓口申請書")).to_contain_text("Stand-alone or other")
    expect(page.locator("tr", has_text="設計書")).to_contain_text("LGWAN tier")
    rows = InformationAsset.objects.filter(pk__in=[first.pk, second.pk, untouched.pk])
    tiers = dict(rows.values_list("name", "tier"))
    assert tiers == {"住民記録台帳": "standalone", "窓口申請書": "standalone", "設計書": "lgwan"}
    assert page.console_errors == [] and page.failed_responses == []
