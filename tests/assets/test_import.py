"""Import of the asset register: messy files, dry-run problem lists, all-or-nothing commits, permissions."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from mamoru.assets.importer import asset_import, import_template_xlsx, parse_date
from mamoru.assets.models import InformationAsset
from mamoru.assets.services import scheme_presets_load
from mamoru.core.choices import AuditEvent
from mamoru.core.models import AuditEntry

HEADERS = ["登録番号", "名称", "種別", "所管課", "管理者", "区分", "個人情報", "特定個人情報", "機密性", "完全性",
           "可用性", "最終棚卸日", "備考"]


def world_setup(world: Any) -> None:
    # Made once per module, each test works in a savepoint of it (tests/conftest.py).
    scheme_presets_load(world.units["city"])


world_shared = True  # the tests without the world are pure functions or read only the schema

@pytest.fixture
def city(world: Any) -> Any:
    return world


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


MESSY = [
    # row 2: fine — full-width digits and spaces, 和暦, ○/×
    ["", "住民基本台帳　データ", "情報", "課Ａ", "manager_a さん", "マイナンバー利用事務系", "○", "○", "３", "2", "2",
     "令和６年４月１日", "メモ"],
    # row 3: a bad date
    ["", "会議資料", "情報（電子・紙）", "sec-a", "", "LGWAN接続系", "×", "×", "2", "1", "1", "令和6年13月1日", ""],
    # row 4: an unknown section
    ["", "予算資料", "情報", "存在しない課", "", "LGWAN接続系", "", "", "2", "1", "1", "2024/4/1", ""],
    # row 5: a level not in the active scheme (3A is 令和6 only; 令和5 is active)
    ["", "設計書", "システム関連文書", "課A", "", "LGWAN接続系", "なし", "なし", "3A", "2", "1", "R6.4.1", ""],
    # row 6: My Number information, Excel date cell, western date
    ["", "児童手当受給者一覧", "情報", "課A", "", "マイナンバー利用事務系", "有", "有", "機密性3", "2", "1",
     dt.datetime(2024, 4, 1), ""],
]


def test_dry_run_lists_every_problem_and_writes_nothing(city: Any) -> None:
    user = city.user("manager_a")
    result = asset_import(data=xlsx(MESSY), filename="messy.xlsx", user=user, dry_run=True)
    got = [(p.row, p.column, p.value) for p in result.problems]
    assert got == [(3, "最終棚卸日", "令和6年13月1日"), (4, "所管課", "存在しない課"), (5, "機密性", "3A")]
    reasons = [p.reason for p in result.problems]
    assert "存在しない日付" in reasons[0]
    assert "課室はありません" in reasons[1]
    assert "MIC 令和5年以前" in reasons[2] and "3, 2, 1" in reasons[2]
    assert [(w.row, w.column) for w in result.warnings] == [(1, "備考")]  # unknown header, reported once
    assert not result.committed
    assert InformationAsset.objects.count() == 0


def test_fixed_file_imports_then_reimport_updates_by_number(city: Any) -> None:
    user = city.user("manager_a")
    fixed = [r[:] for r in MESSY]
    fixed[1][11] = "令和6年12月1日"
    fixed[2][3] = "sec-a"
    fixed[3][8] = "3"
    result = asset_import(data=xlsx(fixed), filename="fixed.xlsx", user=user, dry_run=False)
    assert result.ok and result.committed, result.problems
    assert (result.created, result.updated) == (5, 0)
    first = InformationAsset.objects.get(name="住民基本台帳 データ")
    assert first.number == "A-000001"
    assert first.org_unit == city.units["sec_a"] and first.manager == city.people["manager_a"]
    assert first.tier == "mynumber" and first.has_my_number and first.has_personal_info
    assert first.confidentiality.code == "3" and first.last_inventory_on == dt.date(2024, 4, 1)
    assert "住民基本台帳" in first.search_text
    assert InformationAsset.objects.get(name="会議資料").last_inventory_on == dt.date(2024, 12, 1)
    assert InformationAsset.objects.get(name="設計書").last_inventory_on == dt.date(2024, 4, 1)
    event = AuditEntry.objects.get(event=AuditEvent.IMPORT)
    assert event.changes["created"] == 5 and event.changes["filename"] == "fixed.xlsx"
    assert len(event.changes["sha256"]) == 64

    again = xlsx([["Ａ－０００００１", "住民基本台帳データ（改）", "", "課A", "", "", "○", "○", "3", "2", "1", "", ""]])
    result = asset_import(data=again, filename="again.xlsx", user=user, dry_run=False)
    assert result.ok and (result.created, result.updated) == (0, 1), result.problems
    first.refresh_from_db()
    assert first.name == "住民基本台帳データ（改）" and first.availability.code == "1"
    assert first.tier == "mynumber"  # blank keeps the current value
    assert InformationAsset.objects.count() == 5


def test_any_problem_means_nothing_is_written(city: Any) -> None:
    result = asset_import(data=xlsx(MESSY), filename="messy.xlsx", user=city.user("manager_a"), dry_run=False)
    assert not result.ok and not result.committed
    assert InformationAsset.objects.count() == 0
    assert not AuditEntry.objects.filter(event=AuditEvent.IMPORT).exists()


def test_model_validation_errors_are_listed_per_field(city: Any) -> None:
    headers = ["名称", "所管課", "状態"]
    result = asset_import(data=xlsx([["廃棄した端末", "課A", "廃棄済"], ["x" * 201, "課A", ""]], headers),
                          filename="v.xlsx", user=city.user("manager_a"), dry_run=True)
    assert [(p.row, p.column) for p in result.problems] == [(2, "廃棄日"), (3, "名称")]


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig", "utf-8"])
def test_csv_in_cp932_and_utf8_with_or_without_bom(city: Any, encoding: str) -> None:
    text = ("名称,所管課,区分,機密性,最終棚卸日,個人情報\r\n"
            "窓口申請書（紙）,課Ａ,独立系,２,平成31年4月30日,はい\r\n"
            "広報紙原稿,sec-a,インターネット接続系,1,元年5月1日,\r\n")
    text = text.replace("元年", "令和元年")
    result = asset_import(data=text.encode(encoding), filename="list.csv", user=city.user("manager_a"),
                          dry_run=False)
    assert result.ok and result.created == 2, result.problems
    paper = InformationAsset.objects.get(name="窓口申請書（紙）")
    assert paper.last_inventory_on == dt.date(2019, 4, 30) and paper.has_personal_info
    assert paper.tier == "standalone" and paper.confidentiality.code == "2"
    assert InformationAsset.objects.get(name="広報紙原稿").last_inventory_on == dt.date(2019, 5, 1)


def test_english_headers_are_accepted(city: Any) -> None:
    data = xlsx([["Shared drive", "sec-a", "lgwan", "2"]], ["Name", "Section", "Tier", "Confidentiality"])
    result = asset_import(data=data, filename="en.xlsx", user=city.user("manager_a"), dry_run=False)
    assert result.ok and result.created == 1, result.problems


def test_missing_required_columns_give_one_clear_error(city: Any) -> None:
    result = asset_import(data=xlsx([["x"]], ["名称", "説明"]), filename="a.xlsx", user=city.user("manager_a"),
                          dry_run=True)
    assert result.error_kind == "structure" and "所管課" in result.error and not result.problems


@pytest.mark.parametrize(("text", "expected"), [
    ("令和6年4月1日", dt.date(2024, 4, 1)), ("R6.4.1", dt.date(2024, 4, 1)), ("R06/04/01", dt.date(2024, 4, 1)),
    ("平成31年4月30日", dt.date(2019, 4, 30)), ("令和元年5月1日", dt.date(2019, 5, 1)),
    ("２０２４－０４－０１", dt.date(2024, 4, 1)), ("2024/4/1", dt.date(2024, 4, 1)), ("20240401", dt.date(2024, 4, 1)),
    ("2024-04-01 00:00:00", dt.date(2024, 4, 1)), (45383, dt.date(2024, 4, 1)), ("", None),
])
def test_dates(text: Any, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["平成32年1月1日", "2024/2/30", "来年", "令和元年4月1日"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_section_manager_cannot_import_into_another_section(city: Any) -> None:
    result = asset_import(data=xlsx([["", "他課の資料", "情報", "課B"] + [""] * 9]), filename="b.xlsx",
                          user=city.user("manager_a"), dry_run=True)
    assert [(p.row, p.column) for p in result.problems] == [(2, "所管課")]
    assert "追加する権限がありません" in result.problems[0].reason


def test_staff_cannot_import_nor_change_other_sections_assets(city: Any) -> None:
    asset_import(data=xlsx([["", "課Bの台帳", "情報", "課B"] + [""] * 9]), filename="b.xlsx",
                 user=city.user("ciso"), dry_run=False)
    number = InformationAsset.objects.get().number
    staff = city.user("staff_b")
    result = asset_import(data=xlsx([[number, "書き換え", "情報", "課B"] + [""] * 9,
                                     ["", "新規", "情報", "課B"] + [""] * 9]),
                          filename="s.xlsx", user=staff, dry_run=False)
    assert [(p.row, p.column) for p in result.problems] == [(2, "登録番号"), (3, "所管課")]
    assert InformationAsset.objects.get().name == "課Bの台帳"


def test_other_municipality_sections_are_unknown(city: Any) -> None:
    result = asset_import(data=xlsx([["", "x", "情報", "他市 課"] + [""] * 9]), filename="o.xlsx",
                          user=city.user("ciso"), dry_run=True)
    assert "課室はありません" in result.problems[0].reason


def test_duplicate_numbers_in_file(city: Any) -> None:
    rows = [["A-000009", "一", "", "課A"] + [""] * 9, ["A-000009", "二", "", "課A"] + [""] * 9]
    result = asset_import(data=xlsx(rows), filename="d.xlsx", user=city.user("manager_a"), dry_run=True)
    assert [(p.row, p.column) for p in result.problems] == [(3, "登録番号")]


def test_oversized_file_is_refused(city: Any, settings: Any) -> None:
    settings.MAMORU_IMPORT_MAX_BYTES = 1000
    result = asset_import(data=b"x" * 1001, filename="big.csv", user=city.user("manager_a"), dry_run=True)
    assert result.error_kind == "too_large" and "大きすぎます" in result.error


def test_command_refuses_oversized_file_with_exit_2(city: Any, settings: Any, tmp_path: Any) -> None:
    settings.MAMORU_IMPORT_MAX_BYTES = 1000
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 5000)
    code, _out, err = run("import", str(big), "--user", "manager_a")
    assert code == 2 and "大きすぎます" in err


def test_too_many_rows_are_refused(city: Any, settings: Any) -> None:
    settings.MAMORU_IMPORT_MAX_ROWS = 3
    data = ("名称,所管課\n" + "a,課A\n" * 4).encode()
    result = asset_import(data=data, filename="many.csv", user=city.user("manager_a"), dry_run=True)
    assert result.error_kind == "too_large" and "3行を超えています" in result.error


def test_template_reimports_after_section_is_filled(city: Any) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(import_template_xlsx()))
    ws = wb.active
    assert ws["A1"].value == "登録番号" and ws["B2"].value
    ws["E2"] = "課A"
    ws["F2"] = "manager_a さん"
    out = io.BytesIO()
    wb.save(out)
    result = asset_import(data=out.getvalue(), filename="t.xlsx", user=city.user("manager_a"), dry_run=True)
    assert result.ok, result.problems


# --- the command ---------------------------------------------------------------------------------------------

def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("assets", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_command_import_exit_codes(city: Any, tmp_path: Any) -> None:
    messy = tmp_path / "messy.xlsx"
    messy.write_bytes(xlsx(MESSY))
    code, out, err = run("import", str(messy), "--dry-run", "--user", "manager_a")
    assert code == 1
    assert "3行目、列「最終棚卸日」、値「令和6年13月1日」" in out
    assert "何も登録していません" in err

    good = tmp_path / "good.csv"
    good.write_bytes("名称,所管課\n台帳,課A\n".encode("cp932"))
    assert run("import", str(good), "--dry-run", "--user", "manager_a")[0] == 0
    assert InformationAsset.objects.count() == 0
    code, out, _err = run("import", str(good), "--user", "manager_a")
    assert code == 0 and "新規1件" in out and InformationAsset.objects.count() == 1


def test_command_unreadable_file_and_unknown_user_exit_2(city: Any, tmp_path: Any) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(128, 256)) * 4)
    code, _out, err = run("import", str(junk), "--user", "manager_a")
    assert code == 2 and "読み取れません" in err
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert run("import", str(broken), "--user", "manager_a")[0] == 2
    assert run("import", str(tmp_path / "missing.xlsx"), "--user", "manager_a")[0] == 2
    assert run("import", str(junk), "--user", "nobody")[0] == 2


def test_command_template_and_generate(city: Any, tmp_path: Any) -> None:
    target = tmp_path / "template.xlsx"
    assert run("template", str(target))[0] == 0 and target.stat().st_size > 0
    code, _out, _err = run("generate", "--municipality", "test-city", "--count", "30", "--seed", "3")
    assert code == 0 and InformationAsset.objects.count() == 30
    assert run("generate", "--municipality", "nowhere", "--count", "1")[0] == 2


def test_workbook_with_a_dtd_is_refused(city: Any) -> None:
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx([["台帳", "課A"] + [""] * 11])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = data[:end] + b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data[end:]
            target.writestr(item, data)
    result = asset_import(data=out.getvalue(), filename="dtd.xlsx", user=city.user("manager_a"), dry_run=True)
    assert result.error_kind == "unreadable" and not result.rows


def test_sparse_rows_keep_their_spreadsheet_numbers(city: Any) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "所管課", "最終棚卸日"])
    ws["A5"], ws["B5"], ws["C5"] = "台帳", "課A", "不明"
    ws["A6"], ws["B6"], ws["C6"] = "台帳2", "課A", dt.date(2024, 4, 1)
    out = io.BytesIO()
    wb.save(out)
    result = asset_import(data=out.getvalue(), filename="s.xlsx", user=city.user("manager_a"), dry_run=True)
    assert [(p.row, p.column, p.value) for p in result.problems] == [(5, "最終棚卸日", "不明")]


def test_manager_is_found_in_the_section_first_then_in_the_municipality(city: Any) -> None:
    rows = [
        ["", "課Aの台帳", "情報", "課A", "manager_a さん", "LGWAN接続系", "", "", "2", "1", "1", "", ""],
        # a system's manager may work in another section of the same city
        ["", "課Aのシステム文書", "システム関連文書", "課A", "staff_b さん", "LGWAN接続系", "", "", "2", "1", "1",
         "", ""],
        # but never in another municipality
        ["", "他市の人", "情報", "課A", "other_ciso さん", "LGWAN接続系", "", "", "2", "1", "1", "", ""],
    ]
    result = asset_import(data=xlsx(rows), filename="m.xlsx", user=city.user("ciso"), dry_run=True)
    assert [(p.row, p.column, p.value) for p in result.problems] == [(4, "管理者", "other_ciso さん")]
    assert "市区町村" in result.problems[0].reason or "自治体" in result.problems[0].reason
    result = asset_import(data=xlsx(rows[:2]), filename="m.xlsx", user=city.user("ciso"), dry_run=False)
    assert result.committed
    managers = dict(InformationAsset.objects.values_list("name", "manager"))
    assert managers == {"課Aの台帳": city.people["manager_a"].pk, "課Aのシステム文書": city.people["staff_b"].pk}
