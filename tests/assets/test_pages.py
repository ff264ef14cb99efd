"""Register pages: scope, search, filters, sort, bulk edit, create/edit, dispose, label, schemes, export."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mamoru.assets import services
from mamoru.assets.models import ClassificationLevel, HandlingRule, InformationAsset
from mamoru.core.choices import AuditEvent
from mamoru.core.context import acting_as
from mamoru.core.models import AuditEntry

pytestmark = pytest.mark.django_db
LIST = "/assets/"


def level(world: Any, axis: str, code: str, scheme: str = "mic-r5") -> ClassificationLevel:
    return ClassificationLevel.objects.get(scheme__municipality=world.units["city"], scheme__code=scheme,
                                           axis=axis, code=code)


def world_setup(world: Any) -> None:
    # Made once per module, each test works in a savepoint of it (tests/conftest.py).
    with acting_as(label="test"):
        services.scheme_presets_load(world.units["city"])
        services.scheme_presets_load(world.units["other_city"])
        c3, c2 = level(world, "confidentiality", "3"), level(world, "confidentiality", "2")
        world.a_net = services.asset_create(org_unit=world.units["sec_a"], name="ネットワーク構成図",
                                            kind="system_document", confidentiality=c3,
                                            integrity=level(world, "integrity", "2"))
        world.a_abc = services.asset_create(org_unit=world.units["sec_a"], name="ＡＢＣ台帳", confidentiality=c2,
                                            has_personal_info=True, tier="internet")
        world.a2 = services.asset_create(org_unit=world.units["sec_a2"], name="課A2の名簿", confidentiality=c2,
                                         has_my_number=True, tier="mynumber")
        world.b = services.asset_create(org_unit=world.units["sec_b"], name="課Bの文書", confidentiality=c2)
        other_c = ClassificationLevel.objects.get(scheme__municipality=world.units["other_city"],
                                                  scheme__is_active=True, axis="confidentiality", code="2")
        world.other = services.asset_create(org_unit=world.units["other_sec"], name="他市の資産",
                                            confidentiality=other_c)


@pytest.fixture
def register(world: Any) -> Any:
    return world


def listed(client: Any, query: str = "") -> set[str]:
    response = client.get(LIST + query)
    assert response.status_code == 200
    return {a.name for a in response.context["page"]}


OURS = {"ネットワーク構成図", "ＡＢＣ台帳", "課A2の名簿", "課Bの文書"}


@pytest.mark.parametrize(("persona", "expected"), [
    ("staff_b", {"課Bの文書"}),
    ("staff_a", {"ネットワーク構成図", "ＡＢＣ台帳"}),
    ("manager_a", {"ネットワーク構成図", "ＡＢＣ台帳"}),
    ("dept_head_a", {"ネットワーク構成図", "ＡＢＣ台帳", "課A2の名簿"}),
    ("ciso", OURS),
    ("auditor", OURS),
    ("other_ciso", {"他市の資産"}),
])
def test_list_is_scoped(register, login_as, persona, expected):
    assert listed(login_as(persona)) == expected


def test_detail_out_of_scope_is_404(register, login_as):
    staff_b = login_as("staff_b")
    assert staff_b.get(reverse("assets:asset_detail", args=[register.a_net.pk])).status_code == 404
    assert staff_b.get(reverse("assets:asset_detail", args=[register.b.pk])).status_code == 200
    assert login_as("other_ciso").get(reverse("assets:asset_detail", args=[register.b.pk])).status_code == 404


@pytest.mark.parametrize(("q", "name"), [("ねっとわーく", "ネットワーク構成図"), ("ﾈｯﾄﾜｰｸ", "ネットワーク構成図"),
                                         ("abc", "ＡＢＣ台帳"), ("ABC", "ＡＢＣ台帳")])
def test_search_tolerates_width_and_kana(register, login_as, q, name):
    assert listed(login_as("ciso"), f"?q={q}") == {name}


def test_filters(register, login_as):
    ciso = login_as("ciso")
    assert listed(ciso, "?tier=internet") == {"ＡＢＣ台帳"}
    assert listed(ciso, "?has_my_number=true") == {"課A2の名簿"}
    dept_a = register.units["dept_a"].pk
    assert listed(ciso, f"?org_unit={dept_a}") == {"ネットワーク構成図", "ＡＢＣ台帳", "課A2の名簿"}
    assert listed(ciso, f"?confidentiality={level(register, 'confidentiality', '3').pk}") == {"ネットワーク構成図"}
    assert listed(ciso, "?kind=system_document") == {"ネットワーク構成図"}


def test_sort_headers_toggle(register, login_as):
    ciso = login_as("ciso")
    response = ciso.get(LIST + "?sort=-number&tier=lgwan")
    numbers = [a.number for a in response.context["page"]]
    assert numbers == sorted(numbers, reverse=True)
    html = response.content.decode()
    assert "sort=number" in html and "tier=lgwan" in html  # toggles back, keeps the filter
    assert 'aria-sort="descending"' in html


def test_list_shows_columns_and_controls(register, login_as):
    html = login_as("manager_a").get(LIST).content.decode()
    assert "機密性3" in html and "完全性2" in html and "個人情報" in html
    assert reverse("assets:asset_create") in html
    assert "format=xlsx" in html and "format=csv" in html
    assert 'name="ids"' in html
    html = login_as("staff_a").get(LIST).content.decode()
    assert reverse("assets:asset_create") not in html and 'name="ids"' not in html and "format=csv" not in html


def test_list_query_count_does_not_grow_with_rows(register, login_as):
    client = login_as("ciso")

    def count() -> int:
        cache.clear()  # the uncached page: its row count is counted
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        with acting_as(label="test"):
            for i in range(n):
                services.asset_create(org_unit=register.units["sec_b"], name=f"追加{i}",
                                      manager=register.people["staff_b"],
                                      confidentiality=level(register, "confidentiality", "1"),
                                      integrity=level(register, "integrity", "1"),
                                      availability=level(register, "availability", "1"))

    add(5)  # rows with a manager: the page then reads the managers' names (one query)
    client.get(LIST)  # the first page of a session saves the session (IdleSessionMiddleware); later ones do not
    few = count()
    add(80)  # more than a page
    assert count() == few <= 12
    assert InformationAsset.objects.count() > 85


def test_bulk_edit_changes_selected_assets(register, login_as):
    client = login_as("manager_a")
    response = client.post(reverse("assets:asset_bulk_edit"), {
        "ids": [register.a_net.pk, register.a_abc.pk], "tier": "standalone",
        "manager": register.people["staff_a"].pk, "next": "tier=internet"})
    assert response.status_code == 302 and response["Location"].endswith("?tier=internet")
    for asset in (register.a_net, register.a_abc):
        asset.refresh_from_db()
        assert asset.tier == "standalone" and asset.manager == register.people["staff_a"]


def test_bulk_edit_panel_loads_its_fields_on_demand(register, login_as):
    page = login_as("manager_a").get(LIST + "?tier=lgwan").content.decode()
    assert 'hx-get="/assets/bulk-edit/form/?next=tier%3Dlgwan"' in page and "選択した行の一括変更" in page
    assert '<select name="manager"' not in page  # the people list is not part of the register page itself
    fragment = login_as("manager_a").get(reverse("assets:asset_bulk_form") + "?next=tier%3Dlgwan")
    html = fragment.content.decode()
    assert '<form method="post" action="/assets/bulk-edit/" id="bulk">' in html
    assert 'name="next" value="tier=lgwan"' in html
    assert register.people["staff_a"].full_name in html and register.people["other_ciso"].full_name not in html
    staff_page = login_as("staff_a").get(LIST).content.decode()
    assert "bulk-edit/form" not in staff_page and 'type="checkbox"' not in staff_page
    assert login_as("staff_a").get(reverse("assets:asset_bulk_form")).status_code == 404


def test_bulk_edit_is_all_or_nothing(register, login_as):
    client = login_as("manager_a")
    response = client.post(reverse("assets:asset_bulk_edit"),
                           {"ids": [register.a_net.pk, register.b.pk], "tier": "standalone"}, follow=True)
    notes = [str(m) for m in response.context["messages"]]
    assert len(notes) == 1 and "1" in notes[0]  # "Nothing was changed: 1 of the selected assets …"
    register.a_net.refresh_from_db()
    register.b.refresh_from_db()
    assert register.a_net.tier != "standalone" and register.b.tier != "standalone"


def test_bulk_edit_needs_a_change(register, login_as):
    client = login_as("manager_a")
    client.post(reverse("assets:asset_bulk_edit"), {"ids": [register.a_net.pk]})
    register.a_net.refresh_from_db()
    assert register.a_net.tier == "lgwan"
    assert login_as("staff_a").post(reverse("assets:asset_bulk_edit"),
                                    {"ids": [register.a_net.pk], "tier": "standalone"}).status_code == 404


def test_create_in_own_section_with_active_levels(register, login_as):
    client = login_as("manager_a")
    response = client.get(reverse("assets:asset_create"))
    form = response.context["form"]
    assert set(form.fields["org_unit"].queryset) == {register.units["sec_a"]}
    assert {lv.scheme.code for lv in form.fields["confidentiality"].queryset} == {"mic-r5"}
    assert register.people["other_ciso"] not in set(form.fields["manager"].queryset)
    response = client.post(reverse("assets:asset_create"), {
        "name": "新しい資産", "kind": "information", "org_unit": register.units["sec_a"].pk, "tier": "lgwan",
        "confidentiality": level(register, "confidentiality", "2").pk})
    assert response.status_code == 302
    asset = InformationAsset.objects.get(name="新しい資産")
    assert asset.number.startswith("A-") and response["Location"] == asset.get_absolute_url()


def test_create_validation_is_shown_in_the_form(register, login_as):
    client = login_as("manager_a")
    response = client.post(reverse("assets:asset_create"), {
        "name": "", "kind": "information", "org_unit": register.units["sec_b"].pk, "tier": "lgwan",
        "confidentiality": level(register, "integrity", "2").pk})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"name", "org_unit", "confidentiality"} <= set(errors)
    assert 'role="alert"' in response.content.decode()
    # a level of the inactive scheme is not a choice
    response = client.post(reverse("assets:asset_create"), {
        "name": "x", "kind": "information", "org_unit": register.units["sec_a"].pk, "tier": "lgwan",
        "confidentiality": level(register, "confidentiality", "3A", "mic-r6").pk})
    assert "confidentiality" in response.context["form"].errors


def test_edit_records_history(register, login_as):
    client = login_as("manager_a")
    url = reverse("assets:asset_edit", args=[register.a_net.pk])
    data = {"name": "ネットワーク構成図（改）", "kind": "system_document", "org_unit": register.units["sec_a"].pk,
            "tier": "lgwan", "confidentiality": level(register, "confidentiality", "3").pk}
    assert client.post(url, data).status_code == 302
    register.a_net.refresh_from_db()
    assert register.a_net.name == "ネットワーク構成図（改）"
    response = login_as("ciso").get(register.a_net.get_absolute_url())
    assert response.context["history"]
    assert "ネットワーク構成図（改）" in response.content.decode()
    assert login_as("manager_a").get(reverse("assets:asset_edit", args=[register.b.pk])).status_code == 404


def test_detail_shows_fields_rules_and_links(register, login_as):
    response = login_as("manager_a").get(register.a_net.get_absolute_url())
    html = response.content.decode()
    groups = {g.aspect for g in response.context["rule_groups"]}
    assert {"copying", "terminals", "storage"} <= groups
    assert "支給以外の端末での作業を禁止する。" in html
    assert reverse("assets:asset_edit", args=[register.a_net.pk]) in html
    assert reverse("assets:asset_dispose", args=[register.a_net.pk]) in html
    html = login_as("staff_a").get(register.a_net.get_absolute_url()).content.decode()
    assert reverse("assets:asset_edit", args=[register.a_net.pk]) not in html


def test_dispose(register, login_as):
    client = login_as("manager_a")
    url = reverse("assets:asset_dispose", args=[register.a_abc.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"on": "", "record": ""})
    assert response.status_code == 200 and {"on", "record"} <= set(response.context["form"].errors)
    response = client.post(url, {"on": "2026-03-31", "method": "溶解処理", "record": "証明書 No.123"})
    assert response.status_code == 302
    register.a_abc.refresh_from_db()
    assert register.a_abc.status == "disposed" and register.a_abc.disposed_on == dt.date(2026, 3, 31)
    assert register.a_abc.disposal_method == "溶解処理"
    assert login_as("staff_a").post(url, {"on": "2026-03-31", "record": "x"}).status_code == 404


def test_label_page(register, login_as):
    response = login_as("staff_a").get(reverse("assets:asset_label", args=[register.a_net.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("分類の表示", register.a_net.number, "ネットワーク構成図", "機密性3", "完全性2",
                 "必要以上の複製及び配付を禁止する。"):
        assert text in html
    assert not re.search(r"<script>|style=", html)
    assert login_as("staff_b").get(reverse("assets:asset_label", args=[register.a_net.pk])).status_code == 404


def test_scheme_list_and_detail(register, login_as):
    response = login_as("staff_b").get(reverse("assets:scheme_list"))
    schemes = list(response.context["schemes"])
    assert {s.code for s in schemes} == {"mic-r5", "mic-r6"}
    assert reverse("assets:scheme_switch") not in response.content.decode()
    r6 = next(s for s in schemes if s.code == "mic-r6")
    response = login_as("staff_b").get(r6.get_absolute_url())
    html = response.content.decode()
    assert "自治体機密性3A" in html and "必要以上の複製及び配付を禁止する。" in html
    conf = next(t for t in response.context["tables"] if t.axis == "confidentiality")
    assert [r.level.code for r in conf.rows] == ["3A", "3B", "3C", "2", "1"]
    assert reverse("assets:handling_edit", args=[conf.rows[0].level.pk]) not in html
    assert reverse("assets:scheme_switch") in login_as("ciso").get(reverse("assets:scheme_list")).content.decode()


def test_handling_edit(register, login_as):
    lv = level(register, "confidentiality", "2")
    url = reverse("assets:handling_edit", args=[lv.pk])
    assert login_as("manager_a").get(url).status_code == 404
    client = login_as("chief")
    form = client.get(url).context["form"]
    assert form.fields["copying"].initial == "必要以上の複製及び配付を禁止する。"
    data = {aspect: field.initial for aspect, field in form.fields.items()}
    data.update({"copying": "複製禁止", "outside": ""})
    assert client.post(url, data).status_code == 302
    rules = {r.aspect: r.text for r in HandlingRule.objects.filter(level=lv)}
    assert rules["copying"] == "複製禁止" and "outside" not in rules


def test_export_is_restricted_and_audited(register, login_as):
    url = reverse("assets:asset_export")
    assert login_as("staff_a").get(url + "?format=csv").status_code == 404
    response = login_as("manager_a").get(url + "?format=csv&tier=internet")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "ＡＢＣ台帳" in body and "ネットワーク構成図" not in body and "課Bの文書" not in body
    assert AuditEntry.objects.filter(event=AuditEvent.EXPORT, object_type="assets.informationasset").exists()
    response = login_as("ciso").get(url + "?format=xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert login_as("ciso").get(url + "?format=pdf").status_code == 404
