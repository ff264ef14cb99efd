"""OOXML disarm (docx/xlsx/pptx/vsdx and their macro-enabled siblings) with zipfile and lxml.

Removed parts: VBA projects and their signatures (``vbaProject.bin``, ``vbaData.xml`` at any path), ActiveX controls
(``activeX/``), OLE embeddings (``embeddings/``: ``oleObject*.bin``, legacy .doc/.xls, any non-package file; embedded
OOXML packages are disarmed recursively and dropped unless they come back clean), ribbon customisations
(``customUI/``), Excel 4 macro sheets and dialog sheets, Excel external links (``externalLinks/``, including
``ddeLink``), and any part reached through a relationship of those kinds. Every relationship with
``TargetMode="External"`` is dropped (attached templates, linked OLE objects, linked pictures, frames, hyperlinks).
Word DDE/DDEAUTO fields (``w:fldSimple`` and ``w:instrText`` complex fields) are unwrapped: the field goes, its
last displayed result stays as plain text. Excel Auto_Open/Auto_Close names go.

Then the package is made consistent again: relationships and ``[Content_Types].xml`` entries pointing to removed
parts are dropped, the XML elements that referenced dropped relationships lose the reference (or are removed where the
reference is required: attached template, external references, macro sheets in ``<sheets>``), ``localSheetId`` of
defined names is renumbered, the macro-enabled main content type becomes the plain one, the file name's extension
follows (report.docm -> report.docx) and digital signatures, which can no longer verify, are removed.

The result is rebuilt as a fresh zip (deflated, fixed timestamps). A package where nothing was found comes back
``kept`` with its original bytes.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from urllib.parse import unquote

from lxml import etree

from mamoru.sanitize.cdr._common import (
    CdrResult,
    Context,
    LimitExceeded,
    Unreadable,
    ZipReader,
    dedupe,
    ext_of,
    has_doctype,
    parse_xml,
    removed,
    serialize_xml,
    with_ext,
)

CONTENT_TYPES = "[content_types].xml"
_R_NAMESPACES = frozenset({"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                           "http://purl.oclc.org/ooxml/officeDocument/relationships"})
_O_NAMESPACE = "urn:schemas-microsoft-com:office:office"  # VML's o:relid
_W_NAMESPACES = frozenset({"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                           "http://purl.oclc.org/ooxml/wordprocessingml/main"})
_X_NAMESPACES = frozenset({"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                           "http://purl.oclc.org/ooxml/spreadsheetml/main"})
_MC_NAMESPACE = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_A_NAMESPACES = frozenset({"http://schemas.openxmlformats.org/drawingml/2006/main",
                           "http://purl.oclc.org/ooxml/drawingml/main"})

MACRO_TO_PLAIN: dict[str, str] = {
    "application/vnd.ms-word.document.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.addin.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    "application/vnd.ms-powerpoint.template.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    "application/vnd.ms-powerpoint.addin.macroenabled.main+xml":
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    "application/vnd.ms-visio.drawing.macroenabled.main+xml": "application/vnd.ms-visio.drawing.main+xml",
    "application/vnd.ms-visio.stencil.macroenabled.main+xml": "application/vnd.ms-visio.stencil.main+xml",
    "application/vnd.ms-visio.template.macroenabled.main+xml": "application/vnd.ms-visio.template.main+xml",
}
# Main part content type (lower case) -> (file extension, MIME type of the whole file).
PLAIN_FILE_TYPES: dict[str, tuple[str, str]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":
        (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        (".dotx", "application/vnd.openxmlformats-officedocument.wordprocessingml.template"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml":
        (".xltx", "application/vnd.openxmlformats-officedocument.spreadsheetml.template"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml":
        (".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml":
        (".ppsx", "application/vnd.openxmlformats-officedocument.presentationml.slideshow"),
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml":
        (".potx", "application/vnd.openxmlformats-officedocument.presentationml.template"),
    "application/vnd.ms-visio.drawing.main+xml": (".vsdx", "application/vnd.ms-visio.drawing.main+xml"),
    "application/vnd.ms-visio.stencil.main+xml": (".vssx", "application/vnd.ms-visio.stencil.main+xml"),
    "application/vnd.ms-visio.template.main+xml": (".vstx", "application/vnd.ms-visio.template.main+xml"),
}
MACRO_EXTENSIONS = frozenset({".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppsm", ".ppam",
                              ".vsdm", ".vssm", ".vstm"})
_XLSB_TYPE = "application/vnd.ms-excel.sheet.binary.macroenabled.main"

# Content-type substrings (lower case) of parts that are removed, with their finding.
_ACTIVE_CONTENT_TYPES: tuple[tuple[str, str], ...] = (
    ("vbaprojectsignature", "ooxml:vbaProject.bin"),
    ("vbaproject", "ooxml:vbaProject.bin"),
    ("vbadata", "ooxml:vbaData.xml"),
    ("activex", "ooxml:activeX"),
    ("oleobject", "ooxml:oleObject"),
    ("macrosheet", "ooxml:macrosheet"),
    ("dialogsheet", "ooxml:dialogsheet"),
    ("externallink", "ooxml:externalLink"),
)
# Relationship type endings (lower case) whose target part is removed, with their finding.
_ACTIVE_REL_TYPES: tuple[tuple[str, str], ...] = (
    ("/vbaproject", "ooxml:vbaProject.bin"),
    ("/vbaprojectsignature", "ooxml:vbaProject.bin"),
    ("/vbaprojectsignatureagile", "ooxml:vbaProject.bin"),
    ("/vbaprojectsignaturev3", "ooxml:vbaProject.bin"),
    ("/wordvbadata", "ooxml:vbaData.xml"),
    ("/activexcontrol", "ooxml:activeX"),
    ("/activexcontrolbinary", "ooxml:activeX"),
    ("/control", "ooxml:activeX"),
    ("/oleobject", "ooxml:oleObject"),
    ("/ui/extensibility", "ooxml:customUI"),
    ("/ui/2007/extensibility", "ooxml:customUI"),
    ("/xlmacrosheet", "ooxml:macrosheet"),
    ("/xlintlmacrosheet", "ooxml:macrosheet"),
    ("/dialogsheet", "ooxml:dialogsheet"),
    ("/externallink", "ooxml:externalLink"),
    ("/attachedtemplate", "ooxml:attachedTemplate"),
)
_EXTERNAL_REL_FINDINGS: tuple[tuple[str, str], ...] = (
    ("/attachedtemplate", "ooxml:attachedTemplate"),
    ("/oleobject", "ooxml:oleObject-link"),
    ("/frame", "ooxml:frame"),
    ("/subdocument", "ooxml:subDocument"),
    ("/externallinkpath", "ooxml:externalLink"),
    ("/image", "ooxml:linked-image"),
)
# Elements removed whole when they point at a dropped relationship (the reference is required there).
_REMOVE_ELEMENTS_W = frozenset({"attachedTemplate", "subDoc"})
_REMOVE_ELEMENTS_X = frozenset({"sheet", "externalReference", "oleObject", "control", "hyperlink"})
# Elements where the reference is required but an empty id is valid.
_EMPTY_ID_ELEMENTS_A = frozenset({"hlinkClick", "hlinkHover", "hlinkMouseOver"})
# Containers removed when the removal above leaves them without element children.
_EMPTY_CONTAINERS = frozenset({"externalReferences", "oleObjects", "controls", "hyperlinks", "AlternateContent",
                               "Choice", "Fallback"})
_AUTO_NAME = re.compile(r"^(?:_xlnm\.)?auto_(?:open|close|activate|deactivate)", re.IGNORECASE)
_DDE_INSTRUCTION = re.compile(r"\bDDE(?:AUTO)?\b", re.IGNORECASE)
_XML_EXTENSIONS = (".xml", ".rels", ".vml")
_MAIN_REL_TYPES = ("/officedocument", "/visio/2010/relationships/document")


def _norm(name: str) -> str:
    """The comparison key of a part name: no leading slash, percent-decoded, lower case (OPC is case-insensitive)."""
    return unquote(name.lstrip("/")).lower()


def _rels_source(rels_name: str) -> str | None:
    """``word/_rels/document.xml.rels`` -> ``word/document.xml``; ``_rels/.rels`` -> ``""`` (the package)."""
    directory, base = posixpath.split(rels_name)
    if posixpath.basename(directory) != "_rels" or not base.endswith(".rels"):
        return None
    return posixpath.join(posixpath.dirname(directory), base[: -len(".rels")])


def _rels_name(part: str) -> str:
    directory, base = posixpath.split(part)
    return posixpath.join(directory, "_rels", base + ".rels")


def _resolve(source: str, target: str) -> str:
    target = target.split("#", 1)[0]
    if target.startswith("/"):
        return _norm(target)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(target)))
    return _norm(joined)


def _local(element: etree._Element) -> tuple[str, str]:
    """(namespace, local name) of an element; ("", "") for comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _remove_element(element: etree._Element) -> None:
    """Remove ``element`` (keeping its tail text) and any container it leaves empty."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail and tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
    _, local = _local(parent)
    if local in _EMPTY_CONTAINERS and not any(isinstance(child.tag, str) for child in parent):
        _remove_element(parent)


class _Package:
    def __init__(self, data: bytes, ctx: Context) -> None:
        self.ctx = ctx
        reader = ZipReader(data, ctx)
        if reader.encrypted():
            raise Unreadable("zip-encrypted-member")
        if reader.duplicates():
            raise Unreadable("zip-duplicate-name")
        self.order: list[str] = []  # actual names, zip order
        self.parts: dict[str, bytes] = {}  # key: _norm(name)
        self.actual: dict[str, str] = {}  # key -> actual name
        for info in reader.infos:
            if info.is_dir():
                continue
            key = _norm(info.filename)
            self.parts[key] = reader.read(info)
            self.actual[key] = info.filename
            self.order.append(key)
        if CONTENT_TYPES not in self.parts:
            raise Unreadable("ooxml-no-content-types")
        for key in self.order:
            if key.endswith(_XML_EXTENSIONS) and has_doctype(self.parts[key]):
                raise Unreadable("xml-doctype")
        self.findings: list[str] = []
        self.removed: set[str] = set()
        self.dropped_ids: dict[str, set[str]] = {}  # source part key -> relationship ids dropped
        self.changed = False
        self.content_types: dict[str, str] = {}  # part key -> content type (lower), overrides only
        self.defaults: dict[str, str] = {}  # extension -> content type (lower)
        self._read_content_types()

    # --- reading ---------------------------------------------------------------------------------------------------

    def _read_content_types(self) -> None:
        root = parse_xml(self.parts[CONTENT_TYPES])
        for child in root:
            _, local = _local(child)
            content_type = (child.get("ContentType") or "").lower()
            if local == "Override":
                self.content_types[_norm(child.get("PartName") or "")] = content_type
            elif local == "Default":
                self.defaults[(child.get("Extension") or "").lower()] = content_type

    def content_type(self, key: str) -> str:
        if key in self.content_types:
            return self.content_types[key]
        return self.defaults.get(posixpath.splitext(key)[1].lstrip("."), "")

    def rels_files(self) -> list[str]:
        return [key for key in self.order if key not in self.removed and _rels_source(key) is not None]

    def relationships(self, rels_key: str) -> list[etree._Element]:
        root = parse_xml(self.parts[rels_key])
        return [child for child in root if _local(child)[1] == "Relationship"]

    def main_part(self) -> str | None:
        if "_rels/.rels" not in self.parts:
            return None
        for rel in self.relationships("_rels/.rels"):
            if (rel.get("Type") or "").lower().endswith(_MAIN_REL_TYPES) and \
                    (rel.get("TargetMode") or "").lower() != "external":
                return _resolve("", rel.get("Target") or "")
        return None

    # --- removing --------------------------------------------------------------------------------------------------

    def remove_part(self, key: str, finding: str) -> None:
        if key in self.removed or key not in self.parts or key == CONTENT_TYPES:
            return
        self.removed.add(key)
        self.findings.append(finding)
        self.changed = True
        rels = _norm(_rels_name(self.actual[key]))
        if rels in self.parts:
            self.removed.add(rels)

    def classify_parts(self) -> None:
        """Remove parts by name, folder and content type."""
        for key in list(self.order):
            directory, base = posixpath.split(key)
            folders = set(directory.split("/"))
            content_type = self.content_type(key)
            if base.startswith("vbaproject") and base.endswith(".bin"):
                self.remove_part(key, "ooxml:vbaProject.bin")
            elif base == "vbadata.xml":
                self.remove_part(key, "ooxml:vbaData.xml")
            elif "activex" in folders:
                self.remove_part(key, "ooxml:activeX")
            elif "customui" in folders:
                self.remove_part(key, "ooxml:customUI")
            elif "macrosheets" in folders:
                self.remove_part(key, "ooxml:macrosheet")
            elif "dialogsheets" in folders:
                self.remove_part(key, "ooxml:dialogsheet")
            elif "externallinks" in folders and "_rels" not in folders:
                if b"ddeLink" in self.parts[key]:
                    self.findings.append("ooxml:ddeLink")
                self.remove_part(key, "ooxml:externalLink")
            elif "embeddings" in folders and "_rels" not in folders:
                self._embedded(key)
            else:
                for marker, finding in _ACTIVE_CONTENT_TYPES:
                    if marker in content_type:
                        self.remove_part(key, finding)
                        break

    def _embedded(self, key: str) -> None:
        data = self.parts[key]
        base = posixpath.basename(key)
        if base.startswith("oleobject") or base.endswith(".bin"):
            self.remove_part(key, "ooxml:oleObject")
            return
        if data.startswith(b"PK\x03\x04"):
            try:
                child = self.ctx.child()
            except LimitExceeded:
                self.remove_part(key, "ooxml:embedded-package")
                return
            result = self.ctx.dispatch(data, "office", self.actual[key], None, child)
            if result.action == "kept":
                return
            self.findings.extend(result.findings)
            self.remove_part(key, "ooxml:embedded-package")
            return
        self.remove_part(key, "ooxml:embedded-object")

    def drop_relationships(self) -> None:
        """Drop external relationships and those of active types or pointing to removed parts; repeat until stable."""
        while True:
            before = len(self.removed)
            for rels_key in self.rels_files():
                self._drop_in(rels_key)
            if len(self.removed) == before:
                return

    def _drop_in(self, rels_key: str) -> None:
        source_name = _rels_source(self.actual[rels_key])
        assert source_name is not None
        source = _norm(source_name)
        root = parse_xml(self.parts[rels_key])
        dropped: list[str] = []
        for rel in [child for child in root if _local(child)[1] == "Relationship"]:
            rel_type = (rel.get("Type") or "").lower()
            external = (rel.get("TargetMode") or "").lower() == "external"
            drop_finding: str | None = None
            if external:
                drop_finding = "ooxml:external-relationship"
                for suffix, finding in _EXTERNAL_REL_FINDINGS:
                    if rel_type.endswith(suffix):
                        self.findings.append(finding)
            else:
                target = _resolve(source_name, rel.get("Target") or "")
                for suffix, finding in _ACTIVE_REL_TYPES:
                    if rel_type.endswith(suffix):
                        drop_finding = finding
                        self.remove_part(target, finding)
                        break
                if drop_finding is None and target in self.removed:
                    drop_finding = ""
            if drop_finding is not None:
                if drop_finding:
                    self.findings.append(drop_finding)
                dropped.append(rel.get("Id") or "")
                root.remove(rel)
        if dropped:
            self.changed = True
            self.parts[rels_key] = serialize_xml(root)
            self.dropped_ids.setdefault(source, set()).update(dropped)

    # --- rewriting XML parts ---------------------------------------------------------------------------------------

    def fix_references(self) -> None:
        """Drop the references to dropped relationships from the parts that held them."""
        pending, self.dropped_ids = self.dropped_ids, {}
        for source, ids in pending.items():
            if not source or source in self.removed or source not in self.parts:
                continue
            try:
                root = parse_xml(self.parts[source])
            except Unreadable:
                if source.endswith(".vml"):
                    continue  # legacy VML is often not well-formed; a dangling id in it is harmless
                raise
            self._fix_workbook(root, ids)
            for element in list(root.iter()):
                if element.getparent() is None and element is not root:
                    continue  # already removed with an ancestor
                self._fix_element(element, ids)
            self.parts[source] = serialize_xml(root)

    @staticmethod
    def _fix_element(element: etree._Element, ids: set[str]) -> None:
        if not isinstance(element.tag, str) or not any(value in ids for value in element.attrib.values()):
            return
        namespace, local = _local(element)
        if not local:
            return  # comment or processing instruction
        for attr, value in list(element.attrib.items()):
            attr_q = etree.QName(attr)
            if value not in ids or not (attr_q.namespace in _R_NAMESPACES or
                                        (attr_q.namespace == _O_NAMESPACE and attr_q.localname == "relid")):
                continue
            if (namespace in _W_NAMESPACES and local in _REMOVE_ELEMENTS_W) or \
                    (namespace in _X_NAMESPACES and local in _REMOVE_ELEMENTS_X):
                _remove_element(element)
                return
            if namespace in _A_NAMESPACES and local in _EMPTY_ID_ELEMENTS_A:
                element.set(attr, "")
            else:
                del element.attrib[attr]

    def _fix_workbook(self, root: etree._Element, ids: set[str]) -> None:
        """Before macro sheets leave ``<sheets>``: renumber localSheetId, drop Auto_Open names, fix the active tab."""
        namespace, local = _local(root)
        if namespace not in _X_NAMESPACES or local != "workbook":
            return
        sheets = [el for el in root.iter() if _local(el)[1] == "sheet" and _local(el)[0] in _X_NAMESPACES]
        gone = [index for index, sheet in enumerate(sheets)
                if any(etree.QName(attr).namespace in _R_NAMESPACES and value in ids
                       for attr, value in sheet.attrib.items())]
        remaining = len(sheets) - len(gone)
        if sheets and remaining == 0:
            raise Unreadable("macro-only")
        for name in [el for el in root.iter() if _local(el)[1] == "definedName"]:
            if _AUTO_NAME.match(name.get("name") or ""):
                self.findings.append("ooxml:auto-open")
                _remove_element(name)
                continue
            local_id = name.get("localSheetId")
            if local_id is None or not gone:
                continue
            try:
                index = int(local_id)
            except ValueError:
                _remove_element(name)
                continue
            if index in gone:
                _remove_element(name)
            else:
                name.set("localSheetId", str(index - sum(1 for g in gone if g < index)))
        names_left = [el for el in root.iter() if _local(el)[1] == "definedNames"]
        for container in names_left:
            if not any(isinstance(child.tag, str) for child in container):
                _remove_element(container)
        if gone:
            for view in [el for el in root.iter() if _local(el)[1] == "workbookView"]:
                for attr in ("activeTab", "firstSheet"):
                    value = view.get(attr)
                    if value is not None and (not value.isdigit() or int(value) >= remaining):
                        view.set(attr, "0")

    def strip_auto_names(self, main: str | None) -> None:
        """Auto_Open-style names in a workbook even when no sheet is removed."""
        if main is None or main in self.removed or main not in self.parts or b"definedName" not in self.parts[main]:
            return
        if b"auto_" not in self.parts[main].lower():
            return
        root = parse_xml(self.parts[main])
        before = len(self.findings)
        self._fix_workbook(root, set())
        if len(self.findings) != before:
            self.changed = True
            self.parts[main] = serialize_xml(root)

    def strip_dde(self) -> None:
        for key in self.order:
            if key in self.removed or not key.endswith(".xml"):
                continue
            data = self.parts[key]
            if b"instrText" not in data and b"fldSimple" not in data:
                continue
            root = parse_xml(data)
            if _strip_dde_fields(root):
                self.findings.append("ooxml:DDE")
                self.changed = True
                self.parts[key] = serialize_xml(root)

    def remove_signatures(self) -> None:
        for key in list(self.order):
            if key.startswith("_xmlsignatures/") and key not in self.removed:
                self.remove_part(key, "ooxml:signature-invalidated")

    # --- finishing -------------------------------------------------------------------------------------------------

    def rewrite_content_types(self, main: str | None) -> str | None:
        """Drop entries of removed parts and unused extensions; the macro-enabled main type becomes the plain one.

        Returns the main part's final content type (lower case)."""
        root = parse_xml(self.parts[CONTENT_TYPES])
        present = [key for key in self.order if key not in self.removed]
        used_extensions = {posixpath.splitext(key)[1].lstrip(".") for key in present}
        main_type: str | None = None
        for child in list(root):
            _, local = _local(child)
            content_type = (child.get("ContentType") or "").lower()
            if local == "Override":
                part = _norm(child.get("PartName") or "")
                if part in self.removed:
                    root.remove(child)
                    continue
                if content_type in MACRO_TO_PLAIN:
                    child.set("ContentType", MACRO_TO_PLAIN[content_type])
                    content_type = MACRO_TO_PLAIN[content_type]
                    self.findings.append("ooxml:macroEnabled-type")
                    self.changed = True
                if part == main:
                    main_type = content_type
            elif local == "Default":
                extension = (child.get("Extension") or "").lower()
                if extension not in ("rels", "xml") and extension not in used_extensions:
                    root.remove(child)
        if main_type is None and main is not None:
            main_type = self.defaults.get(posixpath.splitext(main)[1].lstrip("."))
        self.parts[CONTENT_TYPES] = serialize_xml(root)
        return main_type

    def build(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            keys = [CONTENT_TYPES] + [key for key in self.order if key != CONTENT_TYPES and key not in self.removed]
            for key in keys:
                name = "[Content_Types].xml" if key == CONTENT_TYPES else self.actual[key]
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, self.parts[key])
        return out.getvalue()


def _strip_dde_fields(root: etree._Element) -> int:
    """Unwrap DDE/DDEAUTO fields, keeping their displayed result. Returns how many were removed."""
    count = 0
    for field in list(root.iter(*(f"{{{namespace}}}fldSimple" for namespace in _W_NAMESPACES))):
        instr = next((value for attr, value in field.attrib.items() if etree.QName(attr).localname == "instr"), "")
        if not _DDE_INSTRUCTION.search(instr):
            continue
        parent = field.getparent()
        if parent is None:
            continue
        index = parent.index(field)
        for child in list(field):
            parent.insert(index, child)
            index += 1
        _remove_element(field)
        count += 1
    # Complex fields: begin fldChar, instrText runs, separate fldChar, result runs, end fldChar (possibly nested).
    stack: list[dict[str, list[etree._Element]]] = []
    doomed: list[etree._Element] = []
    field_tags = [f"{{{namespace}}}{local}" for namespace in _W_NAMESPACES
                  for local in ("fldChar", "instrText", "delInstrText")]
    for element in list(root.iter(*field_tags)):
        _, local = _local(element)
        if local == "fldChar":
            kind = next((value for attr, value in element.attrib.items()
                         if etree.QName(attr).localname == "fldCharType"), "")
            if kind == "begin":
                stack.append({"markers": [element], "instr": [], "separated": []})
            elif kind == "separate" and stack:
                stack[-1]["markers"].append(element)
                stack[-1]["separated"].append(element)
            elif kind == "end" and stack:
                field = stack.pop()
                field["markers"].append(element)
                text = "".join(el.text or "" for el in field["instr"])
                if _DDE_INSTRUCTION.search(text):
                    doomed.extend(field["markers"] + field["instr"])
                    count += 1
                if stack and not stack[-1]["separated"]:  # nested in the outer field's instruction
                    stack[-1]["instr"].extend(field["instr"])
                    stack[-1]["markers"].extend(field["markers"])
        elif local in ("instrText", "delInstrText") and stack:
            stack[-1]["instr"].append(element)
    for element in doomed:
        run = element.getparent()
        if run is None:
            continue
        run.remove(element)
        if _local(run)[1] == "r" and not any(isinstance(child.tag, str) and _local(child)[1] != "rPr"
                                              for child in run):
            _remove_element(run)
    return count


def disarm_ooxml(data: bytes, filename: str | None, content_type: str | None, ctx: Context) -> CdrResult:
    """Disarm one OOXML package. Raises LimitExceeded / Unreadable for the dispatcher to report."""
    package = _Package(data, ctx)
    main = package.main_part()
    main_type_before = package.content_type(main) if main else ""
    if main_type_before.startswith(_XLSB_TYPE):
        return removed("unsupported-xlsb", ["ooxml:xlsb"], filename=filename, content_type=content_type)
    package.classify_parts()
    package.drop_relationships()
    package.strip_dde()
    package.strip_auto_names(main)
    package.fix_references()
    main_type = package.rewrite_content_types(main)
    if not package.changed:
        return CdrResult(action="kept", data=data, filename=filename, content_type=content_type, findings=())
    package.remove_signatures()
    package.drop_relationships()
    package.fix_references()
    main_type = package.rewrite_content_types(main)
    new_name = filename
    new_type = content_type
    if main_type in PLAIN_FILE_TYPES:
        plain_ext, plain_mime = PLAIN_FILE_TYPES[main_type]
        if filename and (ext_of(filename) in MACRO_EXTENSIONS or main_type_before in MACRO_TO_PLAIN):
            new_name = with_ext(filename, plain_ext)
        new_type = plain_mime
    return CdrResult(action="disarmed", data=package.build(), filename=new_name, content_type=new_type,
                     findings=dedupe(package.findings))
