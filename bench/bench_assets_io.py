"""Asset register import/export benchmarks (issue 3, Speed): export of 100,000 rows (XLSX, CSV) and import of a
50,000-row XLSX (dry run and commit), each against openpyxl/csv handling the same rows of plain values without
Django, measured in the same run. Prints figures and ratios; asserts nothing.

    .venv/bin/python bench/bench_assets_io.py        (BENCH_ASSETS=… to change the 100,000)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import time

import _django  # noqa: F401  (data directory, database, django.setup())
from django.core.management import call_command

TOTAL = int(os.environ.get("BENCH_ASSETS", "100000"))
IMPORT_ROWS = TOTAL // 2
SECTIONS = 60


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def plain_rows(n: int) -> list[list[object]]:
    today = dt.date(2024, 4, 1)
    return [[f"A-{i:06d}", f"資産 {i}", "説明文", "情報（電子・紙）", f"課{i % SECTIONS}", "職員 一郎", "システム",
             "LGWAN接続系", "書庫", "紙", "○", "×", "機密性2", "完全性1", "可用性1", "5年", "裁断", "使用中", "", "",
             today, ""] for i in range(n)]


def baseline_xlsx_write(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("x")
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def baseline_csv_write(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def baseline_xlsx_read(data: bytes) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return n


def main() -> None:
    with open(os.devnull, "w") as sink:
        call_command("init", verbosity=0, stdout=sink)
    from django.contrib.auth import get_user_model

    from mamoru.assets.exporter import assets_export
    from mamoru.assets.generate import generate_assets
    from mamoru.assets.importer import asset_import
    from mamoru.assets.models import InformationAsset
    from mamoru.assets.services import scheme_presets_load
    from mamoru.core import services
    from mamoru.core.choices import UnitKind
    from mamoru.core.context import acting_as

    t_setup0 = time.perf_counter()
    with acting_as(label="bench"):
        city = services.municipality_create(name="ベンチ市", code="bench-city")
        depts = [services.orgunit_create(name=f"第{d + 1}部", code=f"d{d}", kind=UnitKind.DEPARTMENT, parent=city)
                 for d in range(6)]
        for s in range(SECTIONS):
            section = services.orgunit_create(name=f"第{s + 1}課", code=f"s{s}", kind=UnitKind.SECTION,
                                              parent=depts[s % 6])
            for p in range(3):
                services.person_create(full_name=f"職員{s}-{p}", org_unit=section, employee_number=f"{s:03d}{p}")
        ciso = services.person_create(full_name="CISO", org_unit=city, user=get_user_model().objects.create_user(
            username="bench-ciso", password=None))
        services.role_assign(person=ciso, role="ciso", org_unit=city)
        scheme_presets_load(city)
        t_gen, _ = timed(lambda: generate_assets(municipality=city, count=TOTAL, seed=1))
    user = ciso.user
    print(f"setup: 60 sections, {TOTAL:,} assets generated in {t_gen:.1f} s "
          f"(total setup {time.perf_counter() - t_setup0:.1f} s)")

    # Export.
    qs = InformationAsset.objects.restrict(user, "export")
    rows = plain_rows(TOTAL)
    t_base_x, _ = timed(lambda: baseline_xlsx_write(rows))
    t_x, xlsx_all = timed(lambda: assets_export(queryset=qs, fmt="xlsx"))
    print(f"export {TOTAL:,} rows to XLSX: {t_x:.2f} s ({len(xlsx_all) / 1e6:.1f} MB); "
          f"baseline openpyxl write_only of the same number of plain rows {t_base_x:.2f} s; "
          f"ratio {t_x / t_base_x:.2f}x")
    t_base_c, _ = timed(lambda: baseline_csv_write(rows))
    t_c, csv_all = timed(lambda: b"".join(assets_export(queryset=qs, fmt="csv")))  # type: ignore[arg-type]
    print(f"export {TOTAL:,} rows to CSV:  {t_c:.2f} s ({len(csv_all) / 1e6:.1f} MB); "
          f"baseline csv.writer of plain rows {t_base_c:.2f} s; ratio {t_c / t_base_c:.2f}x")

    # Import: a 50,000-row workbook of new assets (the export's rows without their numbers, as a city would send).
    half = InformationAsset.objects.filter(pk__in=list(qs.order_by("number").values_list("pk", flat=True)
                                                       [:IMPORT_ROWS]))
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(assets_export(queryset=half, fmt="xlsx")))  # type: ignore[arg-type]
    ws = wb.active
    for (cell,) in ws.iter_rows(min_row=2, max_col=1):
        cell.value = None
    out = io.BytesIO()
    wb.save(out)
    new_file = out.getvalue()
    update_file = assets_export(queryset=half, fmt="xlsx")
    t_read, n = timed(lambda: baseline_xlsx_read(new_file))
    print(f"baseline: openpyxl read_only reading the {n - 1:,}-row import file: {t_read:.2f} s "
          f"({len(new_file) / 1e6:.1f} MB)")
    with acting_as(user=user, label="bench"):
        t_dry, r = timed(lambda: asset_import(data=new_file, filename="new.xlsx", user=user, dry_run=True))
        assert r.ok, r.problems[:3] or r.error
        print(f"import {r.rows:,} rows XLSX, dry run: {t_dry:.2f} s; ratio {t_dry / t_read:.2f}x")
        t_new, r = timed(lambda: asset_import(data=new_file, filename="new.xlsx", user=user, dry_run=False))
        assert r.ok and r.committed, r.problems[:3] or r.error
        print(f"import {r.rows:,} rows XLSX, commit ({r.created:,} created): {t_new:.2f} s; "
              f"ratio {t_new / t_read:.2f}x")
        t_upd, r = timed(lambda: asset_import(data=update_file, filename="update.xlsx", user=user, dry_run=False))
        assert r.ok and r.committed, r.problems[:3] or r.error
        print(f"import {r.rows:,} rows XLSX, commit ({r.updated:,} updated by number): {t_upd:.2f} s; "
              f"ratio {t_upd / t_read:.2f}x")
    print(f"register now holds {InformationAsset.objects.count():,} assets")


if __name__ == "__main__":
    main()
