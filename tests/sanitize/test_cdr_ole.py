"""Legacy Office (OLE2) files: removed when active content is found, kept untouched when clean.

Clean and variant files are derived from the real macro files by renaming directory entries or patching single
bytes in place (olefile cannot write new compound files), so every case below is a genuine .doc/.xls/.ppt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mamoru.sanitize.cdr import classify, disarm
from mamoru.sanitize.policy import Limits

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "active_content" / "office" / "apache__poi"


def corpus(*parts: str) -> bytes:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared not available: {CORPUS} is missing, the real-world Office corpus cannot be read")
    return CORPUS.joinpath(*parts).read_bytes()


def rename_entry(data: bytes, old: str, new: str) -> bytes:
    """Rename a storage/stream in the compound file's directory (64-byte UTF-16 name + 2-byte length)."""
    needle = old.encode("utf-16-le") + b"\x00\x00"
    at = data.find(needle)
    while at != -1 and int.from_bytes(data[at + 64: at + 66], "little") != len(needle):
        at = data.find(needle, at + 1)
    assert at != -1, old
    name = new.encode("utf-16-le") + b"\x00\x00"
    field = name.ljust(64, b"\x00") + len(name).to_bytes(2, "little")
    return data[:at] + field + data[at + 66:]


def without_vba_xls() -> bytes:
    data = corpus("spreadsheet", "SimpleMacro.xls")
    for old, new in (("_VBA_PROJECT_CUR", "Storage1"), ("VBA", "Sub"), ("_VBA_PROJECT", "Stream1")):
        data = rename_entry(data, old, new)
    return data


def without_vba_doc() -> bytes:
    data = corpus("document", "SimpleMacro.doc")
    for old, new in (("Macros", "Storage1"), ("VBA", "Sub"), ("_VBA_PROJECT", "Stream1")):
        data = rename_entry(data, old, new)
    return data


def run(data: bytes, name: str) -> tuple[str, str, tuple[str, ...], bytes | None]:
    assert classify(data, name, None) == "ole"
    result = disarm(data, category="ole", filename=name, content_type=None, limits=Limits())
    return result.action, result.reason, result.findings, result.data


@pytest.mark.parametrize(("folder", "name"), [("document", "SimpleMacro.doc"), ("spreadsheet", "SimpleMacro.xls"),
                                              ("spreadsheet", "SquareMacro.xls"), ("slideshow", "SimpleMacro.ppt"),
                                              ("slideshow", "WithMacros.ppt")])
def test_real_files_with_vba_are_removed(folder: str, name: str) -> None:
    action, reason, findings, data = run(corpus(folder, name), name)
    assert (action, reason, data) == ("removed", "macro-ole", None)
    assert "ole:vba" in findings


def test_powerpoint_vba_is_found_inside_the_document_stream() -> None:
    # SimpleMacro.ppt has no "Macros" storage at all: its VBA lives in PowerPoint's own records.
    data = corpus("slideshow", "SimpleMacro.ppt")
    assert "Macros".encode("utf-16-le") not in data
    assert run(data, "SimpleMacro.ppt")[1] == "macro-ole"


def test_clean_legacy_files_are_kept_byte_for_byte() -> None:
    for data, name in ((without_vba_xls(), "clean.xls"), (without_vba_doc(), "clean.doc")):
        action, reason, findings, kept = run(data, name)
        assert (action, reason, findings) == ("kept", "", ())
        assert kept == data


def test_excel4_macro_sheet_is_removed() -> None:
    data = without_vba_xls()
    record = b"\x85\x00\x0e\x00"
    at = data.find(record)
    assert data[at + 12: at + 18] == b"Sheet1"
    patched = data[: at + 9] + b"\x01" + data[at + 10:]  # BOUNDSHEET type: macro sheet
    action, reason, findings, _ = run(patched, "xlm.xls")
    assert (action, reason) == ("removed", "macro-ole")
    assert "ole:xlm-macrosheet" in findings


def test_dde_field_in_word_text_is_removed() -> None:
    data = without_vba_doc()
    text = b"This is a macro "
    assert data.count(text) >= 1  # in the text stream (and a copy elsewhere)
    patched = data.replace(text, b"\x13 DDEAUTO calc \x14")
    action, reason, findings, _ = run(patched, "dde.doc")
    assert (action, reason) == ("removed", "dde-ole")
    assert "ole:DDE" in findings


def test_encrypted_office_package_is_removed() -> None:
    data = rename_entry(without_vba_doc(), "WordDocument", "EncryptedPackage")
    action, reason, findings, _ = run(data, "locked.docx")
    assert (action, reason) == ("removed", "encrypted-office")
    assert "ole:encrypted" in findings


def test_compound_file_that_is_not_office_is_removed() -> None:
    data = rename_entry(without_vba_doc(), "WordDocument", "Installer")
    action, reason, findings, _ = run(data, "setup.msi")
    assert (action, reason) == ("removed", "ole-legacy")
    assert "ole:not-office" in findings


def test_embedded_objects_are_removed() -> None:
    data = rename_entry(without_vba_doc(), "Data", "ObjectPool")
    action, reason, findings, _ = run(data, "objects.doc")
    assert (action, reason) == ("removed", "ole-legacy")
    assert "ole:embedded-object" in findings


@pytest.mark.parametrize("cut", [8, 512, 600, 3000])
def test_truncated_compound_file_is_removed_as_unreadable(cut: int) -> None:
    data = corpus("document", "SimpleMacro.doc")[:cut]
    result = disarm(data, category="ole", filename="t.doc", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "unreadable")
