"""Write-side services of the register: numbers, scheme presets, handling rules, scheme switch."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from mamoru.assets.models import ClassificationLevel, ClassificationScheme, HandlingRule, InformationAsset
from mamoru.assets.services import (
    asset_create,
    asset_number_next,
    scheme_presets_load,
    scheme_switch_apply,
    scheme_switch_plan,
)
from mamoru.core.choices import AuditAction, AuditEvent
from mamoru.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def lv(world: Any, axis: str, code: str, scheme: str = "mic-r5", city: str = "city") -> ClassificationLevel:
    return ClassificationLevel.objects.get(scheme__municipality=world.units[city], scheme__code=scheme,
                                           axis=axis, code=code)


@pytest.fixture
def city(world: Any) -> Any:
    scheme_presets_load(world.units["city"])
    return world


# --- numbers --------------------------------------------------------------------------------------

def test_numbers_count_up_per_municipality(city):
    scheme_presets_load(city.units["other_city"])
    city_id = city.units["city"].pk
    assert asset_number_next(city_id) == "A-000001"
    first = asset_create(org_unit=city.units["sec_a"], name="一")
    second = asset_create(org_unit=city.units["sec_b"], name="二")
    assert (first.number, second.number) == ("A-000001", "A-000002")
    assert first.municipality_id == city_id
    asset_create(org_unit=city.units["sec_a"], name="手入力", number="A-000120")
    asset_create(org_unit=city.units["sec_a"], name="別体系", number="X-999")  # other prefixes are ignored
    assert asset_number_next(city_id) == "A-000121"
    other = asset_create(org_unit=city.units["other_sec"], name="他市")
    assert other.number == "A-000001"  # each city numbers its own register


def test_duplicate_number_is_refused(city):
    asset_create(org_unit=city.units["sec_a"], name="一", number="A-000005")
    with pytest.raises(ValidationError):
        asset_create(org_unit=city.units["sec_b"], name="二", number="A-000005")


def test_a_number_taken_meanwhile_makes_the_create_take_the_next_one(city, monkeypatch):
    """Two people saving at once are given the same next number; the second save must not fail."""
    from mamoru.assets import services

    asset_create(org_unit=city.units["sec_a"], name="先に保存された資産")  # A-000001
    real_next = services.asset_number_next
    stale = iter(["A-000001"])  # what the second request computed before the first one committed
    monkeypatch.setattr(services, "asset_number_next", lambda mid: next(stale, None) or real_next(mid))
    second = asset_create(org_unit=city.units["sec_b"], name="同時に保存された資産")
    assert second.number == "A-000002"
    assert sorted(InformationAsset.objects.values_list("number", flat=True)) == ["A-000001", "A-000002"]
    assert AuditEntry.objects.filter(object_type="assets.informationasset", action=AuditAction.CREATE,
                                     object_id=str(second.pk)).count() == 1


# --- presets and handling rules -------------------------------------------------------------------

def test_presets_load_two_schemes_r5_active_and_idempotent(city):
    municipality = city.units["city"]
    schemes = ClassificationScheme.objects.filter(municipality=municipality)
    assert {s.code: s.is_active for s in schemes} == {"mic-r5": True, "mic-r6": False}
    counts = (ClassificationLevel.objects.count(), HandlingRule.objects.count())
    assert scheme_presets_load(municipality) == ""  # nothing added the second time
    assert (ClassificationLevel.objects.count(), HandlingRule.objects.count()) == counts
    assert schemes.count() == 2
    r6 = ClassificationScheme.objects.get(municipality=municipality, code="mic-r6")
    conf = list(r6.levels.filter(axis="confidentiality").values_list("code", flat=True))
    assert conf == ["3A", "3B", "3C", "2", "1"]  # highest rank first
    assert {lv.family for lv in r6.levels.filter(code__startswith="3")} == {"3"}


def test_effective_rules_of_confidentiality_3_include_those_of_2(city):
    c3 = lv(city, "confidentiality", "3")
    c2 = lv(city, "confidentiality", "2")
    asset = asset_create(org_unit=city.units["sec_a"], name="台帳", confidentiality=c3)
    rules = asset.effective_rules()
    levels = {r.level for r in rules}
    assert levels == {c3, c2}
    own = {r.aspect: r.text for r in rules if r.level == c3}
    inherited = {r.aspect: r.text for r in rules if r.level == c2}
    assert "terminals" in own and "terminals" not in inherited  # 機密性3's own restriction
    assert set(inherited) >= {"copying", "storage", "sending", "carrying", "disposal", "outside"}
    assert "原則として外部での処理を禁止" in own["outside"] and "許可を得て" in inherited["outside"]
    # per heading, the most demanding level's text comes first
    first = {}
    for r in rules:
        first.setdefault(r.aspect, r.level)
    assert first["outside"] == c3 and first["terminals"] == c3 and first["copying"] == c2
    lower = asset_create(org_unit=city.units["sec_a"], name="会議資料", confidentiality=c2)
    assert {r.level for r in lower.effective_rules()} == {c2}
    assert asset_create(org_unit=city.units["sec_a"], name="公開", confidentiality=lv(city, "confidentiality", "1")
                        ).effective_rules() == []


# --- scheme switch --------------------------------------------------------------------------------

def full_mapping(world: Any) -> dict[int, int]:
    pairs = [("confidentiality", "3", "3B"), ("confidentiality", "2", "2"), ("confidentiality", "1", "1"),
             ("integrity", "2", "2"), ("integrity", "1", "1"), ("availability", "2", "2"), ("availability", "1", "1")]
    return {lv(world, axis, old).pk: lv(world, axis, new, "mic-r6").pk for axis, old, new in pairs}


@pytest.fixture
def levelled(city: Any) -> Any:
    city.secret = asset_create(org_unit=city.units["sec_a"], name="台帳",
                               confidentiality=lv(city, "confidentiality", "3"), integrity=lv(city, "integrity", "2"))
    city.plain = asset_create(org_unit=city.units["sec_b"], name="会議資料",
                              confidentiality=lv(city, "confidentiality", "2"))
    city.bare = asset_create(org_unit=city.units["sec_b"], name="未分類")
    city.r6 = ClassificationScheme.objects.get(municipality=city.units["city"], code="mic-r6")
    return city


def test_switch_plan_lists_every_changing_asset(levelled):
    plan = scheme_switch_plan(target=levelled.r6, mapping=full_mapping(levelled))
    assert plan.ok and plan.source.code == "mic-r5"
    changed = {c.asset.pk: c.changes for c in plan.changes}
    assert set(changed) == {levelled.secret.pk, levelled.plain.pk}  # the unclassified asset does not change
    old, new = changed[levelled.secret.pk]["confidentiality"]
    assert (old.code, new.code) == ("3", "3B")
    assert set(changed[levelled.secret.pk]) == {"confidentiality", "integrity"}
    # a preview writes nothing
    assert InformationAsset.objects.get(pk=levelled.secret.pk).confidentiality.code == "3"


def test_switch_plan_rejects_bad_mappings(levelled):
    mapping = full_mapping(levelled)
    cross_axis = {**mapping, lv(levelled, "confidentiality", "2").pk: lv(levelled, "integrity", "2", "mic-r6").pk}
    with pytest.raises(ValidationError):
        scheme_switch_plan(target=levelled.r6, mapping=cross_axis)
    same_scheme = {**mapping, lv(levelled, "confidentiality", "2").pk: lv(levelled, "confidentiality", "1").pk}
    with pytest.raises(ValidationError):
        scheme_switch_plan(target=levelled.r6, mapping=same_scheme)
    active = ClassificationScheme.objects.get(municipality=levelled.units["city"], code="mic-r5")
    with pytest.raises(ValidationError):
        scheme_switch_plan(target=active, mapping={})


def test_switch_refuses_unmapped_levels_in_use(levelled):
    mapping = full_mapping(levelled)
    del mapping[lv(levelled, "confidentiality", "3").pk]
    del mapping[lv(levelled, "availability", "2").pk]  # not used by any asset: no need to map it
    plan = scheme_switch_plan(target=levelled.r6, mapping=mapping)
    assert not plan.ok and [x.code for x in plan.unmapped] == ["3"]
    with pytest.raises(ValidationError):
        scheme_switch_apply(target=levelled.r6, mapping=mapping, actor=levelled.user("ciso"))
    levelled.r6.refresh_from_db()
    assert not levelled.r6.is_active
    assert InformationAsset.objects.get(pk=levelled.secret.pk).confidentiality.code == "3"


def test_switch_apply_relevels_activates_and_records_one_approval(levelled):
    before = AuditEntry.objects.filter(action=AuditAction.EVENT, event=AuditEvent.APPROVAL).count()
    plan = scheme_switch_apply(target=levelled.r6, mapping=full_mapping(levelled), actor=levelled.user("ciso"))
    assert len(plan.changes) == 2
    secret = InformationAsset.objects.get(pk=levelled.secret.pk)
    assert (secret.confidentiality.code, secret.confidentiality.scheme.code) == ("3B", "mic-r6")
    assert secret.integrity.scheme.code == "mic-r6"
    assert InformationAsset.objects.get(pk=levelled.plain.pk).confidentiality.label == "自治体機密性2"
    active = ClassificationScheme.objects.get(municipality=levelled.units["city"], is_active=True)
    assert active.code == "mic-r6"
    approvals = AuditEntry.objects.filter(action=AuditAction.EVENT, event=AuditEvent.APPROVAL)
    assert approvals.count() == before + 1
    approval = approvals.order_by("-seq").first()
    assert approval.changes["assets_changed"] == 2 and approval.changes["to"] == "MIC 令和6年10月"
    # each re-levelled asset has its own change record
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE, object_type="assets.informationasset",
                                     object_id=str(levelled.secret.pk)).exists()
