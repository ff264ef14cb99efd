"""The policy PDF builder: Japanese text embedded, extractable and drawn with the right glyphs; contents; footers.

No database: these tests only turn plain values into PDF bytes and read them back with PDFium (pypdfium2).
"""

from __future__ import annotations

import ctypes
import dataclasses
import io
import re
from importlib.resources import as_file, files
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont
from reportlab.pdfgen.canvas import Canvas

from mamoru.reports import PdfClause, PdfDocument, render_pdf
from mamoru.reports.pdf import FONT_FILE, FONT_PACKAGE

TITLE = "情報セキュリティ基本方針"
SUBTITLE = "みらい市情報セキュリティポリシー"
VERSION = "第３版"
EFFECTIVE = "令和７年４月１日"
SHORT_SENTENCE = "この方針で使用する用語の意義は、別表のとおりとする。"
MARKUP = "<b>タグ</b> & 記号 < > もそのまま表示する。"
WRAPPED_SENTENCE = "職員等は、パスワードを１２文字以上とし、９０日ごとに変更しなければならない。"
LONG = (
    "本市は、保有する情報資産をサイバー攻撃、不正アクセス、マルウェア感染等の脅威から保護するため、"
    "組織的、人的、物理的及び技術的な情報セキュリティ対策を講じる。" * 3
    + WRAPPED_SENTENCE
    + "また、クラウドサービスを利用する場合は、事業者の管理体制を確認し、定期的に見直すものとする。" * 3
)
# Commas and stops at every offset: some fall where a line would break, and no line may start with one (kinsoku).
PUNCTUATED = "".join("情報" * (k % 7) + "資産、" + "対策。" * (k % 2) for k in range(1, 60))
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
CHAPTERS = ["目的", "定義", "対象範囲", "情報セキュリティ対策", "監査及び自己点検"]


def _policy(**changes: Any) -> PdfDocument:
    clauses = [
        PdfClause("１", "目的", "本基本方針は、本市の情報資産を適切に保護することを目的とする。"),
        PdfClause("２", "定義", SHORT_SENTENCE),
        PdfClause("３", "対象範囲", "本基本方針の対象とする情報資産は、次のとおりとする。"),
        PdfClause("（１）", "", "ネットワーク、情報システム及びこれらに関する設備", level=2),
        PdfClause("（２）", "", "ネットワーク及び情報システムで取り扱う情報", level=2),
        PdfClause("６", "情報セキュリティ対策", f"{LONG}\n{PUNCTUATED}"),  # two paragraphs
        PdfClause("６．１", "物理的セキュリティ", "サーバ室への入退室は、許可された者に限る。", level=1),
        PdfClause("７", "監査及び自己点検", MARKUP),
    ]
    clauses += [
        PdfClause(f"７．{n}".translate(FULL_WIDTH_DIGITS), f"自己点検項目{n}", LONG, level=1) for n in range(1, 9)
    ]
    glossary = [("情報資産", "ネットワーク、情報システム及びこれらで取り扱う情報"), ("CSIRT", "事故対応チーム")]
    doc = PdfDocument(TITLE, SUBTITLE, VERSION, EFFECTIVE, clauses, glossary, footer_note="取扱注意")
    return dataclasses.replace(doc, **changes)


@pytest.fixture(scope="module")
def policy_pdf() -> bytes:
    return render_pdf(_policy())


def _page_texts(pdf_bytes: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    return [page.get_textpage().get_text_range() for page in pdf]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- glyph checks: what PDFium draws must be the Noto Sans JP glyph of that very character -----------------------

SCALE = 8  # render at 576 dpi: a 10.5 pt character is 84 pixels tall, small kana and 、。 keep their shape


def _binary(image: Image.Image, *, dark: bool) -> Image.Image:
    """Ink pixels 255, the rest 0 (``dark``: ink is dark on light, as rendered pages are)."""
    return image.convert("L").point(lambda v: 255 if (v < 128 if dark else v >= 128) else 0)


def _drawn_glyphs(pdf_bytes: bytes, text: str, page_index: int = 0) -> list[Image.Image]:
    """Rasterise the page and cut out each character of ``text`` (which must sit on one line) by its box."""
    page = pdfium.PdfDocument(pdf_bytes)[page_index]
    textpage = page.get_textpage()
    start = textpage.get_text_range().find(text)
    assert start >= 0, f"{text!r} not on page {page_index + 1}"
    bitmap = _binary(page.render(scale=SCALE, grayscale=True).to_pil(), dark=True)
    height = page.get_height()
    glyphs = []
    for index in range(start, start + len(text)):
        left, bottom, right, top = textpage.get_charbox(index, loose=True)
        x0, y0, x1, y1 = (round(v * SCALE) for v in (left, height - top, right, height - bottom))
        glyphs.append(bitmap.crop((x0, y0, x1 + 1, y1 + 1)))
    return glyphs


def _reference_glyph(char: str, weight: int) -> Image.Image:
    """The character drawn by FreeType (Pillow) straight from the shipped font file, at ``weight``."""
    with as_file(files(FONT_PACKAGE) / FONT_FILE) as path:
        font = ImageFont.truetype(str(path), 160)
        font.set_variation_by_axes([weight])
        image = Image.new("L", (240, 240))
        ImageDraw.Draw(image).text((20, 0), char, font=font, fill=255)
    return _binary(image, dark=False)


def _ink(glyph: Image.Image) -> float:
    return glyph.histogram()[255] / (glyph.width * glyph.height)


def _overlap(a: Image.Image, b: Image.Image) -> float:
    """Intersection over union of two glyphs, each cropped to its ink and scaled to 48x48."""

    def normal(glyph: Image.Image) -> Image.Image:
        box = glyph.getbbox()
        return glyph.crop(box).resize((48, 48)) if box else Image.new("L", (48, 48))

    a, b = normal(a), normal(b)
    union = ImageChops.lighter(a, b).histogram()[255]
    return ImageChops.multiply(a, b).histogram()[255] / max(union, 1)


def _assert_noto_glyphs(drawn: list[Image.Image], text: str, weight: int) -> None:
    for glyph, char in zip(drawn, text, strict=True):
        assert _ink(glyph) > 0.01, f"{char!r} drew (almost) nothing"  # 、 inks about 3% of its box
        own = _overlap(glyph, _reference_glyph(char, weight))
        assert own > 0.7, f"{char!r} does not look like Noto Sans JP {weight} (overlap {own:.2f})"
    # Tofu would be one box for every character: different characters must look different.
    for i, a in enumerate(drawn):
        for j in range(i + 1, len(drawn)):
            if text[i] != text[j]:
                assert _overlap(a, drawn[j]) < 0.8, f"{text[i]!r} and {text[j]!r} are drawn alike (tofu?)"


def test_japanese_is_drawn_with_the_shipped_font_bold_and_regular(policy_pdf: bytes) -> None:
    _assert_noto_glyphs(_drawn_glyphs(policy_pdf, TITLE), TITLE, 700)  # the title is set in Bold
    page = next(i for i, text in enumerate(_page_texts(policy_pdf)) if SHORT_SENTENCE in text)
    _assert_noto_glyphs(_drawn_glyphs(policy_pdf, SHORT_SENTENCE, page), SHORT_SENTENCE, 400)  # body: Regular


def test_the_glyph_check_rejects_a_font_without_japanese() -> None:
    """The check above is not vacuous: Japanese set in Helvetica (no Japanese glyphs, not embedded) fails it."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    canvas.setFont("Helvetica", 22)
    canvas.drawString(72, 700, TITLE)
    canvas.showPage()
    canvas.save()
    drawn_as = pdfium.PdfDocument(buffer.getvalue())[0].get_textpage().get_text_range()
    assert drawn_as != TITLE  # ReportLab substitutes a placeholder for each character
    with pytest.raises(AssertionError):
        _assert_noto_glyphs(_drawn_glyphs(buffer.getvalue(), drawn_as), TITLE, 700)


def test_page_one_draws_plenty_of_ink_in_the_title(policy_pdf: bytes) -> None:
    drawn = _drawn_glyphs(policy_pdf, TITLE)
    assert sum(_ink(glyph) for glyph in drawn) / len(drawn) > 0.15


# --- fonts, text, structure ----------------------------------------------------------------------------------------


def test_every_text_object_uses_an_embedded_noto_sans_jp(policy_pdf: bytes) -> None:
    pdf = pdfium.PdfDocument(policy_pdf)
    seen = set()
    for page in pdf:
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
            font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
            size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
            name = ctypes.create_string_buffer(size)
            pdfium_c.FPDFFont_GetBaseFontName(font, name, size)
            seen.add(name.value.decode())
            assert pdfium_c.FPDFFont_GetIsEmbedded(font) == 1, name.value
    assert seen and all("NotoSansJP-" in name for name in seen), seen
    assert any("-Regular-" in name for name in seen) and any("-Bold-" in name for name in seen)
    # In the file itself: every font descriptor carries a TrueType font program; no built-in or CID fonts named.
    assert policy_pdf.count(b"/FontFile2") == policy_pdf.count(b"/Type /FontDescriptor") > 0
    for unwanted in (b"/Type1", b"/Type0", b"/CIDFontType", b"Helvetica", b"HeiseiMin", b"HeiseiKakuGo"):
        assert unwanted not in policy_pdf


def test_title_block_and_metadata(policy_pdf: bytes) -> None:
    first = _squash(_page_texts(policy_pdf)[0])
    for expected in (TITLE, SUBTITLE, f"版{VERSION}", f"施行日{EFFECTIVE}", "目次"):
        assert expected in first
    metadata = pdfium.PdfDocument(policy_pdf).get_metadata_dict()
    assert metadata["Title"] == TITLE
    assert metadata["Subject"] == SUBTITLE
    assert b"/Lang (ja)" in policy_pdf


def test_japanese_text_comes_back_out(policy_pdf: bytes) -> None:
    text = _squash("".join(_page_texts(policy_pdf)))
    headings = ("６情報セキュリティ対策", "６．１物理的セキュリティ", "（１）ネットワーク")
    for expected in (TITLE, *headings, WRAPPED_SENTENCE):  # the sentence sits mid-paragraph, across a line break
        assert expected in text
    assert _squash(MARKUP) in text  # &, < and > are printed, not read as markup
    assert "情報資産ネットワーク、情報システム及びこれらで取り扱う情報" in text  # the glossary


def test_japanese_paragraphs_wrap_inside_the_margins(policy_pdf: bytes) -> None:
    lines = [line for text in _page_texts(policy_pdf) for line in text.split("\r\n")]
    assert len([line for line in lines if line and line in LONG]) >= 5  # one unspaced paragraph, many lines
    assert [line for line in lines if line.startswith(("、", "。"))] == []  # CJK line breaking keeps them at line ends
    margin = 22 * 72 / 25.4  # 22 mm, in points
    for page in pdfium.PdfDocument(policy_pdf):
        textpage = page.get_textpage()
        for index in range(textpage.count_chars()):
            left, _, right, _ = textpage.get_charbox(index)
            assert left >= margin - 1 and right <= page.get_width() - margin + 1, textpage.get_text_range(index, 1)


def test_contents_list_the_chapters_with_their_page_numbers(policy_pdf: bytes) -> None:
    pages = _page_texts(policy_pdf)
    entries = [re.fullmatch(r"(.+?)[ .]+(\d+)", line) for line in pages[0].splitlines()]
    listed = [(_squash(m[1]), int(m[2])) for m in entries if m and "ページ" not in m[1]]
    expected = [f"{n}{heading}" for n, heading in zip("１２３６７", CHAPTERS, strict=True)] + ["用語の定義"]
    assert [entry for entry, _ in listed] == expected  # level 0 only: no "６．１" or "（１）"
    for entry, number in listed:
        first_page = next(i + 1 for i, text in enumerate(pages[1:], start=1) if entry in _squash(text))
        assert number == first_page, entry
    assert [number for _, number in listed] == sorted(number for _, number in listed)


def test_footer_on_every_page(policy_pdf: bytes) -> None:
    pages = _page_texts(policy_pdf)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"版: {VERSION}" in text and f"施行日: {EFFECTIVE}" in text
        assert f"{number} ページ" in text
        assert "取扱注意" in text


def test_labels_come_from_the_caller() -> None:
    labels = {"toc": "Contents", "version": "Version", "effective": "In force", "glossary": "Terms",
              "page": "Page {page}"}
    pages = _page_texts(render_pdf(_policy(labels=labels, footer_note="")))
    assert "Contents" in pages[0] and "目次" not in pages[0]
    assert "Terms" in pages[0]  # the glossary's entry in the contents
    for number, text in enumerate(pages, start=1):
        assert f"Version: {VERSION}" in text and f"In force: {EFFECTIVE}" in text and f"Page {number}" in text


def test_same_document_same_bytes(policy_pdf: bytes) -> None:
    assert policy_pdf.startswith(b"%PDF-")
    assert render_pdf(_policy()) == policy_pdf


def test_documents_rendered_one_after_another_keep_their_own_glyphs(policy_pdf: bytes) -> None:
    """Each document's font is cut to its characters; a later document must not be given an earlier one's font."""
    clauses = [PdfClause("第１条", "趣旨", "電子決裁を原則とする。")]
    other = render_pdf(PdfDocument("文書管理規程", "", "第１版", "令和８年１月１日", clauses))
    text = _squash("".join(_page_texts(other)))
    for expected in ("文書管理規程", "第１条趣旨", "電子決裁を原則とする。"):
        assert expected in text
    _assert_noto_glyphs(_drawn_glyphs(other, "文書管理規程"), "文書管理規程", 700)


def test_a_long_document_renders() -> None:
    clauses = [
        PdfClause(f"第{n // 4 + 1}章", f"章見出し{n // 4 + 1}", LONG) if n % 4 == 0 else PdfClause(f"{n}", "", LONG, 2)
        for n in range(200)
    ]
    pdf = render_pdf(PdfDocument(TITLE, SUBTITLE, VERSION, EFFECTIVE, clauses))
    pages = _page_texts(pdf)
    assert len(pages) > 50
    contents = _squash("".join(pages[:3]))
    assert "第1章章見出し1" in contents and "第50章章見出し50" in contents
    assert f"{len(pages)} ページ" in pages[-1]
