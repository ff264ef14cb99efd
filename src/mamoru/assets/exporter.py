"""Export of the asset register to XLSX or CSV with the import's Japanese headers (an export re-imports).

Every cell goes through :func:`mamoru.core.exports.csv_safe` (formula injection). Rows are read with
``values_list`` in chunks, never one query per asset, so 100,000 rows take seconds. The caller passes a queryset
already restricted to what the user may export and records the export in the audit trail.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from mamoru.assets.importer import COLUMNS, KIND_LABELS, STATUS_LABELS, TIER_LABELS, headers
from mamoru.core.exports import csv_safe

CHUNK = 5000

# field → the value path read with values_list
SOURCES = {
    "org_unit": "org_unit__name", "manager": "manager__full_name", "confidentiality": "confidentiality__label",
    "integrity": "integrity__label", "availability": "availability__label",
}
BOOL_TEXT = {True: "○", False: "×"}


def _paths() -> list[str]:
    return [SOURCES.get(f, f) for f, _ja, _a in COLUMNS]


def _rows(queryset: QuerySet, *, dates_as_text: bool) -> Iterator[list[Any]]:
    fields = [f for f, _ja, _a in COLUMNS]
    mapping = {"kind": KIND_LABELS, "tier": TIER_LABELS, "status": STATUS_LABELS}
    qs = queryset.order_by("number").values_list(*_paths())
    for values in qs.iterator(chunk_size=CHUNK):
        row = []
        for f, value in zip(fields, values, strict=True):
            if f in mapping:
                value = mapping[f].get(value, value)
            elif isinstance(value, bool):
                value = BOOL_TEXT[value]
            elif isinstance(value, dt.date):
                value = value.isoformat() if dates_as_text else value
            elif value is None:
                value = ""
            row.append(csv_safe(value))
        yield row


def iter_csv(queryset: QuerySet) -> Iterator[bytes]:
    """CSV (UTF-8 with BOM, so Excel opens it correctly) in chunks, for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers())
    yield codecs.BOM_UTF8 + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for i, row in enumerate(_rows(queryset, dates_as_text=True), start=1):
        writer.writerow(row)
        if i % 2000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_bytes(queryset: QuerySet) -> bytes:
    """The register as an XLSX workbook (one sheet, bold header row, frozen header, date cells).

    Written with the standard library: openpyxl's write-only mode without lxml (not a dependency here) took
    83 s for 100,000 rows on the benchmark machine, against the 20 s target; this writer streams the same
    SpreadsheetML (inline strings, date serials) in a few seconds. Excel, LibreOffice and openpyxl read it.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in _XLSX_STATIC.items():
            zf.writestr(name, text)
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(_SHEET_HEAD)
            buffer = [_row_xml(1, headers(), style=2)]
            for n, row in enumerate(_rows(queryset, dates_as_text=False), start=2):
                buffer.append(_row_xml(n, row))
                if len(buffer) >= 1000:
                    sheet.write("".join(buffer).encode())
                    buffer = []
            sheet.write("".join(buffer).encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


_COLUMN_LETTERS = [chr(65 + i) if i < 26 else chr(64 + i // 26) + chr(65 + i % 26) for i in range(len(COLUMNS))]
_XML_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                             **{c: None for c in range(32) if c not in (9, 10, 13)}})
_DAY_ZERO = dt.date(1899, 12, 30)


def _row_xml(n: int, values: list[Any], style: int = 0) -> str:
    cells = []
    s = f' s="{style}"' if style else ""
    for letter, value in zip(_COLUMN_LETTERS, values, strict=False):
        ref = f"{letter}{n}"
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            cells.append(f'<c r="{ref}" t="b"{s}><v>{int(value)}</v></c>')
        elif isinstance(value, int | float):
            cells.append(f'<c r="{ref}"{s}><v>{value}</v></c>')
        elif isinstance(value, dt.date):
            cells.append(f'<c r="{ref}" s="1"><v>{(value - _DAY_ZERO).days}</v></c>')
        else:
            text = str(value).translate(_XML_ESCAPE)
            cells.append(f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{text}</t></is></c>')
    return f'<row r="{n}">{"".join(cells)}</row>'


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_HEAD = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
               '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
               'state="frozen"/></sheetView></sheetViews><sheetData>').encode()
_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        '</Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheets><sheet name="情報資産台帳" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/></Relationships>'),
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Yu Gothic"/></font>'
        '<font><b/><sz val="11"/><name val="Yu Gothic"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}


def assets_export(*, queryset: QuerySet, fmt: str) -> bytes | Iterator[bytes]:
    """The register rows of ``queryset``: XLSX as bytes, CSV as an iterator of byte chunks."""
    if fmt == "xlsx":
        return xlsx_bytes(queryset)
    if fmt == "csv":
        return iter_csv(queryset)
    raise ValueError(f"unknown export format {fmt!r}")
