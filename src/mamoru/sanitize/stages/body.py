"""Stage 4 — body: the readable text of the message, in document order.

* multipart/alternative: text/plain when present (and not empty), else the HTML (or the multipart/related holding
  it), else the last alternative; the alternatives not shown are recorded as removed.
* HTML becomes text with inscriptis: tables laid out, links shown as ``[text](url)`` (just the URL when the text
  is the URL), scripts, styles and images gone. text/enriched loses its markup. Delivery reports read as text.
* An attached message (message/rfc822) becomes a header block (差出人, 宛先, 日付, 件名) followed by its own text;
  its attachments are left to the attachments stage like any other.
* Every other leaf (and any part with a filename or ``Content-Disposition: attachment``) is an attachment.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from mamoru.sanitize import texts
from mamoru.sanitize.stages import Decoded, clean_text, decode_bytes, header_text, raw_header
from mamoru.sanitize.stages.parse import REPORT_TYPES

if TYPE_CHECKING:
    from mamoru.sanitize.pipeline import Context, Node

HTML_TYPES = frozenset({"text/html", "text/watch-html", "text/x-watch-html", "application/xhtml+xml"})
ENRICHED_TYPES = frozenset({"text/enriched", "text/richtext"})
TEXT_TYPES = frozenset({"text/plain"}) | HTML_TYPES | ENRICHED_TYPES | REPORT_TYPES
UTF8_LIKE = frozenset({"utf-8", "us-ascii"})

_HTML_CONFIG = ParserConfig(css=CSS_PROFILES["strict"].copy(), display_links=True, display_images=False)
_LINK = re.compile(r"\[((?:[^\[\]\n]|\[[^\[\]\n]{0,200}\]){0,500})\]\(([^()\s]{1,2000})\)")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile(r"(?is)<(script|style|head|title|template)\b.*?</\1\s*>|<!--.*?-->")
_BLOCK_END = re.compile(r"(?i)<br\b[^>]*>|</(?:p|div|tr|li|h[1-6]|table|blockquote|pre)\s*>")
HTML_LAYOUT_LIMIT = 2 * 1024 * 1024  # beyond this the layout would take seconds: markup is stripped instead
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+\n")
_ENRICHED_TAG = re.compile(r"<<|<[^<>]*>")
_ENRICHED_PARAM = re.compile(r"<param>.*?</param>", re.IGNORECASE | re.DOTALL)


def run(ctx: Context) -> None:
    if ctx.root is not None:
        ctx.blocks = render(ctx, ctx.root)


def is_text(node: Node) -> bool:
    """A leaf read as body text (everything else is an attachment)."""
    if node.disposition == "attachment" or node.filename:
        return False
    return node.broken or node.content_type in TEXT_TYPES


def render(ctx: Context, node: Node) -> list[str]:
    if node.kind == "leaf":
        if is_text(node):
            node.role = "body"
            text = leaf_text(ctx, node)
            return [text] if text.strip() else []
        node.role = "attachment"
        return []
    if node.kind == "message":
        inner: list[str] = [attached_header_block(node)]
        for child in node.children:
            inner += render(ctx, child)
        inner.append(texts.ATTACHED_MESSAGE_END)
        return inner
    if node.content_type == "multipart/alternative" and node.children:
        return render_alternative(ctx, node)
    blocks: list[str] = []
    for child in node.children:
        blocks += render(ctx, child)
    return blocks


def render_alternative(ctx: Context, node: Node) -> list[str]:
    children = node.children
    plain = next((c for c in children if c.kind == "leaf" and c.content_type == "text/plain" and is_text(c)), None)
    rich = next((c for c in children if _has_html(c)), None)
    chosen = plain
    if plain is not None and rich is not None and not leaf_text(ctx, plain, record=False).strip():
        chosen = rich  # an empty text/plain next to real HTML: show the HTML
    if chosen is None:
        chosen = rich or children[-1]
    shown = "text/plain" if chosen is plain else chosen.content_type
    for child in children:
        if child is not chosen:
            _drop_alternative(ctx, child, shown)
    return render(ctx, chosen)


def _has_html(node: Node) -> bool:
    if node.kind == "leaf":
        return node.content_type in HTML_TYPES and is_text(node)
    return node.kind == "multipart" and any(_has_html(child) for child in node.children)


def _drop_alternative(ctx: Context, node: Node, shown: str) -> None:
    if node.kind == "leaf":
        node.role = "alternative"
        reason = texts.REASONS["alternative" if shown == "text/plain" else "alternative-converted"]
        ctx.act(node, "removed", f"alternative not shown ({shown} shown)", reason_ja=reason)
        return
    for child in node.children:
        _drop_alternative(ctx, child, shown)


def attached_header_block(node: Node) -> str:
    inner = node.children[0].part if node.children else node.part
    lines = [texts.ATTACHED_MESSAGE_START]
    for name in ("from", "to", "cc", "date", "subject"):
        value = header_text(raw_header(inner, name))
        if value:
            lines.append(f"{texts.HEADER_LABELS[name]}: {value}")
    return "\n".join(lines)


def leaf_text(ctx: Context, node: Node, *, record: bool = True) -> str:
    """The text of a body leaf (cached on the node); records its PartAction unless ``record`` is false."""
    if node.text is None:
        node.text = _convert(ctx, node)
    text, action, detail, note = node.text
    if record:
        if note:
            ctx.defect(f"part {node.path}: {note}")
        ctx.act(node, action, detail)
    return text


def _convert(ctx: Context, node: Node) -> tuple[str, str, str, str]:
    data = ctx.payload(node)
    ctype = node.content_type
    declared = node.params.get("charset")
    if ctype in HTML_TYPES and not declared:
        match = _META_CHARSET.search(data, 0, 4096)
        declared = match.group(1).decode("ascii") if match else None
    decoded = decode_bytes(data, declared)
    text = clean_text(decoded.text.replace("\r\n", "\n").replace("\r", "\n"))
    out = ctx.policy.output_charset
    note = decoded.note
    if ctype in HTML_TYPES:
        text, failed = html_to_text(text)
        if failed:
            note = (note + "; " if note else "") + "html too large or too deeply nested to lay out; markup stripped"
        ctx.html_converted = True
        return text, "converted", "html to text" + _charset_detail(decoded, out, changed_only=True), note
    if ctype in ENRICHED_TYPES:
        text = _ENRICHED_TAG.sub(lambda m: "<" if m.group() == "<<" else "", _ENRICHED_PARAM.sub("", text))
        return text, "converted", f"{ctype.split('/')[1]} to text", note
    if node.broken:
        return text, "converted", "multipart without its boundary read as text", note
    if ctype in REPORT_TYPES:
        return text, "kept", "report read as text", note
    detail = _charset_detail(decoded, out, changed_only=False)
    if note or not _same_charset(decoded.charset, out):
        return text, "converted", detail.lstrip("; "), note
    return text, "kept", detail.lstrip("; "), note


def _same_charset(used: str, out: str) -> bool:
    return used == "us-ascii" or used == out or (out == "utf-8" and used in UTF8_LIKE)


def _charset_detail(decoded: Decoded, out: str, *, changed_only: bool) -> str:
    if _same_charset(decoded.charset, out) and not decoded.note:
        return "" if changed_only else f"; text ({decoded.charset})"
    return f"; charset {decoded.charset} to {out}"


def html_to_text(markup: str) -> tuple[str, bool]:
    """(text, fell back): inscriptis' layout with links tidied; plain markup stripping when the HTML is too big to
    lay out, when the layout fails, or when it loses text (lxml gives up on elements nested ~256 deep)."""
    markup = markup.replace("\x00", "")
    if not markup.strip():
        return "", False
    stripped = strip_markup(markup)
    if len(markup) > HTML_LAYOUT_LIMIT:
        return stripped, True
    try:
        text = get_text(markup, _HTML_CONFIG)
    except Exception:  # lxml or inscriptis on hostile markup
        return stripped, True
    if _visible(text) < 0.8 * _visible(stripped):
        return stripped, True
    text = _LINK.sub(_tidy_link, text)
    text = _TRAILING_SPACE.sub("\n", text + "\n")
    return _BLANK_LINES.sub("\n\n", text).strip("\n"), False


def strip_markup(markup: str) -> str:
    """HTML to text without a layout: invisible elements and tags dropped, block ends become line breaks."""
    text = _INVISIBLE.sub(" ", markup)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def _visible(text: str) -> int:
    return len(text) - sum(text.count(ch) for ch in " \n\t\u3000")


def _tidy_link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    bare = url.split(":", 1)[1] if url.lower().startswith("mailto:") else url
    if not label or label in {url, bare} or label.rstrip("/") == url.rstrip("/"):
        return url if url.lower().startswith(("http:", "https:", "ftp:")) or not bare else bare
    return f"{label} ({url})"
