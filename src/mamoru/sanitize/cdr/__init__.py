"""CDR (content disarm and reconstruction) for attachments: classify a file by its bytes, then disarm it.

``classify`` never trusts the name alone: magic bytes decide, the name only breaks ties (an unreadable zip named
.docx is office). ``disarm`` is called when the policy says "disarm" for the category; it never raises: anything
it cannot handle comes back ``removed`` with a reason ("unreadable", "encrypted-archive", "limit:ratio", ...).

What each type gets (details in the module docstrings):

- pdf (``pdf.py``): JavaScript, OpenAction, AA, Launch/Submit/Import/Reset/GoToR/GoToE actions, embedded files and
  file-attachment/rich-media annotations, XFA are cut out; a clean PDF is ``kept`` with its original bytes.
- office (``ooxml.py``): macros, ActiveX, OLE embeddings, customUI, macro sheets, external links and relationships,
  DDE fields are removed; docm/xlsm/pptm become docx/xlsx/pptx; a clean package is ``kept`` with its bytes.
- image (``image.py``): always re-encoded from the pixels alone (``disarmed``), all frames kept, metadata dropped.
- ole (``ole.py``): legacy .doc/.xls/.ppt cannot be rebuilt: removed when macros, DDE, encryption or embedded
  objects are found (or it is not an Office file at all), ``kept`` (original bytes) when clean.
- archive (``archive.py``): ZIP members disarmed recursively and the zip rebuilt; encrypted ZIP and other formats
  removed.
- other: plain text with a text extension (.txt .csv .tsv .log .json .md) that decodes as UTF-8/UTF-16/CP932/EUC-JP
  and holds no spreadsheet DDE formula is ``kept``; everything else is removed, reason ``type-not-allowed``.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING

from mamoru.sanitize.cdr._common import (
    Category,
    CdrResult,
    Context,
    LimitExceeded,
    Unreadable,
    ext_of,
    removed,
)
from mamoru.sanitize.cdr.archive import ZIP_MAGICS, disarm_archive, other_archive_kind
from mamoru.sanitize.cdr.image import disarm_image, magic_format
from mamoru.sanitize.cdr.ole import OLE_MAGIC, disarm_ole
from mamoru.sanitize.cdr.ooxml import disarm_ooxml
from mamoru.sanitize.cdr.pdf import disarm_pdf

if TYPE_CHECKING:
    from mamoru.sanitize.policy import Limits

__all__ = ["Category", "CdrResult", "classify", "disarm"]

OFFICE_EXTENSIONS = frozenset({".docx", ".docm", ".dotx", ".dotm", ".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam",
                               ".xlsb", ".pptx", ".pptm", ".potx", ".potm", ".ppsx", ".ppsm", ".ppam", ".vsdx",
                               ".vsdm", ".vssx", ".vssm", ".vstx", ".vstm"})
TEXT_EXTENSIONS = frozenset({".txt", ".csv", ".tsv", ".log", ".json", ".md"})
# A spreadsheet cell that starts like a formula and calls another program (=cmd|'/c calc'!A1).
_CSV_DDE = re.compile(r"""(?:^|[,;\t])[ \t]*"?[ \t]*[=+\-@][^,;\t\n]*\|""", re.MULTILINE)


def classify(data: bytes, filename: str | None, content_type: str | None) -> Category:
    """The attachment category from the magic bytes; the file name only breaks ties. Never raises."""
    try:
        return _classify(data, filename)
    except Exception:  # a classification must never take the message down
        return "other"


def _classify(data: bytes, filename: str | None) -> Category:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.startswith(ZIP_MAGICS):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = {name.lower().lstrip("/") for name in zf.namelist()}
        except Exception:  # unreadable zip: the name breaks the tie, disarm will report it unreadable
            return "office" if ext_of(filename) in OFFICE_EXTENSIONS else "archive"
        return "office" if "[content_types].xml" in names else "archive"
    if magic_format(data) is not None:
        return "image"
    if other_archive_kind(data) is not None:
        return "archive"
    if b"%PDF-" in data[:1024]:  # readers accept a PDF header anywhere in the first kilobyte
        return "pdf"
    return "other"


def disarm(data: bytes, *, category: Category, filename: str | None, content_type: str | None,
           limits: Limits) -> CdrResult:
    """Disarm one file of the given category under ``limits``. Never raises: unreadable -> removed/"unreadable"."""
    return _dispatch(data, category, filename, content_type, Context(limits=limits, dispatch=_dispatch))


def _dispatch(data: bytes, category: Category, filename: str | None, content_type: str | None,
              ctx: Context) -> CdrResult:
    try:
        if category == "pdf":
            return disarm_pdf(data, filename, content_type, ctx)
        if category == "office":
            return disarm_ooxml(data, filename, content_type, ctx)
        if category == "image":
            return disarm_image(data, filename, content_type, ctx)
        if category == "ole":
            return disarm_ole(data, filename, content_type, ctx)
        if category == "archive":
            return disarm_archive(data, filename, content_type, ctx)
        return _disarm_other(data, filename, content_type)
    except LimitExceeded as exc:
        return removed(exc.reason, [exc.reason], filename=filename, content_type=content_type)
    except Unreadable as exc:
        return removed("unreadable", [f"{category}:unreadable", f"{category}:{exc}"], filename=filename,
                       content_type=content_type)
    except RecursionError:
        return removed("unreadable", [f"{category}:too-deeply-nested"], filename=filename, content_type=content_type)
    except MemoryError:
        return removed("limit:memory", ["limit:memory"], filename=filename, content_type=content_type)
    except Exception as exc:  # the last line of defence: hostile input must never raise out of disarm
        return removed("unreadable", [f"{category}:unreadable", f"{category}:{type(exc).__name__}"],
                       filename=filename, content_type=content_type)


def _decode_text(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    encodings = ("iso2022_jp",) if b"\x1b$" in data else ("utf-8-sig", "cp932", "euc_jp")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _disarm_other(data: bytes, filename: str | None, content_type: str | None) -> CdrResult:
    if ext_of(filename) not in TEXT_EXTENSIONS:
        return removed("type-not-allowed", ["other:not-text"], filename=filename, content_type=content_type)
    text = _decode_text(data)
    if text is None or any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text):
        return removed("type-not-allowed", ["other:binary"], filename=filename, content_type=content_type)
    if ext_of(filename) in (".csv", ".tsv") and _CSV_DDE.search(text):
        return removed("csv-formula", ["csv:DDE"], filename=filename, content_type=content_type)
    return CdrResult(action="kept", data=data, filename=filename, content_type=content_type or "text/plain",
                     findings=())
