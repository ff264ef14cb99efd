"""Switching the active classification scheme R5 → R6 through the pages: choose, preview, apply."""

from __future__ import annotations

from typing import Any

import pytest

from mamoru.assets import services
from mamoru.assets.models import ClassificationLevel, ClassificationScheme, InformationAsset
from mamoru.core.choices import AuditEvent
from mamoru.core.context import acting_as
from mamoru.core.models import AuditEntry

pytestmark = pytest.mark.django_db
URL = "/assets/schemes/switch/"


def lv(world: Any, scheme: str, axis: str, code: str) -> ClassificationLevel:
    return ClassificationLevel.objects.get(scheme__municipality=world.units["city"], scheme__code=scheme,
                                           axis=axis, code=code)


@pytest.fixture
def city(world: Any) -> Any:
    with acting_as(label="test"):
        services.scheme_presets_load(world.units["city"])
        world.r5 = ClassificationScheme.objects.get(municipality=world.units["city"], code="mic-r5")
        world.r6 = ClassificationScheme.objects.get(municipality=world.units["city"], code="mic-r6")
        world.secret = services.asset_create(org_unit=world.units["sec_a"], name="秘密文書",
                                             confidentiality=lv(world, "mic-r5", "confidentiality", "3"),
                                             integrity=lv(world, "mic-r5", "integrity", "2"))
        world.plain = services.asset_create(org_unit=world.units["sec_b"], name="公開資料",
                                            confidentiality=lv(world, "mic-r5", "confidentiality", "1"))
        world.unclassified = services.asset_create(org_unit=world.units["sec_b"], name="未分類")
    return world


def mapping_data(response: Any) -> dict[str, Any]:
    form = response.context["form"]
    return {name: form.fields[name].initial for _level, name in form.level_fields}


def test_get_preselects_same_code_or_base_code(city, login_as):
    client = login_as("ciso")
    response = client.get(URL)
    assert response.status_code == 200 and response.context["target"] is None
    response = client.get(f"{URL}?target={city.r6.pk}")
    form = response.context["form"]
    used = {level.pk for level, _name in form.level_fields}
    assert used == {lv(city, "mic-r5", "confidentiality", "3").pk, lv(city, "mic-r5", "confidentiality", "1").pk,
                    lv(city, "mic-r5", "integrity", "2").pk}
    initial = mapping_data(response)
    assert initial[f"level_{lv(city, 'mic-r5', 'confidentiality', '3').pk}"] == \
        lv(city, "mic-r6", "confidentiality", "3A").pk
    assert initial[f"level_{lv(city, 'mic-r5', 'confidentiality', '1').pk}"] == \
        lv(city, "mic-r6", "confidentiality", "1").pk


def test_preview_then_apply(city, login_as):
    client = login_as("chief")
    data = mapping_data(client.get(f"{URL}?target={city.r6.pk}"))
    c3b = lv(city, "mic-r6", "confidentiality", "3B")
    data[f"level_{lv(city, 'mic-r5', 'confidentiality', '3').pk}"] = c3b.pk
    data.update({"target": city.r6.pk, "action": "preview"})
    response = client.post(URL, data)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert {c.asset.name for c in plan.changes} == {"秘密文書", "公開資料"}
    html = response.content.decode()
    assert city.secret.number in html and "機密性3 → 自治体機密性3B" in html and 'value="apply"' in html
    city.secret.refresh_from_db()
    assert city.secret.confidentiality.scheme_id == city.r5.pk  # preview changes nothing

    data["action"] = "apply"
    response = client.post(URL, data)
    assert response.status_code == 302 and response["Location"] == city.r6.get_absolute_url()
    city.secret.refresh_from_db()
    city.plain.refresh_from_db()
    assert city.secret.confidentiality == c3b
    assert city.secret.integrity == lv(city, "mic-r6", "integrity", "2")
    assert city.plain.confidentiality == lv(city, "mic-r6", "confidentiality", "1")
    assert InformationAsset.objects.get(pk=city.unclassified.pk).confidentiality is None
    city.r5.refresh_from_db()
    city.r6.refresh_from_db()
    assert city.r6.is_active and not city.r5.is_active
    event = AuditEntry.objects.get(event=AuditEvent.APPROVAL, object_type="assets.classificationscheme",
                                   object_id=str(city.r6.pk))
    assert event.changes["assets_changed"] == 2 and event.actor == "chief"


def test_unmapped_level_is_refused(city, login_as):
    client = login_as("ciso")
    data = mapping_data(client.get(f"{URL}?target={city.r6.pk}"))
    data[f"level_{lv(city, 'mic-r5', 'integrity', '2').pk}"] = ""
    data.update({"target": city.r6.pk, "action": "apply"})
    response = client.post(URL, data)
    assert response.status_code == 200 and response.context["form"].errors
    city.r6.refresh_from_db()
    assert not city.r6.is_active


def test_level_of_another_axis_is_refused(city, login_as):
    client = login_as("ciso")
    data = mapping_data(client.get(f"{URL}?target={city.r6.pk}"))
    data[f"level_{lv(city, 'mic-r5', 'integrity', '2').pk}"] = lv(city, "mic-r6", "availability", "2").pk
    data.update({"target": city.r6.pk, "action": "apply"})
    assert client.post(URL, data).context["form"].errors
    city.r6.refresh_from_db()
    assert not city.r6.is_active


@pytest.mark.parametrize("persona", ["dept_head_a", "manager_a", "staff_a", "auditor", "contractor", "other_ciso"])
def test_non_admins_get_404(city, login_as, persona):
    client = login_as(persona)
    assert client.get(f"{URL}?target={city.r6.pk}").status_code == 404
    assert client.post(URL, {"target": city.r6.pk, "action": "apply"}).status_code == 404
    city.r6.refresh_from_db()
    assert not city.r6.is_active
