"""PDF disarm with pikepdf: every indirect object is walked (not just the catalog) and active content is cut out.

Removed: document JavaScript (names tree /JavaScript and /JS anywhere), /OpenAction, /AA at every level, dangerous
actions wherever they hang (/A, /Next, /PA): JavaScript, Launch, SubmitForm, ImportData, ResetForm, GoToR, GoToE,
Rendition, Sound, Movie, RichMediaExecute, and URI actions to javascript:/file:/UNC targets (web links stay);
embedded files (names tree /EmbeddedFiles, /EF in file specifications, /AF associated files, portfolios'
/Collection), FileAttachment / RichMedia / Screen / Movie / Sound / 3D annotations, /XFA and /NeedsRendering from
/AcroForm. A dangerous action or annotation still reachable some other way is emptied in place.

A file with none of these comes back ``kept`` with its original bytes untouched (so the digital signatures that
municipal PDFs often carry stay valid); a disarmed file is re-saved by qpdf, which writes only objects still reachable
from the trailer, without encryption and with a deterministic /ID.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import pikepdf

from mamoru.sanitize.cdr._common import CdrResult, Context, dedupe, removed

_DANGEROUS_ACTIONS: dict[str, str] = {
    "/JavaScript": "pdf:/JavaScript",
    "/Launch": "pdf:/Launch",
    "/SubmitForm": "pdf:/SubmitForm",
    "/ImportData": "pdf:/ImportData",
    "/ResetForm": "pdf:/ResetForm",
    "/GoToR": "pdf:/GoToR",
    "/GoToE": "pdf:/GoToE",
    "/Rendition": "pdf:/Rendition",
    "/Sound": "pdf:/Sound",
    "/Movie": "pdf:/Movie",
    "/RichMediaExecute": "pdf:/RichMedia",
}
_DANGEROUS_ANNOTATIONS: dict[str, str] = {
    "/FileAttachment": "pdf:/FileAttachment",
    "/RichMedia": "pdf:/RichMedia",
    "/Screen": "pdf:/Screen",
    "/Movie": "pdf:/Movie",
    "/Sound": "pdf:/Sound",
    "/3D": "pdf:/3D",
}
# Keys deleted from any dictionary they appear in, with the finding they produce.
_DROP_KEYS: dict[str, str] = {
    "/OpenAction": "pdf:/OpenAction",
    "/AA": "pdf:/AA",
    "/JS": "pdf:/JavaScript",
    "/EF": "pdf:/EmbeddedFiles",
    "/AF": "pdf:/EmbeddedFiles",
    "/Collection": "pdf:/EmbeddedFiles",
    "/RichMediaContent": "pdf:/RichMedia",
    "/RichMediaSettings": "pdf:/RichMedia",
    "/XFA": "pdf:/XFA",
    "/NeedsRendering": "pdf:/XFA",
}
# Entries of a /Names dictionary that are removed.
_DROP_NAMES: dict[str, str] = {
    "/JavaScript": "pdf:/JavaScript",
    "/EmbeddedFiles": "pdf:/EmbeddedFiles",
    "/AlternatePresentations": "pdf:/AlternatePresentations",
}
_ACTION_KEYS = ("/A", "/Next", "/PA")
# Link targets that run code or reach for a file share (NTLM hash leak) instead of opening a web page.
_UNSAFE_URI_PREFIXES = (b"javascript:", b"vbscript:", b"file:", b"data:", b"\\\\", b"smb:")
_PDF_ERRORS = (pikepdf.PdfError, pikepdf.ForeignObjectError, ValueError, TypeError, KeyError, IndexError,
               RuntimeError, OverflowError, RecursionError, MemoryError, OSError)


def _is_dict(obj: Any) -> bool:
    return isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream))


def _action_finding(obj: Any) -> str | None:
    """The finding for a dangerous action dictionary, or None when ``obj`` is not one."""
    if not _is_dict(obj):
        return None
    kind = obj.get("/S")
    if isinstance(kind, pikepdf.Name) and str(kind) in _DANGEROUS_ACTIONS:
        return _DANGEROUS_ACTIONS[str(kind)]
    if isinstance(kind, pikepdf.Name) and str(kind) == "/URI":
        uri = obj.get("/URI")
        if isinstance(uri, pikepdf.String) and bytes(uri).strip().lower().startswith(_UNSAFE_URI_PREFIXES):
            return "pdf:/URI"
    return None


def _annotation_finding(obj: Any) -> str | None:
    if not _is_dict(obj):
        return None
    kind = obj.get("/Subtype")
    if isinstance(kind, pikepdf.Name) and str(kind) in _DANGEROUS_ANNOTATIONS:
        return _DANGEROUS_ANNOTATIONS[str(kind)]
    return None


def _direct_children(obj: Any) -> list[Any]:
    """Direct (not indirect) dictionaries/arrays inside ``obj``; indirect ones are visited from ``pdf.objects``."""
    if isinstance(obj, pikepdf.Array):
        values = list(obj)
    elif _is_dict(obj):
        values = [obj[key] for key in list(obj.keys())]
    else:
        return []
    return [v for v in values if isinstance(v, (pikepdf.Array, pikepdf.Dictionary)) and not v.is_indirect]


def _all_containers(pdf: pikepdf.Pdf) -> list[Any]:
    """Every dictionary, stream and array of the file: each indirect object and everything directly inside it."""
    out: list[Any] = []
    stack = [obj for obj in pdf.objects if isinstance(obj, (pikepdf.Array, pikepdf.Dictionary, pikepdf.Stream))]
    while stack:
        obj = stack.pop()
        out.append(obj)
        stack.extend(_direct_children(obj))
    return out


def _cut_references(obj: Any, findings: list[str]) -> None:
    """Pass 1: remove the links to active content from one dictionary or array."""
    if isinstance(obj, pikepdf.Array):
        return
    for key, finding in _DROP_KEYS.items():
        if key in obj:
            del obj[key]
            findings.append(finding)
    for key in _ACTION_KEYS:
        if key not in obj:
            continue
        value = obj[key]
        if isinstance(value, pikepdf.Array):  # /Next may be an array of actions
            kept = [item for item in value if _action_finding(item) is None]
            for item in value:
                item_finding = _action_finding(item)
                if item_finding:
                    findings.append(item_finding)
            if len(kept) != len(value):
                obj[key] = pikepdf.Array(kept)
        else:
            action_finding = _action_finding(value)
            if action_finding:
                del obj[key]
                findings.append(action_finding)
    names = obj.get("/Names")
    if _is_dict(names):
        for key, finding in _DROP_NAMES.items():
            if key in names:
                del names[key]
                findings.append(finding)
    annots = obj.get("/Annots")
    if isinstance(annots, pikepdf.Array):
        kept_annots = []
        for annot in annots:
            annot_finding = _annotation_finding(annot)
            if annot_finding:
                findings.append(annot_finding)
            else:
                kept_annots.append(annot)
        if len(kept_annots) != len(annots):
            obj["/Annots"] = pikepdf.Array(kept_annots)


def _neutralize(obj: Any, findings: list[str]) -> None:
    """Pass 2: an active dictionary still reachable some other way is emptied in place."""
    if isinstance(obj, pikepdf.Array):
        return
    finding = _action_finding(obj) or _annotation_finding(obj)
    if finding:
        findings.append(finding)
        for key in list(obj.keys()):
            if key not in ("/Type", "/Subtype", "/Rect", "/P"):
                del obj[key]
        if "/Subtype" in obj and _annotation_finding(obj):
            obj["/Subtype"] = pikepdf.Name("/Square")  # an empty, invisible annotation
    if str(obj.get("/Type", "")) == "/EmbeddedFile":
        findings.append("pdf:/EmbeddedFiles")
        if isinstance(obj, pikepdf.Stream):
            obj.write(b"")
            for key in list(obj.keys()):
                if key not in ("/Type", "/Length"):
                    del obj[key]
        obj["/Type"] = pikepdf.Name("/Removed")


def disarm_pdf(data: bytes, filename: str | None, content_type: str | None, ctx: Context) -> CdrResult:
    try:
        pdf = pikepdf.open(io.BytesIO(data), suppress_warnings=True)
    except pikepdf.PasswordError:
        return removed("encrypted-pdf", ["pdf:encrypted"], filename=filename, content_type=content_type)
    except _PDF_ERRORS:
        return removed("unreadable", ["pdf:unreadable"], filename=filename, content_type=content_type)
    try:
        with pdf:
            findings: list[str] = []
            containers = _all_containers(pdf)
            for obj in containers:
                _cut_references(obj, findings)
            for obj in containers:
                _neutralize(obj, findings)
            if not findings:
                return CdrResult(action="kept", data=data, filename=filename,
                                 content_type=content_type or "application/pdf", findings=())
            out = io.BytesIO()
            with warnings.catch_warnings():  # pikepdf's advice about widgets outside /AcroForm is not for us
                warnings.simplefilter("ignore")
                pdf.save(out, encryption=False, deterministic_id=True)
            return CdrResult(action="disarmed", data=out.getvalue(), filename=filename,
                             content_type="application/pdf", findings=dedupe(findings))
    except _PDF_ERRORS:
        return removed("unreadable", ["pdf:unreadable"], filename=filename, content_type=content_type)

