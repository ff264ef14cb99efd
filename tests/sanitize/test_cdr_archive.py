"""ZIP archives: listed, PPAP removed, members disarmed recursively and the zip rebuilt; bombs and other formats go."""

from __future__ import annotations

import gzip
import io
import os
import zipfile

import pikepdf
import pytest

from mamoru.sanitize.cdr import classify, disarm
from mamoru.sanitize.policy import Limits


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def set_encryption_flag(data: bytes) -> bytes:
    """What zipfile cannot write: mark every member encrypted in its local and central headers (PPAP zips)."""
    raw = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        while at != -1:
            raw[at + flag_offset] |= 0x01
            at = raw.find(signature, at + 4)
    return bytes(raw)


def pdf_with_javascript() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("x")))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def docm_like() -> bytes:
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return make_zip({
        "[Content_Types].xml": (
            b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="xml" ContentType="application/xml"/>'
            b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            b'<Override PartName="/word/document.xml" '
            b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="word/document.xml"/>'
            "</Relationships>").encode(),
        "word/document.xml": b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>',
        "word/_rels/document.xml.rels": (
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
            b'Target="vbaProject.bin"/></Relationships>'),
        "word/vbaProject.bin": b"\xd0\xcf\x11\xe0 vba",
    })


def test_ppap_encrypted_zip_is_removed_with_its_listing() -> None:
    data = set_encryption_flag(make_zip({"見積書.xlsx": b"x" * 100, "password.txt": b"see next mail"}))
    assert classify(data, "見積書.zip", "application/zip") == "archive"
    result = disarm(data, category="archive", filename="見積書.zip", content_type="application/zip", limits=Limits())
    assert (result.action, result.reason, result.data) == ("removed", "encrypted-archive", None)
    assert result.listing == ("見積書.xlsx", "password.txt")
    assert "zip:encrypted" in result.findings


def test_members_are_disarmed_recursively_and_the_zip_rebuilt() -> None:
    inner = make_zip({"nested/report.pdf": pdf_with_javascript(), "nested/tool.exe": b"MZ\x90\x00 payload"})
    data = make_zip({
        "docs/提案書.docm": docm_like(),
        "notes.txt": "会議は10時から".encode("cp932"),
        "run.exe": b"MZ\x90\x00 not allowed",
        "table.csv": b"name,value\nx,=cmd|' /C calc'!A0\n",
        "inner.zip": inner,
        "docs/": b"",
    })
    result = disarm(data, category="archive", filename="send.zip", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert set(result.listing) == {"docs/提案書.docm", "notes.txt", "run.exe", "table.csv", "inner.zip"}
    assert "zip:removed run.exe (type-not-allowed)" in result.findings
    assert "zip:removed table.csv (csv-formula)" in result.findings
    assert "zip:removed nested/tool.exe (type-not-allowed)" in result.findings
    assert "ooxml:vbaProject.bin" in result.findings and "pdf:/OpenAction" in result.findings
    assert result.data is not None
    rebuilt = zipfile.ZipFile(io.BytesIO(result.data))
    assert rebuilt.testzip() is None
    names = set(rebuilt.namelist())
    assert names == {"docs/", "docs/提案書.docx", "notes.txt", "inner.zip"}
    assert rebuilt.read("notes.txt") == "会議は10時から".encode("cp932")
    docx = zipfile.ZipFile(io.BytesIO(rebuilt.read("docs/提案書.docx")))
    assert "word/vbaProject.bin" not in docx.namelist()
    assert b"macroEnabled" not in docx.read("[Content_Types].xml")
    nested = zipfile.ZipFile(io.BytesIO(rebuilt.read("inner.zip")))
    assert nested.namelist() == ["nested/report.pdf"]
    with pikepdf.open(io.BytesIO(nested.read("nested/report.pdf"))) as pdf:
        assert "/OpenAction" not in pdf.Root


def test_a_clean_zip_is_still_rebuilt() -> None:
    data = make_zip({"readme.txt": b"hello"}) + b"hidden data after the archive"
    result = disarm(data, category="archive", filename="a.zip", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.findings == ()  # nothing was found; the rebuild itself is what "disarmed" means here
    assert result.data is not None and b"hidden data" not in result.data
    assert zipfile.ZipFile(io.BytesIO(result.data)).read("readme.txt") == b"hello"


def test_japanese_windows_names_are_read_as_cp932() -> None:
    japanese = "報告書.txt".encode("cp932")
    placeholder = b"x" * (len(japanese) - 4) + b".txt"
    data = make_zip({placeholder.decode(): b"ok"}).replace(placeholder, japanese)  # no UTF-8 flag, as Windows writes
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x800 == 0
    result = disarm(data, category="archive", filename="a.zip", content_type=None, limits=Limits())
    assert result.listing == ("報告書.txt",)
    assert result.data is not None
    assert zipfile.ZipFile(io.BytesIO(result.data)).namelist() == ["報告書.txt"]


def test_unsafe_paths_and_symlinks_do_not_survive() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("../../etc/evil.txt", b"traversal")
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, b"/etc/passwd")
    result = disarm(out.getvalue(), category="archive", filename="a.zip", content_type=None, limits=Limits())
    assert result.data is not None
    assert zipfile.ZipFile(io.BytesIO(result.data)).namelist() == ["etc/evil.txt"]
    assert "zip:removed link.txt (symlink)" in result.findings
    assert "zip:unsafe-path ../../etc/evil.txt" in result.findings


@pytest.mark.parametrize(("data", "kind"), [
    (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 30, "7z"),
    (b"Rar!\x1a\x07\x01\x00" + b"\0" * 30, "rar"),
    (gzip.compress(b"hello", mtime=0), "gzip"),
    (b"\x1f\x00-lh5-" + b"\0" * 30, "lzh"),
], ids=["7z", "rar", "gzip", "lzh"])
def test_other_archive_formats_are_removed(data: bytes, kind: str) -> None:
    assert classify(data, "a.bin", None) == "archive"
    result = disarm(data, category="archive", filename="a.bin", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "archive-unsupported")
    assert f"archive:{kind}" in result.findings


def test_zip_bomb_is_removed_by_ratio_and_by_size() -> None:
    bomb = make_zip({"zeros.txt": b"\0" * 3_000_000})
    assert len(bomb) < 10_000
    by_ratio = disarm(bomb, category="archive", filename="b.zip", content_type=None, limits=Limits())
    assert (by_ratio.action, by_ratio.reason) == ("removed", "limit:ratio")
    assert by_ratio.listing == ("zeros.txt",)
    by_size = disarm(bomb, category="archive", filename="b.zip", content_type=None,
                     limits=Limits(max_decompressed_bytes=2_000_000, max_ratio=10_000))
    assert (by_size.action, by_size.reason) == ("removed", "limit:size")


def test_size_limit_counts_nested_archives_together() -> None:
    # Each archive alone is under the 1 MB limit; together they pass it while being read.
    inner = [make_zip({f"part{i}.txt": os.urandom(300_000).hex()[:300_000].encode()}) for i in range(3)]
    outer = make_zip({f"inner{i}.zip": blob for i, blob in enumerate(inner)}, compression=zipfile.ZIP_STORED)
    limits = Limits(max_decompressed_bytes=1_000_000, max_ratio=10_000)
    for blob in inner:
        assert disarm(blob, category="archive", filename="i.zip", content_type=None, limits=limits).action == \
            "disarmed"
    result = disarm(outer, category="archive", filename="o.zip", content_type=None, limits=limits)
    assert (result.action, result.reason) == ("removed", "limit:size")


def test_lying_size_headers_do_not_get_through() -> None:
    honest = make_zip({"a.txt": b"A" * 200_000})
    central = honest.find(b"PK\x01\x02")
    raw = bytearray(honest)
    raw[central + 24: central + 28] = (100).to_bytes(4, "little")  # declared uncompressed size: 100 bytes
    result = disarm(bytes(raw), category="archive", filename="l.zip", content_type=None, limits=Limits())
    assert result.action == "removed"
    assert result.data is None


def test_nesting_deeper_than_the_limit_is_cut() -> None:
    blob = b"deep"
    data = make_zip({"core.txt": blob})
    for level in range(5):
        data = make_zip({f"level{level}.zip": data})
    result = disarm(data, category="archive", filename="d.zip", content_type=None, limits=Limits(max_depth=3))
    assert result.action == "disarmed"
    assert any(f.endswith("(limit:depth)") for f in result.findings)
    assert result.data is not None
    names: list[str] = []
    current = result.data
    while True:  # walk down the rebuilt nesting
        members = zipfile.ZipFile(io.BytesIO(current)).namelist()
        names.extend(members)
        if len(members) != 1 or not members[0].endswith(".zip"):
            break
        current = zipfile.ZipFile(io.BytesIO(current)).read(members[0])
    assert "core.txt" not in names
    assert names[:2] == ["level4.zip", "level3.zip"]


def test_too_many_members_is_a_limit() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for index in range(10_001):
            zf.writestr(f"f{index}.txt", b"")
    result = disarm(out.getvalue(), category="archive", filename="many.zip", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "limit:count")
    assert len(result.listing) == 10_001
