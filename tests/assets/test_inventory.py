"""Yearly inventory (棚卸し): a campaign, section confirmations, progress, overdue findings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from mamoru.assets import inventory, services
from mamoru.assets.models import InformationAsset, InventoryCampaign, InventoryConfirmation
from mamoru.compliance.models import Finding
from mamoru.compliance.services import checks_run
from mamoru.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def register(world):
    services.scheme_presets_load(world.units["city"])
    old = dt.date(2020, 1, 1)
    for unit in ("sec_a", "sec_a2", "sec_b"):
        for i in range(3):
            services.asset_create(org_unit=world.units[unit], name=f"{unit} 台帳 {i}", last_inventory_on=old)
    return world


def test_fiscal_year_runs_april_to_march():
    assert inventory.fiscal_year_of(dt.date(2025, 3, 31)) == 2024
    assert inventory.fiscal_year_of(dt.date(2025, 4, 1)) == 2025


def test_chief_starts_a_campaign_with_one_confirmation_per_section(register, login_as):
    response = login_as("chief").post("/assets/inventory/start/", {"due_on": "2026-12-25"})
    campaign = InventoryCampaign.objects.get()
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    units = set(campaign.confirmations.values_list("org_unit__name", flat=True))
    assert units == {"課A", "課A2", "課B"}
    again = login_as("chief").post("/assets/inventory/start/", {"due_on": "2026-12-25"}, follow=True)
    assert InventoryCampaign.objects.count() == 1
    assert "既に" in again.content.decode()


def test_section_manager_cannot_start_a_campaign(register, login_as):
    assert login_as("manager_a").post("/assets/inventory/start/", {"due_on": "2026-12-25"}).status_code == 404


def test_manager_confirms_their_section_and_assets_are_stamped(register, login_as):
    campaign = inventory.campaign_start(municipality=register.units["city"], due_on=dt.date(2026, 12, 25))
    mine = campaign.confirmations.get(org_unit=register.units["sec_a"])
    other = campaign.confirmations.get(org_unit=register.units["sec_b"])
    client = login_as("manager_a")
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert f"/assets/inventory/confirmations/{mine.pk}/confirm/" in page
    assert f"/assets/inventory/confirmations/{other.pk}/confirm/" not in page
    assert client.post(f"/assets/inventory/confirmations/{other.pk}/confirm/").status_code == 404
    assert client.post(f"/assets/inventory/confirmations/{mine.pk}/confirm/", {"note": "確認済み"}).status_code == 302
    mine.refresh_from_db()
    assert mine.confirmed_at is not None and mine.asset_count == 3 and mine.confirmed_by == register.people["manager_a"]
    today = timezone.localdate()
    assert set(InformationAsset.objects.filter(org_unit=register.units["sec_a"])
               .values_list("last_inventory_on", flat=True)) == {today}
    assert InformationAsset.objects.filter(org_unit=register.units["sec_b"], last_inventory_on=today).count() == 0
    assert AuditEntry.objects.filter(event="approval", object_id=str(mine.pk), actor="manager_a").exists()


def test_progress_per_department(register):
    campaign = inventory.campaign_start(municipality=register.units["city"], due_on=dt.date(2026, 12, 25))
    inventory.section_confirm(confirmation=campaign.confirmations.get(org_unit=register.units["sec_a"]),
                              user=register.user("manager_a"))
    progress = {p.department: (p.confirmed, p.sections, p.percent)
                for p in inventory.campaign_progress(campaign=campaign, user=register.user("ciso"))}
    assert progress == {"部A": (1, 2, 50), "部B": (0, 1, 0)}


def test_late_sections_become_findings_and_resolve_once_confirmed(register):
    campaign = inventory.campaign_start(municipality=register.units["city"], due_on=dt.date(2020, 1, 31))
    checks_run(codes=["ASSET-005"])
    late = set(Finding.objects.filter(code="ASSET-005", status="open").values_list("org_unit__name", flat=True))
    assert late == {"課A", "課A2", "課B"}
    inventory.section_confirm(confirmation=campaign.confirmations.get(org_unit=register.units["sec_b"]),
                              user=register.user("ciso"))
    checks_run(codes=["ASSET-005"])
    assert set(Finding.objects.filter(code="ASSET-005", status="open").values_list("org_unit__name", flat=True)) \
        == {"課A", "課A2"}


def test_confirming_twice_is_refused(register):
    campaign = inventory.campaign_start(municipality=register.units["city"], due_on=dt.date(2026, 12, 25))
    c = campaign.confirmations.get(org_unit=register.units["sec_a"])
    inventory.section_confirm(confirmation=c, user=register.user("manager_a"))
    with pytest.raises(Exception, match="既に"):
        inventory.section_confirm(confirmation=InventoryConfirmation.objects.get(pk=c.pk),
                                  user=register.user("manager_a"))


def test_chief_closes_the_campaign_and_late_sections_stop_being_findings(register, login_as):
    campaign = inventory.campaign_start(municipality=register.units["city"], due_on=dt.date(2020, 1, 31))
    inventory.section_confirm(confirmation=campaign.confirmations.get(org_unit=register.units["sec_b"]),
                              user=register.user("ciso"))
    checks_run(codes=["ASSET-005"])
    assert Finding.objects.filter(code="ASSET-005", status="open").count() == 2
    url = f"/assets/inventory/{campaign.pk}/close/"
    assert login_as("manager_a").post(url).status_code == 404  # only the CISO / 統括 close it

    chief = login_as("chief")
    page = chief.get(campaign.get_absolute_url()).content.decode()
    assert "棚卸しを終了する" in page
    response = chief.post(url, follow=True)
    assert "棚卸しを終了しました。" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.closed_at is not None
    event = AuditEntry.objects.filter(object_id=str(campaign.pk), event="approval",
                                      object_type="assets.inventorycampaign").get()
    assert event.changes["operation"] == "inventory closed" and event.actor == "chief"
    assert event.changes["not_confirmed"] == ["課A", "課A2"] and event.changes["confirmed"] == 1
    checks_run(codes=["ASSET-005"])
    assert not Finding.objects.filter(code="ASSET-005", status="open").exists()

    manager = login_as("manager_a")
    assert "台帳を確認</button>" not in manager.get(campaign.get_absolute_url()).content.decode()
    late = campaign.confirmations.get(org_unit=register.units["sec_a"])
    response = manager.post(f"/assets/inventory/confirmations/{late.pk}/confirm/", follow=True)
    assert "この棚卸しは終了しています。" in response.content.decode()
    assert InventoryConfirmation.objects.get(pk=late.pk).confirmed_at is None
    again = chief.post(url, follow=True).content.decode()
    assert "この棚卸しは既に終了しています。" in again
