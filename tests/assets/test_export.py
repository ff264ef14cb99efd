"""Export of the asset register: Japanese headers, formula neutralisation, scope, export → re-import round trip."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from mamoru.assets.exporter import assets_export
from mamoru.assets.generate import generate_assets
from mamoru.assets.importer import asset_import, headers
from mamoru.assets.models import InformationAsset
from mamoru.assets.services import asset_create, scheme_presets_load
from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditEntry

COMPARED = ["number", "name", "description", "kind", "org_unit_id", "manager_id", "system_name", "tier",
            "storage_location", "medium", "has_personal_info", "has_my_number", "confidentiality_id", "integrity_id",
            "availability_id", "retention", "disposal_method", "status", "disposed_on", "disposal_record",
            "last_inventory_on", "tags"]


@pytest.fixture
def register(world: Any) -> Any:
    scheme_presets_load(world.units["city"])
    generate_assets(municipality=world.units["city"], count=40, seed=7)
    return world


def snapshot() -> list[tuple[Any, ...]]:
    return list(InformationAsset.objects.order_by("number").values_list(*COMPARED))


def csv_bytes(qs: Any) -> bytes:
    return b"".join(assets_export(queryset=qs, fmt="csv"))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_reimport_gives_the_same_data(register: Any, fmt: str) -> None:
    qs = InformationAsset.objects.all()
    before = snapshot()
    data = csv_bytes(qs) if fmt == "csv" else assets_export(queryset=qs, fmt="xlsx")
    assert isinstance(data, bytes)
    result = asset_import(data=data, filename=f"register.{fmt}", user=register.user("ciso"), dry_run=False)
    assert result.ok, result.problems[:5]
    assert (result.created, result.updated) == (0, 40) and not result.warnings
    assert snapshot() == before


def test_csv_has_bom_and_japanese_headers(register: Any) -> None:
    data = csv_bytes(InformationAsset.objects.all())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == headers() and len(rows) == 41
    assert rows[0][:2] == ["登録番号", "名称"]


def test_export_neutralises_formulas(register: Any) -> None:
    asset_create(org_unit=register.units["sec_a"], name="=HYPERLINK(\"http://evil\")", description="+1+2",
                 tags="@SUM(A1)", system_name="-cmd")
    qs = InformationAsset.objects.filter(name__startswith="=")
    row = list(csv.reader(io.StringIO(csv_bytes(qs).decode("utf-8-sig"))))[1]
    assert row[1] == "'=HYPERLINK(\"http://evil\")" and row[2] == "'+1+2" and row[6] == "'-cmd"
    assert row[-1] == "'@SUM(A1)"
    ws = load_workbook(io.BytesIO(assets_export(queryset=qs, fmt="xlsx"))).active  # type: ignore[arg-type]
    assert ws["B2"].value == "'=HYPERLINK(\"http://evil\")" and ws["B2"].data_type == "s"


def test_command_exports_only_what_the_user_may_export(register: Any, tmp_path: Any) -> None:
    target = tmp_path / "mine.csv"
    call_command("assets", "export", str(target), "--user", "manager_a", stdout=io.StringIO())
    rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))[1:]
    in_sec_a = InformationAsset.objects.filter(org_unit=register.units["sec_a"]).count()
    assert 0 < len(rows) == in_sec_a < 40
    assert {r[4] for r in rows} == {"課A"}
    assert AuditEntry.objects.filter(event=AuditEvent.EXPORT).count() == 1

    target = tmp_path / "all.xlsx"
    call_command("assets", "export", str(target), "--user", "ciso", stdout=io.StringIO())
    assert len(list(load_workbook(target, read_only=True).active.iter_rows(values_only=True))) == 41


def test_xlsx_is_a_proper_workbook_for_openpyxl(register: Any) -> None:
    data = assets_export(queryset=InformationAsset.objects.all(), fmt="xlsx")
    ws = load_workbook(io.BytesIO(data)).active  # type: ignore[arg-type]
    assert [c.value for c in ws[1]] == headers() and ws["A1"].font.b
    assert ws.freeze_panes == "A2" and ws.max_row == 41
    column = headers().index("最終棚卸日") + 1
    assert ws.cell(row=2, column=column).is_date
