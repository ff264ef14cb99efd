"""Stage 2 — headers: decode what the report shows and keep only the policy's headers, re-encoded cleanly.

Subject, From, To and Cc are decoded from RFC 2047 words (ISO-2022-JP included, with the charset corrections of
``decode_bytes``) and from raw 8-bit or bare-JIS bytes that mailers put there without a declaration. The kept
headers go out as 7-bit ASCII: plain when they already were, otherwise as RFC 2047 words in the output charset
(UTF-8, or ISO-2022-JP written the way Japanese mailers do). The first occurrence of each kept header wins.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable
from email.utils import formataddr, getaddresses
from functools import lru_cache
from typing import TYPE_CHECKING

from mamoru.sanitize.policy import is_reserved_header
from mamoru.sanitize.stages import clean_text, decode_words, header_text, raw_text, unfold

if TYPE_CHECKING:
    from mamoru.sanitize.pipeline import Context

ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to",
                             "resent-cc", "resent-sender", "disposition-notification-to"})
MAX_HEADER_CHARS = 8000


def run(ctx: Context) -> None:
    message = ctx.message
    if message is None:
        return
    notes: list[str] = []
    first: dict[str, str] = {}
    for key, value in message.raw_items():
        lkey = key.lower()
        if lkey not in first:
            first[lkey] = value if isinstance(value, str) else str(value)
    hint = text_charset(ctx)
    ctx.subject = header_text(first.get("subject"), notes, hint)
    ctx.sender = header_text(first.get("from"), notes, hint)
    ctx.date = header_text(first.get("date"))
    ctx.message_id = header_text(first.get("message-id"))
    ctx.recipients = recipients(first.get("to"), first.get("cc"), hint=hint)

    keep = {name.lower(): name for name in ctx.policy.keep_headers if not is_reserved_header(name)}
    seen: set[str] = set()
    for key, value in message.raw_items():
        lkey = key.lower()
        if lkey not in keep:
            continue
        if lkey in seen:
            ctx.defect(f"header: a second {keep[lkey]} header was dropped")
            continue
        seen.add(lkey)
        raw = value if isinstance(value, str) else str(value)
        if lkey == "subject":  # decoded once already, for the report
            encoded = encode_text(ctx.subject, ctx.policy.output_charset)
        else:
            encoded = encode_header(lkey, raw, ctx.policy.output_charset, hint=hint)
        if encoded:
            ctx.out_headers.append((keep[lkey], encoded))
    for note in dict.fromkeys(notes):
        ctx.defect(f"header: {note}")


def text_charset(ctx: Context) -> str | None:
    """The declared charset of the message's first text part: the likely charset of raw 8-bit header bytes."""
    for leaf in ctx.leaves:
        if leaf.content_type.startswith("text/") and leaf.params.get("charset"):
            return leaf.params["charset"]
    return None


def recipients(*raws: str | None, hint: str | None = None) -> tuple[str, ...]:
    """The addresses of To + Cc, in order, without duplicates."""
    values = [_as_text(raw, hint) for raw in raws if raw]
    seen: dict[str, str] = {}
    for _name, addr in getaddresses(values):
        addr = " ".join(clean_text(addr).split())
        if "@" in addr:  # not group names, nor the text some mailers put in To
            seen.setdefault(addr.lower(), addr)
    return tuple(seen.values())


def _as_text(raw: str, hint: str | None) -> str:
    return raw_text(unfold(raw), hint)[:MAX_HEADER_CHARS]


# --- encoding for output -----------------------------------------------------------------------------------------


def encode_header(lname: str, raw: str, charset: str, *, hint: str | None = None) -> str:
    """A kept header's value for the output: 7-bit, one logical line (folding happens when written)."""
    value = _as_text(raw, hint)
    if lname in ADDRESS_HEADERS:
        return encode_addresses(value, charset)
    if lname == "subject" or "=?" in value or not value.isascii():
        return encode_text(decode_words(value), charset)
    return " ".join(clean_text(value).split())


def encode_addresses(value: str, charset: str) -> str:
    value = " ".join(clean_text(value).split())
    if value.isascii() and "=?" not in value:
        return value
    pairs = getaddresses([value])
    if pairs and all(addr and "@" in addr and not any(c in addr for c in " <>,") for _n, addr in pairs):
        out = []
        for name, addr in pairs:
            name = " ".join(clean_text(decode_words(name)).split())
            if not name:
                out.append(addr)
            elif name.isascii() and "=?" not in name:
                out.append(formataddr((name, addr)))
            else:
                out.append(f"{' '.join(encode_words(name, charset))} <{addr}>")
        return ", ".join(out)
    return encode_text(decode_words(value), charset)  # not a list of addresses: keep it readable


def encode_text(text: str, charset: str) -> str:
    """Unstructured text as 7-bit: leading ASCII words stay plain, the rest becomes encoded words."""
    text = " ".join(clean_text(text).split())[:MAX_HEADER_CHARS]
    if text.isascii() and "=?" not in text:
        return text
    tokens = text.split(" ")
    plain: list[str] = []
    for token in tokens:
        if token.isascii() and "=?" not in token:
            plain.append(token)
        else:
            break
    rest = " ".join(tokens[len(plain):])
    words = encode_words(rest, charset)
    return " ".join([*plain, *words])


def encode_words(text: str, charset: str) -> list[str]:
    """RFC 2047 B words of at most 75 characters, never splitting a character (nor an ISO-2022-JP sequence)."""
    if charset == "iso-2022-jp" and encode_iso2022jp(text) is not None:
        return _chunked_words(text, "ISO-2022-JP", 42, _iso2022jp_strict)
    return _chunked_words(text, "UTF-8", 45, lambda s: s.encode("utf-8", "surrogatepass"))


def _iso2022jp_strict(text: str) -> bytes:
    data = encode_iso2022jp(text)
    if data is None:
        raise ValueError(text)
    return data


def _chunked_words(text: str, label: str, max_bytes: int, encode: Callable[[str], bytes]) -> list[str]:
    words: list[str] = []
    chunk = ""
    encoded = b""
    for ch in text:
        candidate = encode(chunk + ch)
        if len(candidate) > max_bytes and chunk:
            words.append(f"=?{label}?B?{base64.b64encode(encoded).decode('ascii')}?=")
            chunk, encoded = ch, encode(ch)
        else:
            chunk, encoded = chunk + ch, candidate
    if chunk:
        words.append(f"=?{label}?B?{base64.b64encode(encoded).decode('ascii')}?=")
    return words


# --- ISO-2022-JP output, the way Japanese mailers write it (CP50220: CP932 characters on JIS rows) -----------------

_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]+")


@lru_cache(maxsize=1)
def _nec_selected() -> dict[str, bytes]:
    """CP932 writes IBM extension kanji (髙, 﨑 …) at 0xFAxx-0xFCxx, outside the JIS rows; their NEC-selected
    twins at 0xED40-0xEEFC map onto JIS rows 89-92, which ISO-2022-JP readers (WHATWG, Windows) decode."""
    table: dict[str, bytes] = {}
    for lead in (0xED, 0xEE):
        for trail in range(0x40, 0xFD):
            pair = bytes((lead, trail))
            try:
                table.setdefault(pair.decode("cp932"), pair)
            except UnicodeDecodeError:
                continue
    return table


def encode_iso2022jp(text: str) -> bytes | None:
    """Text as ISO-2022-JP (half-width katakana widened, CP932 extensions on JIS rows); None when a character has
    no place in it (emoji, most non-Japanese scripts): the caller then falls back to UTF-8."""
    text = _HALFWIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)  # ｶﾞ → ガ
    try:
        return text.encode("iso2022_jp")
    except UnicodeEncodeError:
        pass
    out = bytearray()
    lines = text.splitlines(keepends=True)
    for start in range(0, len(lines), 256):  # blocks of lines; a block that fails goes line by line
        block = lines[start:start + 256]
        try:
            out += "".join(block).encode("iso2022_jp")
            continue
        except UnicodeEncodeError:
            pass
        for line in block:
            try:
                out += line.encode("iso2022_jp")
            except UnicodeEncodeError:
                encoded = _encode_cp50220(line)
                if encoded is None:
                    return None
                out += encoded
    return bytes(out)


def _encode_cp50220(text: str) -> bytes | None:
    out = bytearray()
    jis = False
    for ch in text:
        if ord(ch) < 0x80:
            if jis:
                out += b"\x1b(B"
                jis = False
            out += ch.encode("ascii")
            continue
        pair = _nec_selected().get(ch)
        if pair is None:
            try:
                pair = ch.encode("cp932")
            except UnicodeEncodeError:
                return None
        code = _sjis_to_jis(pair)
        if code is None:
            return None
        if not jis:
            out += b"\x1b$B"
            jis = True
        out += code
    if jis:
        out += b"\x1b(B"
    return bytes(out)


def _sjis_to_jis(pair: bytes) -> bytes | None:
    if len(pair) != 2:
        return None
    s1, s2 = pair
    s1 = s1 - 0x40 if s1 >= 0xE0 else s1
    s1 -= 0x81
    if s2 >= 0x9F:
        c1, c2 = s1 * 2 + 0x22, s2 - 0x7E
    else:
        c1, c2 = s1 * 2 + 0x21, s2 - (0x20 if s2 >= 0x80 else 0x1F)
    if not (0x21 <= c1 <= 0x7E and 0x21 <= c2 <= 0x7E):
        return None
    return bytes((c1, c2))
