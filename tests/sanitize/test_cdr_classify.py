"""classify: magic bytes decide, the name only breaks ties; "other" files: plain text kept, the rest removed."""

from __future__ import annotations

import io
import zipfile

import pytest

from mamoru.sanitize.cdr import classify, disarm
from mamoru.sanitize.policy import Limits


def zip_of(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in names:
            zf.writestr(name, b"x")
    return out.getvalue()


@pytest.mark.parametrize(("data", "filename", "content_type", "expected"), [
    (b"%PDF-1.7\n...", "a.txt", "text/plain", "pdf"),  # the name and type lie; the bytes decide
    (b"\0" * 200 + b"%PDF-1.4\n", "junk.bin", None, "pdf"),  # readers find a header in the first kilobyte
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.pdf", "application/pdf", "ole"),
    (zip_of("[Content_Types].xml", "word/document.xml"), "a.zip", "application/zip", "office"),
    (zip_of("readme.txt"), "a.docx", None, "archive"),  # no [Content_Types].xml: an archive, whatever the name
    (b"PK\x03\x04 truncated", "report.docx", None, "office"),  # unreadable zip: the name breaks the tie
    (b"PK\x03\x04 truncated", "report.zip", None, "archive"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "a.pdf", None, "image"),
    (b"\xff\xd8\xff\xe0\0\x10JFIF", None, None, "image"),
    (b"GIF89a\x01\x00", None, None, "image"),
    (b"II*\x00\x08\x00\x00\x00", None, None, "image"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", None, None, "image"),
    (b"BM" + b"\0" * 12 + (40).to_bytes(4, "little") + b"\0" * 20, None, None, "image"),
    (b"BM is also how this text starts", "memo.bmp", "image/bmp", "other"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "a.pdf", None, "archive"),
    (b"Rar!\x1a\x07\x00", None, None, "archive"),
    (b"\x1f\x8b\x08\x00", "a.docx", None, "archive"),
    (b"MZ\x90\x00\x03", "invoice.pdf", "application/pdf", "other"),  # an executable named like a PDF
    (b"<html><script>alert(1)</script>", "a.html", "text/html", "other"),
    (b"", "empty.pdf", "application/pdf", "other"),
])
def test_classify_by_magic(data: bytes, filename: str | None, content_type: str | None, expected: str) -> None:
    assert classify(data, filename, content_type) == expected


@pytest.mark.parametrize(("data", "filename"), [
    ("お知らせ\r\n本文です".encode("cp932"), "notice.txt"),
    ("名前,値\n田中,10\n".encode(), "list.csv"),
    ("\ufeffname\tvalue\n".encode("utf-16"), "list.tsv"),
    ("件名: テスト".encode("iso2022_jp"), "memo.txt"),
    (b"a,-5,+3,@home\n", "numbers.csv"),
])
def test_plain_text_files_are_kept(data: bytes, filename: str) -> None:
    result = disarm(data, category="other", filename=filename, content_type=None, limits=Limits())
    assert (result.action, result.data, result.findings) == ("kept", data, ())


@pytest.mark.parametrize(("data", "filename", "reason"), [
    (b"MZ\x90\x00", "setup.exe", "type-not-allowed"),
    (b"<script>x</script>", "page.html", "type-not-allowed"),
    (b"WScript.Shell", "run.txt.vbs", "type-not-allowed"),
    (b"text\x00with\x00nul", "data.txt", "type-not-allowed"),
    (b"name,cmd\nx,=cmd|' /C calc'!A0\n", "evil.csv", "csv-formula"),
    (b'a,"@SUM(1+1)*cmd|\' /C calc\'!A0"\n', "evil2.csv", "csv-formula"),
])
def test_other_files_are_removed(data: bytes, filename: str, reason: str) -> None:
    result = disarm(data, category="other", filename=filename, content_type=None, limits=Limits())
    assert (result.action, result.reason, result.data) == ("removed", reason, None)
