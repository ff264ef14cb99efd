"""The register page's row count is cached, and every kind of write shows at once in the count."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from mamoru.assets import services
from mamoru.assets.importer import asset_import
from mamoru.assets.models import InformationAsset
from mamoru.core.context import acting_as
from mamoru.core.models import OrgUnit
from tests.assets.test_import import xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(world: Any) -> Any:
    with acting_as(label="test"):
        services.scheme_presets_load(world.units["city"])
        for i in range(3):
            services.asset_create(org_unit=world.units["sec_a"], name=f"課Aの資産{i}", tier="lgwan")
        services.asset_create(org_unit=world.units["sec_b"], name="課Bの資産", tier="internet")
    return world


def shown(client: Any, query: str = "") -> int:
    """The number of matching assets the page reports (what its pagination is built on)."""
    response = client.get(f"/assets/{query}")
    assert response.status_code == 200
    return int(response.context["page"].paginator.count)


def test_a_repeated_page_is_not_counted_again(city, login_as):
    client = login_as("ciso")
    assert shown(client, "?tier=lgwan") == 3
    with CaptureQueriesContext(connection) as ctx:
        assert shown(client, "?tier=lgwan") == 3
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert shown(client, "?tier=internet") == 1  # another query is counted on its own


def test_creates_updates_and_disposals_show_at_once(city, login_as):
    client = login_as("ciso")
    assert (shown(client), shown(client, "?tier=internet"), shown(client, "?status=disposed")) == (4, 1, 0)
    with acting_as(label="test"):
        asset = services.asset_create(org_unit=city.units["sec_b"], name="新しい資産", tier="internet")
    assert (shown(client), shown(client, "?tier=internet")) == (5, 2)
    with acting_as(label="test"):
        services.asset_update(asset=asset, tier="lgwan")
    assert (shown(client, "?tier=internet"), shown(client, "?tier=lgwan")) == (1, 4)
    with acting_as(label="test"):
        services.asset_dispose(asset=asset, on=asset.created_at.date(), method="裁断", record="記録")
    assert shown(client, "?status=disposed") == 1


def test_bulk_writes_and_raw_updates_show_at_once(city, login_as):
    client = login_as("ciso")
    assert shown(client, "?tier=mynumber") == 0
    InformationAsset.objects.filter(tier="internet").update(tier="mynumber")  # no signal, no service
    assert shown(client, "?tier=mynumber") == 1
    InformationAsset.objects.filter(name="課Bの資産").delete()
    assert (shown(client), shown(client, "?tier=mynumber")) == (3, 0)


def test_imports_show_at_once(city, login_as):
    client = login_as("ciso")
    assert shown(client) == 4
    rows = [["", f"取込資産{i}", "情報", "課A", "", "LGWAN接続系", "", "", "2", "1", "1", "", ""] for i in range(3)]
    result = asset_import(data=xlsx(rows), filename="i.xlsx", user=city.user("ciso"), dry_run=False)
    assert result.committed and result.created == 3
    assert (shown(client), shown(client, "?tier=lgwan")) == (7, 6)


def test_a_section_moving_shows_in_its_department_count(city, login_as):
    client = login_as("ciso")
    dept_b = city.units["dept_b"]
    assert shown(client, f"?org_unit={dept_b.pk}") == 1
    with acting_as(label="test"):
        sec_a = OrgUnit.objects.get(pk=city.units["sec_a"].pk)
        sec_a.parent = dept_b
        sec_a.save()
    assert shown(client, f"?org_unit={dept_b.pk}") == 4


def test_a_count_made_inside_a_rolled_back_write_is_never_served_again(city, login_as):
    client = login_as("ciso")
    assert shown(client, "?tier=internet") == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        with acting_as(label="test"):
            services.asset_create(org_unit=city.units["sec_b"], name="取り消される資産", tier="internet")
        assert shown(client, "?tier=internet") == 2  # counted (and cached) inside the transaction
        raise RuntimeError("rolled back")
    assert shown(client, "?tier=internet") == 1
    # A counter would come back to the rolled-back transaction's number here, and serve its count of 2.
    with acting_as(label="test"):
        services.asset_create(org_unit=city.units["sec_b"], name="別の資産", tier="lgwan")
    assert shown(client, "?tier=internet") == 1
