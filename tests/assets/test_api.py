"""The asset register API: scoped like the pages, placement checked, numbers assigned, audited writes."""

from __future__ import annotations

from typing import Any

import pytest

from mamoru.assets.models import ClassificationLevel, ClassificationScheme, InformationAsset
from mamoru.assets.services import asset_create, scheme_presets_load
from mamoru.core.choices import AuditAction
from mamoru.core.models import AuditEntry
from tests.api.conftest import all_pages, bearer
from tests.personas import PERSONAS

pytestmark = pytest.mark.django_db


def level(world: Any, axis: str, code: str, scheme: str = "mic-r5", city: str = "city") -> ClassificationLevel:
    return ClassificationLevel.objects.get(scheme__municipality=world.units[city], scheme__code=scheme,
                                           axis=axis, code=code)


@pytest.fixture
def api_as(world: Any) -> Any:
    """``api_as("ciso")`` → a client authenticated by a fresh API token of that persona."""
    from mamoru.core.services_tokens import token_create

    return lambda persona: bearer(token_create(user=world.user(persona), name=f"test {persona}")[1])


def world_setup(world: Any) -> None:
    """Presets in both cities and one asset per section (made once per module: tests/conftest.py)."""
    for city in ("city", "other_city"):
        scheme_presets_load(world.units[city])
    world.assets = {}
    for key, name in (("sec_a", "住民基本台帳データ"), ("sec_a2", "課内会議資料"), ("sec_b", "ホームページ掲載原稿"),
                      ("other_sec", "他市の台帳")):
        city = "other_city" if key == "other_sec" else "city"
        world.assets[key] = asset_create(org_unit=world.units[key], name=name,
                                         confidentiality=level(world, "confidentiality", "2", city=city))


@pytest.fixture
def register(world: Any) -> Any:
    return world


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_sees_what_restrict_allows(persona, register, api_as):
    rows = all_pages(api_as(persona), "/api/assets/")
    got = [r["id"] for r in rows]
    assert len(got) == len(set(got))
    expected = set(InformationAsset.objects.restrict(register.user(persona), "view").values_list("pk", flat=True))
    assert set(got) == expected


def test_scope_is_not_vacuous(register, api_as):
    names = {p: {r["name"] for r in all_pages(api_as(p), "/api/assets/")}
             for p in ("ciso", "dept_head_a", "staff_b", "other_ciso")}
    assert names["ciso"] == {"住民基本台帳データ", "課内会議資料", "ホームページ掲載原稿"}
    assert names["dept_head_a"] == {"住民基本台帳データ", "課内会議資料"}
    assert names["staff_b"] == {"ホームページ掲載原稿"}
    assert names["other_ciso"] == {"他市の台帳"}


def test_out_of_scope_asset_is_404_and_visible_read_only_is_403(register, api_as):
    sec_a_asset = register.assets["sec_a"].pk
    assert api_as("staff_b").get(f"/api/assets/{sec_a_asset}/").status_code == 404
    assert api_as("staff_b").patch(f"/api/assets/{sec_a_asset}/", {"name": "x"},
                                   content_type="application/json").status_code == 404
    assert api_as("staff_a").get(f"/api/assets/{sec_a_asset}/").status_code == 200
    assert api_as("staff_a").patch(f"/api/assets/{sec_a_asset}/", {"name": "x"},
                                   content_type="application/json").status_code == 403
    assert InformationAsset.objects.get(pk=sec_a_asset).name == "住民基本台帳データ"


def test_assets_are_not_deleted_through_the_api(register, api_as):
    response = api_as("ciso").delete(f"/api/assets/{register.assets['sec_a'].pk}/")
    assert response.status_code == 405
    assert InformationAsset.objects.filter(pk=register.assets["sec_a"].pk).exists()


def test_section_manager_creates_in_own_section_with_number_and_audit(register, api_as):
    data = {"name": "窓口申請書（紙）", "org_unit": register.units["sec_a"].pk, "tier": "standalone",
            "confidentiality": level(register, "confidentiality", "3").pk,
            "integrity": level(register, "integrity", "2").pk, "availability": level(register, "availability", "1").pk,
            "has_my_number": True}
    response = api_as("manager_a").post("/api/assets/", data, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "A-000004"  # three assets of テスト市 exist; 他市 numbers on its own
    assert body["municipality"] == register.units["city"].pk
    assert body["has_personal_info"] is True  # My Number information is personal information too
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_type="assets.informationasset",
                                   object_id=str(body["id"]))
    assert entry.actor == "manager_a"


def test_given_number_is_kept_and_duplicates_refused(register, api_as):
    client = api_as("ciso")
    data = {"name": "x", "org_unit": register.units["sec_b"].pk, "number": "A-000100"}
    assert client.post("/api/assets/", data, content_type="application/json").json()["number"] == "A-000100"
    again = client.post("/api/assets/", data, content_type="application/json")
    assert again.status_code == 400


def test_section_manager_cannot_create_in_another_section(register, api_as):
    client = api_as("manager_a")
    response = client.post("/api/assets/", {"name": "x", "org_unit": register.units["sec_a2"].pk},
                           content_type="application/json")
    assert response.status_code == 403
    moved = client.patch(f"/api/assets/{register.assets['sec_a'].pk}/", {"org_unit": register.units["sec_a2"].pk},
                         content_type="application/json")
    assert moved.status_code == 403
    other_city = client.post("/api/assets/", {"name": "x", "org_unit": register.units["other_sec"].pk},
                             content_type="application/json")
    assert other_city.status_code == 400 and "org_unit" in other_city.json()  # another city's unit "does not exist"
    assert not InformationAsset.objects.filter(name="x").exists()
    assert api_as("staff_a").post("/api/assets/", {"name": "x", "org_unit": register.units["sec_a"].pk},
                                  content_type="application/json").status_code == 403


def test_level_checks(register, api_as):
    client = api_as("ciso")
    base = {"name": "x", "org_unit": register.units["sec_a"].pk}
    wrong_axis = client.post("/api/assets/", {**base, "confidentiality": level(register, "integrity", "2").pk},
                             content_type="application/json")
    assert wrong_axis.status_code == 400 and "confidentiality" in wrong_axis.json()
    inactive = client.post("/api/assets/", {**base, "confidentiality": level(register, "confidentiality", "3A",
                                                                              scheme="mic-r6").pk},
                           content_type="application/json")
    assert inactive.status_code == 400 and "confidentiality" in inactive.json()
    other_city = client.post("/api/assets/", {**base, "confidentiality": level(register, "confidentiality", "2",
                                                                                city="other_city").pk},
                             content_type="application/json")
    assert other_city.status_code == 400 and "confidentiality" in other_city.json()
    assert not InformationAsset.objects.filter(name="x").exists()


def test_update_writes_the_audit_trail(register, api_as):
    pk = register.assets["sec_a"].pk
    response = api_as("manager_a").patch(f"/api/assets/{pk}/", {"tier": "mynumber", "last_inventory_on": "2026-04-01"},
                                         content_type="application/json")
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action=AuditAction.UPDATE, object_type="assets.informationasset",
                                   object_id=str(pk))
    assert entry.actor == "manager_a" and entry.changes["tier"] == ["lgwan", "mynumber"]


def test_search_tolerates_width_and_kana(register, api_as):
    asset_create(org_unit=register.units["sec_a"], name="ＵＳＢメモリ（管理番号付き）", description="カギ付き保管")
    client = api_as("ciso")

    def names(q: str) -> set[str]:
        return {r["name"] for r in all_pages(client, f"/api/assets/?q={q}")}

    assert names("usbめもり") == {"ＵＳＢメモリ（管理番号付き）"}
    assert names("ｶｷﾞ") == {"ＵＳＢメモリ（管理番号付き）"}
    assert names("a-000001") == {"住民基本台帳データ"}
    assert names("台帳") == {"住民基本台帳データ"}  # 他市の台帳 is out of scope


def test_filters_and_their_choices_follow_the_caller(register, api_as):
    client = api_as("ciso")
    rows = all_pages(client, f"/api/assets/?org_unit={register.units['dept_a'].pk}")
    assert {r["name"] for r in rows} == {"住民基本台帳データ", "課内会議資料"}
    # a unit of another city is not a valid choice for this caller
    assert client.get(f"/api/assets/?org_unit={register.units['other_sec'].pk}").status_code == 400
    rows = all_pages(client, "/api/assets/?sort=-number")
    assert [r["number"] for r in rows] == ["A-000003", "A-000002", "A-000001"]


def test_schemes_and_levels_are_read_only_and_scoped(register, api_as):
    client = api_as("staff_b")
    schemes = all_pages(client, "/api/classification-schemes/")
    assert {(s["code"], s["is_active"]) for s in schemes} == {("mic-r5", True), ("mic-r6", False)}
    expected = set(ClassificationScheme.objects.restrict(register.user("staff_b"), "view").values_list("pk", flat=True))
    assert {s["id"] for s in schemes} == expected
    levels = all_pages(client, "/api/classification-levels/?active=true&axis=confidentiality")
    assert [lv["code"] for lv in levels] == ["3", "2", "1"]
    assert client.post("/api/classification-schemes/", {}, content_type="application/json").status_code == 405
    other = ClassificationScheme.objects.get(municipality=register.units["other_city"], code="mic-r5")
    assert client.get(f"/api/classification-schemes/{other.pk}/").status_code == 404


def test_export_scoped_and_audited(register, api_as):
    response = api_as("manager_a").get("/api/assets/export/?format=csv")
    assert response.status_code == 200
    text = body(response).decode("utf-8-sig")
    assert "住民基本台帳データ" in text and "課内会議資料" not in text and "他市の台帳" not in text
    assert AuditEntry.objects.filter(action=AuditAction.EVENT, event="export", actor="manager_a").exists()
    xlsx = api_as("ciso").get("/api/assets/export/?format=xlsx&tier=lgwan")
    assert xlsx.status_code == 200 and body(xlsx)[:2] == b"PK"


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_control_characters_are_refused(register, api_as):
    response = api_as("ciso").post("/api/assets/", {"name": "a\x01b", "org_unit": register.units["sec_a"].pk},
                                   content_type="application/json")
    assert response.status_code == 400 and "name" in response.json()


def test_export_refused_without_export_right(register, api_as):
    assert api_as("staff_a").get("/api/assets/export/?format=csv").status_code == 403
    assert api_as("ciso").get("/api/assets/export/?format=pdf").status_code == 404
