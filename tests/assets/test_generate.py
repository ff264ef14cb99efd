"""The generator of register entries (demo data and benchmark data sets)."""

from __future__ import annotations

import pytest

from mamoru.assets.generate import generate_assets
from mamoru.assets.models import InformationAsset
from mamoru.assets.services import asset_create, scheme_presets_load
from mamoru.core.choices import AuditAction, AuditEvent
from mamoru.core.models import AuditEntry
from mamoru.core.text import normalize

pytestmark = pytest.mark.django_db


def test_generates_n_assets_with_unique_numbers_and_search_text(world):
    city = world.units["city"]
    scheme_presets_load(city)
    asset_create(org_unit=world.units["sec_a"], name="既存")  # A-000001 exists already
    entries = AuditEntry.objects.count()
    assert generate_assets(municipality=city, count=120, seed=7, batch=50) == 120
    assets = InformationAsset.objects.filter(municipality=city)
    assert assets.count() == 121
    numbers = list(assets.values_list("number", flat=True))
    assert len(set(numbers)) == 121 and "A-000121" in numbers
    sections = {world.units[k].pk for k in ("sec_a", "sec_a2", "sec_b")}
    assert set(assets.values_list("org_unit_id", flat=True)) == sections
    for asset in assets.exclude(name="既存")[:20]:
        assert asset.search_text == normalize(" ".join((asset.number, asset.name, asset.description, asset.tags,
                                                        asset.system_name)))
        assert asset.confidentiality is not None and asset.confidentiality.scheme.is_active
    # one audit event for the whole generation, not one entry per row
    added = AuditEntry.objects.filter(seq__gt=0).count() - entries
    assert added == 1
    assert AuditEntry.objects.filter(action=AuditAction.EVENT, event=AuditEvent.BULK_GENERATED).count() == 1
    assert not InformationAsset.objects.filter(municipality=world.units["other_city"]).exists()


def test_generation_is_deterministic(world):
    city = world.units["city"]
    scheme_presets_load(city)
    generate_assets(municipality=city, count=30, seed=3)
    first = list(InformationAsset.objects.order_by("number").values_list("name", "tier", "org_unit_id"))
    InformationAsset.objects.all().delete()
    generate_assets(municipality=city, count=30, seed=3)
    assert list(InformationAsset.objects.order_by("number").values_list("name", "tier", "org_unit_id")) == first


def test_no_sections_no_assets(world):
    from mamoru.core import services

    empty = services.municipality_create(name="空市", code="empty-city")
    assert generate_assets(municipality=empty, count=10) == 0
