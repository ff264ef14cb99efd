"""Legacy Office (OLE2 compound files: .doc/.xls/.ppt) with olefile.

A binary Office file cannot be rebuilt without its macros here, so "disarm" for this category means: remove the file
when anything active is found, keep it (original bytes) when it is a Word/Excel/PowerPoint file with nothing active.

Removed, with the reason given:
- ``macro-ole``: a VBA project (storages ``Macros``/``_VBA_PROJECT_CUR``/``VBA``, PowerPoint's VBAInfo records) or
  Excel 4 (XLM) macro sheets (BOUNDSHEET of type macro sheet) or Auto_Open/Auto_Close names;
- ``dde-ole``: a DDE / DDEAUTO field in a Word document's text;
- ``encrypted-office``: password-protected (an encrypted OOXML inside OLE, an .xls FILEPASS, a .doc fEncrypted flag);
- ``ole-legacy``: embedded OLE objects (ObjectPool, MBD storages, Ole10Native), or an OLE file that is not a Word,
  Excel or PowerPoint document at all (an .msi installer, an Outlook .msg, ...).
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass, field

import olefile

from mamoru.sanitize.cdr._common import CdrResult, Context, dedupe, removed

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_VBA_STORAGES = {"macros", "_vba_project_cur", "vba", "_vba_project"}
_PPT_VBA_RECORDS = {0x03FF, 0x0400}  # VBAInfoContainer, VBAInfoAtom
_BIFF_BOUNDSHEET = 0x0085
_BIFF_NAME = 0x0018
_BIFF_FILEPASS = 0x002F
_DDE_FIELD = re.compile(rb"\x13[ \t]*(?:DDEAUTO|DDE)\b", re.IGNORECASE)
_DDE_FIELD_UTF16 = re.compile(rb"\x13\x00(?:[ \t]\x00)*D\x00D\x00E\x00", re.IGNORECASE)
_MAX_RECORDS = 2_000_000


@dataclass
class OleFacts:
    kind: str = "other"  # word | excel | powerpoint | encrypted-ooxml | other
    findings: list[str] = field(default_factory=list)
    macros: bool = False
    dde: bool = False
    encrypted: bool = False
    embedded: bool = False


def _biff_records(stream: bytes) -> list[tuple[int, bytes]]:
    records: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 4 <= len(stream) and len(records) < _MAX_RECORDS:
        rtype, length = struct.unpack_from("<HH", stream, pos)
        records.append((rtype, stream[pos + 4: pos + 4 + length]))
        pos += 4 + length
    return records


def _inspect_excel(stream: bytes, facts: OleFacts) -> None:
    for rtype, body in _biff_records(stream):
        if rtype == _BIFF_BOUNDSHEET and len(body) >= 6 and body[5] in (0x01, 0x06):
            facts.macros = True
            facts.findings.append("ole:xlm-macrosheet" if body[5] == 0x01 else "ole:vba-module-sheet")
        elif rtype == _BIFF_NAME and len(body) >= 16:
            builtin = bool(struct.unpack_from("<H", body, 0)[0] & 0x0020)
            name = body[15:]
            if (builtin and name[:1] in (b"\x01", b"\x02")) or b"auto_open" in name.lower().replace(b"\x00", b""):
                facts.macros = True
                facts.findings.append("ole:auto-open")
        elif rtype == _BIFF_FILEPASS:
            facts.encrypted = True
            facts.findings.append("ole:encrypted")


def _ppt_has_vba(stream: bytes) -> bool:
    """Walk PowerPoint records (containers have recVer 0xF) looking for the VBA project's info records."""
    stack = [(0, len(stream), 0)]
    seen = 0
    while stack:
        pos, end, depth = stack.pop()
        while pos + 8 <= end:
            seen += 1
            if seen > _MAX_RECORDS:
                return False
            ver_inst, rtype, length = struct.unpack_from("<HHI", stream, pos)
            if rtype in _PPT_VBA_RECORDS:
                return True
            body_end = min(pos + 8 + length, end)
            if ver_inst & 0x000F == 0x000F and depth < 32:
                stack.append((pos + 8, body_end, depth + 1))
            pos = body_end if length else pos + 8
    return False


def inspect(data: bytes) -> OleFacts:
    """What a compound file is and what active content it carries. Raises on unreadable input (caller catches)."""
    facts = OleFacts()
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        entries = ole.listdir(streams=True, storages=True)
        names = {"/".join(entry).lower() for entry in entries}
        components = {part.lower() for entry in entries for part in entry}
        if "encryptedpackage" in names or "encryptioninfo" in names:
            facts.kind = "encrypted-ooxml"
            facts.encrypted = True
            facts.findings.append("ole:encrypted")
        elif "worddocument" in names:
            facts.kind = "word"
        elif "workbook" in names or "book" in names:
            facts.kind = "excel"
        elif "powerpoint document" in names:
            facts.kind = "powerpoint"
        if components & _VBA_STORAGES:
            facts.macros = True
            facts.findings.append("ole:vba")
        if "objectpool" in components or any(part.startswith("mbd") for part in components) or \
                "\x01ole10native" in components:
            facts.embedded = True
            facts.findings.append("ole:embedded-object")
        if facts.kind == "word":
            word = ole.openstream("WordDocument").read()
            if len(word) >= 12 and struct.unpack_from("<H", word, 0x0A)[0] & 0x0100:
                facts.encrypted = True
                facts.findings.append("ole:encrypted")
            elif _DDE_FIELD.search(word) or _DDE_FIELD_UTF16.search(word):
                facts.dde = True
                facts.findings.append("ole:DDE")
        elif facts.kind == "excel":
            stream_name = "Workbook" if "workbook" in names else "Book"
            _inspect_excel(ole.openstream(stream_name).read(), facts)
        elif facts.kind == "powerpoint" and _ppt_has_vba(ole.openstream("PowerPoint Document").read()):
            facts.macros = True
            facts.findings.append("ole:vba")
    facts.findings = list(dedupe(facts.findings))
    return facts


def disarm_ole(data: bytes, filename: str | None, content_type: str | None, ctx: Context) -> CdrResult:
    try:
        facts = inspect(data)
    except Exception:  # olefile raises OSError, struct.error, IndexError, ... on hostile bytes
        return removed("unreadable", ["ole:unreadable"], filename=filename, content_type=content_type)
    if facts.encrypted:
        return removed("encrypted-office", facts.findings, filename=filename, content_type=content_type)
    if facts.macros:
        return removed("macro-ole", facts.findings, filename=filename, content_type=content_type)
    if facts.dde:
        return removed("dde-ole", facts.findings, filename=filename, content_type=content_type)
    if facts.kind not in ("word", "excel", "powerpoint"):
        return removed("ole-legacy", [*facts.findings, "ole:not-office"], filename=filename,
                       content_type=content_type)
    if facts.embedded:
        return removed("ole-legacy", facts.findings, filename=filename, content_type=content_type)
    return CdrResult(action="kept", data=data, filename=filename, content_type=content_type, findings=())
