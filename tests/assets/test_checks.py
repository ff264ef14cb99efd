"""The asset register's policy checks (ASSET-001…004): each finds its problem and resolves once fixed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mamoru.assets.models import ClassificationLevel, ClassificationScheme, InformationAsset
from mamoru.assets.services import asset_create, asset_dispose, asset_update, scheme_presets_load
from mamoru.compliance.choices import FindingStatus
from mamoru.compliance.models import Finding
from mamoru.compliance.services import checks_run

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)


def lv(world: Any, axis: str, code: str, scheme: str = "mic-r5") -> ClassificationLevel:
    return ClassificationLevel.objects.get(scheme__municipality=world.units["city"], scheme__code=scheme,
                                           axis=axis, code=code)


@pytest.fixture
def city(world: Any) -> Any:
    scheme_presets_load(world.units["city"])
    return world


def complete(world: Any, **fields: Any) -> InformationAsset:
    """An asset that no check objects to, changed by ``fields``."""
    values = {"name": "課内会議資料", "tier": "lgwan", "manager": world.people["manager_a"],
              "confidentiality": lv(world, "confidentiality", "2"), "integrity": lv(world, "integrity", "1"),
              "availability": lv(world, "availability", "1"), "last_inventory_on": TODAY - dt.timedelta(days=30)}
    values.update(fields)
    return asset_create(org_unit=world.units["sec_a"], **values)


def run(code: str) -> dict[str, str]:
    checks_run(codes=[code], today=TODAY)
    return {f.object_id: f.status for f in Finding.objects.filter(code=code, object_type="assets.informationasset")}


def test_a_complete_asset_raises_nothing(city):
    asset = complete(city)
    for code in ("ASSET-001", "ASSET-002", "ASSET-003", "ASSET-004"):
        assert str(asset.pk) not in run(code), code


def test_asset_001_my_number_outside_its_tier(city):
    wrong = complete(city, name="住民基本台帳データ", has_my_number=True, tier="lgwan")
    right = complete(city, name="国保台帳", has_my_number=True, tier="mynumber")
    found = run("ASSET-001")
    assert found == {str(wrong.pk): FindingStatus.OPEN}
    finding = Finding.objects.get(code="ASSET-001")
    assert finding.org_unit == city.units["sec_a"] and "住民基本台帳データ" in finding.message
    asset_update(asset=wrong, tier="mynumber")
    assert run("ASSET-001") == {str(wrong.pk): FindingStatus.RESOLVED}
    assert str(right.pk) not in run("ASSET-001")


def test_asset_001_ignores_disposed_assets(city):
    wrong = complete(city, has_my_number=True, tier="internet")
    assert run("ASSET-001") == {str(wrong.pk): FindingStatus.OPEN}
    asset_dispose(asset=wrong, on=TODAY, method="溶解処理", record="証明書あり")
    assert run("ASSET-001") == {str(wrong.pk): FindingStatus.RESOLVED}


def test_asset_002_confidentiality_3_in_the_internet_tier_r5(city):
    wrong = complete(city, tier="internet", confidentiality=lv(city, "confidentiality", "3"))
    complete(city, tier="internet", confidentiality=lv(city, "confidentiality", "2"))
    complete(city, tier="lgwan", confidentiality=lv(city, "confidentiality", "3"))
    assert run("ASSET-002") == {str(wrong.pk): FindingStatus.OPEN}
    asset_update(asset=wrong, tier="lgwan")
    assert run("ASSET-002") == {str(wrong.pk): FindingStatus.RESOLVED}


@pytest.mark.parametrize("code", ["3A", "3B", "3C"])
def test_asset_002_municipal_confidentiality_3abc_under_the_r6_scheme(city, code):
    ClassificationScheme.objects.filter(municipality=city.units["city"]).update(is_active=False)
    ClassificationScheme.objects.filter(municipality=city.units["city"], code="mic-r6").update(is_active=True)
    wrong = complete(city, tier="internet", confidentiality=lv(city, "confidentiality", code, "mic-r6"),
                     integrity=lv(city, "integrity", "1", "mic-r6"),
                     availability=lv(city, "availability", "1", "mic-r6"))
    complete(city, tier="internet", confidentiality=lv(city, "confidentiality", "2", "mic-r6"))
    found = run("ASSET-002")
    assert found == {str(wrong.pk): FindingStatus.OPEN}
    assert f"自治体機密性{code}" in Finding.objects.get(code="ASSET-002").message
    asset_update(asset=wrong, confidentiality=lv(city, "confidentiality", "2", "mic-r6"))
    assert run("ASSET-002") == {str(wrong.pk): FindingStatus.RESOLVED}


def test_asset_003_no_manager_or_no_classification(city):
    no_manager = complete(city, manager=None)
    no_level = complete(city, availability=None)
    found = run("ASSET-003")
    assert found == {str(no_manager.pk): FindingStatus.OPEN, str(no_level.pk): FindingStatus.OPEN}
    messages = {f.object_id: f.message for f in Finding.objects.filter(code="ASSET-003")}
    assert "管理者" in messages[str(no_manager.pk)] or "manager" in messages[str(no_manager.pk)]
    asset_update(asset=no_manager, manager=city.people["manager_a"])
    asset_update(asset=no_level, availability=lv(city, "availability", "2"))
    assert set(run("ASSET-003").values()) == {FindingStatus.RESOLVED}


def test_asset_004_inventory_overdue(city):
    never = complete(city, last_inventory_on=None)
    old = complete(city, last_inventory_on=TODAY - dt.timedelta(days=366))
    recent = complete(city, last_inventory_on=TODAY - dt.timedelta(days=365))
    found = run("ASSET-004")
    assert found == {str(never.pk): FindingStatus.OPEN, str(old.pk): FindingStatus.OPEN}
    assert str(recent.pk) not in found
    asset_update(asset=never, last_inventory_on=TODAY)
    asset_update(asset=old, last_inventory_on=TODAY)
    assert set(run("ASSET-004").values()) == {FindingStatus.RESOLVED}


def test_checks_limited_to_one_municipality(city):
    scheme_presets_load(city.units["other_city"])
    here = complete(city, has_my_number=True, tier="lgwan")
    there = asset_create(org_unit=city.units["other_sec"], name="他市", has_my_number=True, tier="lgwan")
    checks_run(codes=["ASSET-001"], municipality=city.units["other_city"], today=TODAY)
    assert set(Finding.objects.filter(code="ASSET-001").values_list("object_id", flat=True)) == {str(there.pk)}
    assert str(here.pk) in run("ASSET-001")
