"""A small PDF builder for policy documents: title block, contents, clauses, glossary, a footer on every page.

Japanese text is set in Noto Sans JP (SIL Open Font License 1.1), which the ``justmytype-intl-cjk`` wheel ships, so
nothing is downloaded at run time and no system font is needed. That file is a *variable* TrueType font whose default
instance is Thin, and ReportLab embeds only static TrueType outlines. So each document gets its own small fonts:
fontTools cuts the variable font down to the characters the document uses and pins its weight axis (Regular for
text, Bold for headings); ReportLab then embeds subsets of those, so every glyph shown travels inside the PDF.

The module knows nothing of Django: callers pass plain strings (already translated; ``labels`` overrides the
Japanese defaults of the few words the builder prints itself).
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from types import MappingProxyType
from typing import Any
from xml.sax.saxutils import escape

from fontTools import subset
from fontTools.ttLib import TTFont as OpenTypeFont
from fontTools.varLib import instancer
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

#: Words the builder prints itself. ``page`` is a template: ``{page}`` becomes the page number.
DEFAULT_LABELS: Mapping[str, str] = MappingProxyType(
    {"toc": "目次", "version": "版", "effective": "施行日", "glossary": "用語の定義", "page": "{page} ページ"}
)

FONT_PACKAGE = "justmytype_intl_cjk"
FONT_FILE = "fonts/ofl/notosansjp/NotoSansJP[wght].ttf"
_ALWAYS_CHARS = "".join(chr(code) for code in range(0x20, 0x7F)) + "\u3000"  # ASCII (page numbers, TOC dots)
_WEIGHTS = (("Regular", 400), ("Bold", 700))


@dataclass(frozen=True)
class PdfClause:
    """One clause. ``level`` 0 is a chapter/section (listed in the contents), 1 a sub-clause, 2 an item.

    A clause without a heading prints its number in bold at the start of its text (an item such as 「（１）…」).
    ``text`` may hold several paragraphs, one per line. Levels above 2 print as items.
    """

    number: str
    heading: str
    text: str
    level: int = 0


@dataclass(frozen=True)
class PdfDocument:
    """Everything printed in one policy PDF. ``labels`` may override any key of :data:`DEFAULT_LABELS`."""

    title: str
    subtitle: str
    version_label: str
    effective_date: str
    clauses: list[PdfClause]
    glossary: list[tuple[str, str]] = field(default_factory=list)
    footer_note: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    lang: str = "ja"

    def label(self, key: str) -> str:
        """The caller's label for ``key``, else the Japanese default (lazy translations become plain strings)."""
        return str(self.labels.get(key, DEFAULT_LABELS[key]))

    def strings(self) -> Iterable[str]:
        """Every string the PDF may print (the font is cut down to these characters)."""
        yield from (self.title, self.subtitle, self.version_label, self.effective_date, self.footer_note)
        yield from (self.label(key) for key in DEFAULT_LABELS)
        for clause in self.clauses:
            yield from (clause.number, clause.heading, clause.text)
        for term, definition in self.glossary:
            yield from (term, definition)


def render_pdf(doc: PdfDocument) -> bytes:
    """Render ``doc`` as PDF bytes (A4). The same document always gives the same bytes.

    A document whose set of characters has not been seen before in this process costs about a second more, to
    build its fonts; a policy of a few hundred clauses renders in a few seconds.
    """
    chars = "".join(sorted(set(_ALWAYS_CHARS).union(*doc.strings())))
    regular, bold = _register_fonts(chars)
    buffer = io.BytesIO()
    template = _PolicyTemplate(buffer, doc, regular)
    template.multiBuild(_story(doc, _Styles(regular, bold), template.width), maxPasses=10)
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def _variable_font() -> bytes:
    return (files(FONT_PACKAGE) / FONT_FILE).read_bytes()


@functools.lru_cache(maxsize=32)
def _register_fonts(chars: str) -> tuple[str, str]:
    """Register static Regular and Bold fonts covering ``chars`` with ReportLab; return their names.

    Names are derived from the character set, so equal documents share fonts and concurrent renders never replace a
    font another render is using. The name is also the font's PostScript name: ReportLab treats two fonts with the
    same PostScript name as one (the first registered), which would give a document another document's glyphs.
    ReportLab keeps registered fonts for the life of the process: a few hundred kB per distinct character set.
    """
    digest = hashlib.sha256(chars.encode()).hexdigest()[:12]
    names = tuple(f"NotoSansJP-{style}-{digest}" for style, _ in _WEIGHTS)
    if set(names) <= set(pdfmetrics.getRegisteredFontNames()):
        return names[0], names[1]
    font = OpenTypeFont(io.BytesIO(_variable_font()), recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []  # ReportLab places glyphs by cmap and advance width; no shaping tables needed
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "STAT", "vhea", "vmtx"]
    options.notdef_outline = True  # a character the font lacks shows as a box, not as nothing
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    for name, (_, weight) in zip(names, _WEIGHTS, strict=True):
        static = instancer.instantiateVariableFont(font, {"wght": weight})
        for record in static["name"].names:
            if record.nameID == 6:  # the PostScript name ReportLab writes as the PDF's BaseFont
                record.string = name
        out = io.BytesIO()
        static.save(out)
        out.seek(0)
        pdfmetrics.registerFont(TTFont(name, out))
    return names[0], names[1]


class _Styles:
    """Paragraph styles for one render; every style wraps Japanese text between any two characters (CJK)."""

    def __init__(self, regular: str, bold: str) -> None:
        base = ParagraphStyle("body", fontName=regular, fontSize=10.5, leading=17, wordWrap="CJK", spaceAfter=4)
        self.regular, self.bold = regular, bold
        self.title = ParagraphStyle("title", base, fontName=bold, fontSize=22, leading=32, alignment=TA_CENTER)
        self.subtitle = ParagraphStyle("subtitle", base, fontSize=14, leading=22, alignment=TA_CENTER, spaceAfter=18)
        self.meta = ParagraphStyle("meta", base, fontSize=11, alignment=TA_CENTER)
        self.toc = ParagraphStyle("toc", base, leading=18, rightIndent=28, spaceAfter=0)
        self.toc_heading = ParagraphStyle("toc_heading", base, fontName=bold, fontSize=14, leading=21, spaceAfter=6)
        self.headings = [
            ParagraphStyle("h0", base, fontName=bold, fontSize=14, leading=21, spaceBefore=14, spaceAfter=6),
            ParagraphStyle("h1", base, fontName=bold, fontSize=11.5, leading=18, spaceBefore=8, spaceAfter=3),
            ParagraphStyle("h2", base, fontName=bold, leftIndent=10.5, spaceBefore=4, spaceAfter=2),
        ]
        for style in self.headings:
            style.keepWithNext = 1
        self.bodies = [ParagraphStyle(f"body{level}", base, leftIndent=10.5 * level) for level in range(3)]
        self.cell = ParagraphStyle("cell", base, spaceAfter=0)
        self.term = ParagraphStyle("term", self.cell, fontName=bold)


class _Heading(Paragraph):  # type: ignore[misc]  # ReportLab ships no type hints
    """A heading that the document template lists in the contents and in the PDF outline."""

    def __init__(self, text: str, style: ParagraphStyle, toc_key: str | None = None) -> None:
        super().__init__(escape(text), style)
        self.plain_text, self.toc_key = text, toc_key


class _PolicyTemplate(BaseDocTemplate):  # type: ignore[misc]
    """A4 pages with a footer; collects level-0 headings for the table of contents."""

    def __init__(self, buffer: io.BytesIO, doc: PdfDocument, footer_font: str) -> None:
        super().__init__(
            buffer, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm, bottomMargin=24 * mm,
            title=doc.title, subject=doc.subtitle, creator="Mamoru", lang=doc.lang, invariant=1,
            initialFontName=footer_font,  # else every page names Helvetica, a font the PDF does not carry
        )
        self.policy, self.footer_font = doc, footer_font
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._footer)])

    def afterFlowable(self, flowable: Flowable) -> None:
        key = getattr(flowable, "toc_key", None)
        if key:
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.plain_text, key, level=0)
            self.notify("TOCEntry", (0, escape(flowable.plain_text), self.page, key))

    def _footer(self, canvas: Any, _template: Any) -> None:
        doc, left, right, y = self.policy, self.leftMargin, self.leftMargin + self.width, 14 * mm
        canvas.saveState()
        canvas.setStrokeColor(colors.grey)
        canvas.setLineWidth(0.4)
        canvas.line(left, y + 10, right, y + 10)
        canvas.setFont(self.footer_font, 8.5)
        canvas.drawString(
            left, y, f"{doc.label('version')}: {doc.version_label}　{doc.label('effective')}: {doc.effective_date}"
        )
        canvas.drawRightString(right, y, doc.label("page").replace("{page}", str(canvas.getPageNumber())))
        if doc.footer_note:
            canvas.drawCentredString((left + right) / 2, y - 11, doc.footer_note)
        canvas.restoreState()


def _story(doc: PdfDocument, styles: _Styles, width: float) -> list[Flowable]:
    story: list[Flowable] = [
        Spacer(1, 30 * mm),
        Paragraph(escape(doc.title), styles.title),
        Paragraph(escape(doc.subtitle), styles.subtitle) if doc.subtitle else Spacer(1, 18),
        Paragraph(escape(f"{doc.label('version')}　{doc.version_label}"), styles.meta),
        Paragraph(escape(f"{doc.label('effective')}　{doc.effective_date}"), styles.meta),
        Spacer(1, 16 * mm),
        Paragraph(escape(doc.label("toc")), styles.toc_heading),  # not kept with a long contents: page 1 would empty
        TableOfContents(levelStyles=[styles.toc], dotsMinLevel=0, tableStyle=TableStyle([
            ("FONT", (0, 0), (-1, -1), styles.regular),  # the default, Helvetica, would be named (not embedded)
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ])),
        PageBreak(),
    ]
    for index, clause in enumerate(doc.clauses):
        story.extend(_clause(clause, styles, f"clause-{index}"))
    if doc.glossary:
        story.append(_Heading(doc.label("glossary"), styles.headings[0], "glossary"))
        rows = [
            [Paragraph(escape(term), styles.term), Paragraph(escape(definition), styles.cell)]
            for term, definition in doc.glossary
        ]
        table = Table(rows, colWidths=(width * 0.3, width * 0.7))
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), styles.regular),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
        ]))
        story.append(table)
    return story


def _clause(clause: PdfClause, styles: _Styles, key: str) -> list[Flowable]:
    """The flowables of one clause: a heading (when it has one) and one paragraph per line of text."""
    level = min(max(clause.level, 0), 2)
    lines = [line.strip() for line in clause.text.splitlines() if line.strip()]
    body = styles.bodies[level]
    if not clause.heading:  # an item: its number leads its first line, in bold
        first = escape(lines.pop(0)) if lines else ""
        lead = f'<font name="{styles.bold}">{escape(clause.number)}</font>　' if clause.number else ""
        return [Paragraph(lead + first, body), *(Paragraph(escape(line), body) for line in lines)]
    title = f"{clause.number}　{clause.heading}" if clause.number else clause.heading
    heading = _Heading(title, styles.headings[level], key if level == 0 else None)
    return [heading, *(Paragraph(escape(line), body) for line in lines)]
