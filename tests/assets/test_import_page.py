"""Importing the register in the browser: check first, then import the corrected file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mamoru.assets.models import InformationAsset
from mamoru.assets.services import scheme_presets_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(world):
    scheme_presets_load(world.units["city"])
    return world


def upload(text: str, name: str = "台帳.csv", encoding: str = "cp932") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def test_check_lists_problems_by_row_and_column_and_writes_nothing(city, login_as):
    client = login_as("manager_a")
    bad = "名称,所管課,機密性,最終棚卸日\n住民台帳,課A,３,令和6年4月1日\n悪い行,課A,9,R6.13.1\n"
    response = client.post("/assets/import/", {"file": upload(bad), "mode": "import"})
    assert response.status_code == 400
    problems = response.context["result"].problems
    assert [(p.row, p.column) for p in problems] == [(3, "機密性"), (3, "最終棚卸日")]
    body = response.content.decode()
    assert "最終棚卸日" in body and "R6.13.1" in body
    assert InformationAsset.objects.count() == 0


def test_corrected_file_is_checked_then_imported(city, login_as):
    client = login_as("manager_a")
    good = "名称,所管課,機密性,最終棚卸日\n住民台帳,課A,３,令和6年4月1日\n会議資料,課A,2,R6.4.2\n"
    checked = client.post("/assets/import/", {"file": upload(good), "mode": "check"})
    assert checked.status_code == 200 and checked.context["result"].ok
    assert InformationAsset.objects.count() == 0
    imported = client.post("/assets/import/", {"file": upload(good), "mode": "import"})
    assert imported.status_code == 302 and imported["Location"] == "/assets/"
    assert set(InformationAsset.objects.values_list("name", flat=True)) == {"住民台帳", "会議資料"}
    assert str(InformationAsset.objects.get(name="会議資料").last_inventory_on) == "2024-04-02"


def test_staff_cannot_open_the_import_page_and_template_downloads(city, login_as):
    assert login_as("staff_a").get("/assets/import/").status_code == 404
    response = login_as("manager_a").get("/assets/import/template.xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_yes_no_filters_offer_any_rather_than_unknown(city, login_as):
    body = login_as("manager_a").get("/assets/").content.decode()
    assert '<option value="unknown" selected>すべて</option>' in body
    assert "不明" not in body
