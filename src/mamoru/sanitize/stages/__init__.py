"""The sanitizer's stages (one module each, run in the order ``pipeline.STAGES`` declares) and the few helpers they
share: raw header access without ``email.policy.default``'s costly header objects, MIME parameters (RFC 2231 and
the RFC 2047 words Japanese mailers put in filenames), and text decoding with a Japanese-first charset strategy.

Charset strategy (``decode_bytes``): the declared charset is tried first, strictly, with the names mail really uses
mapped to what they mean in practice (Shift_JIS → CP932 so NEC/IBM extensions such as ①, ㈱ decode; ISO-2022-JP →
a chain ending in a CP932-aware JIS decoder; ISO-8859-1 → CP1252). When the declaration is absent, unknown or does
not fit the bytes: ASCII (ISO-2022-JP when escape sequences are present); else strict UTF-8 (Shift_JIS and EUC-JP
text almost never validates as UTF-8: their lead bytes are not UTF-8 lead bytes); else CP932 and EUC-JP, scored by
how Japanese the result reads; when nothing decodes strictly, the candidate with the fewest replacement characters
wins. Undecodable bytes become U+FFFD, never an exception; every correction comes back as a note.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass
from email.message import Message
from functools import lru_cache

# --- raw headers -------------------------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_NEWLINES = re.compile(r"[\r\n]+")


def unfold(value: str) -> str:
    """One logical line: folding removed, stray line breaks become spaces."""
    if "\n" not in value and "\r" not in value:
        return value
    return _NEWLINES.sub(" ", _FOLD.sub("", value))


def raw_header(part: Message, name: str) -> str | None:
    """The first ``name`` header as it was in the message (unfolded), without building a header object."""
    lname = name.lower()
    for key, value in part.raw_items():
        if key.lower() == lname:
            return unfold(value if isinstance(value, str) else str(value))
    return None


def to_bytes(value: str) -> bytes:
    """A raw header or payload string back to the bytes it was parsed from (8-bit bytes are surrogate-escaped)."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


# --- MIME parameters ---------------------------------------------------------------------------------------------

_QUOTED_PAIR = re.compile(r"\\(.)")
_RFC2231 = re.compile(r"^([^*]+)\*(?:(\d{1,3})\*?|)$")
_RFC2231_EXT = re.compile(r"^([^*]+)(?:\*\d{1,3})?\*$")


def _split_semicolons(value: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            current.append(ch)
            quoted = not quoted
        elif ch == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return items


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return _QUOTED_PAIR.sub(r"\1", value[1:-1])
    if value.startswith('"'):
        return value[1:]
    return value


def parse_params(value: str | None) -> tuple[str, dict[str, str]]:
    """``'text/plain; charset="x"; name*=utf-8''%E3%81%82'`` → ``('text/plain', {'charset': 'x', 'name': 'あ'})``.

    Keys are lower case; RFC 2231 continuations and charsets are joined and decoded; values are unquoted but not
    otherwise decoded (see ``param_text`` for the RFC 2047 words and 8-bit bytes real mailers put there)."""
    if not value:
        return "", {}
    if ";" not in value:
        return value.strip(), {}
    items = _split_semicolons(value)
    main = items[0].strip()
    params: dict[str, str] = {}
    continued: dict[str, dict[int, tuple[str, bool]]] = {}
    for item in items[1:]:
        if "=" not in item:
            continue
        key, _, val = item.partition("=")
        key = key.strip().lower()
        if not key:
            continue
        if "*" in key:
            match = _RFC2231.match(key)
            if match:
                name, index = match.group(1), int(match.group(2) or 0)
                continued.setdefault(name, {}).setdefault(index, (val.strip(), bool(_RFC2231_EXT.match(key))))
                continue
        params.setdefault(key, _unquote(val))
    for name, segments in continued.items():
        params[name] = _join_rfc2231(segments)
    return main, params


def _join_rfc2231(segments: dict[int, tuple[str, bool]]) -> str:
    charset = ""
    data = bytearray()
    for index in sorted(segments):
        val, extended = segments[index]
        if extended:
            val = val.strip('"')
            if index == 0 or (not charset and val.count("'") >= 2):
                parts = val.split("'", 2)
                if len(parts) == 3:
                    charset, val = parts[0], parts[2]
            data += _percent_decode(val)
        else:
            data += to_bytes(_unquote(val))
    return decode_bytes(bytes(data), charset or None).text


_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def _percent_decode(value: str) -> bytes:
    return _PERCENT.sub(lambda m: bytes((int(m.group(1), 16),)), to_bytes(value))


def param_text(value: str) -> str:
    """A parameter value as text: 8-bit or ISO-2022-JP bytes decoded, RFC 2047 words decoded (non-standard in
    parameters, but what Japanese mailers send for filenames)."""
    if not value.isascii() or "\x1b" in value:
        value = decode_bytes(to_bytes(value), None).text
    return decode_words(value)


# --- charsets ----------------------------------------------------------------------------------------------------

ISO2022JP = "iso-2022-jp"  # not a Python codec name: our decoding chain (see _decode_iso2022jp)

_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "s-jis": "cp932",
    "ms_kanji": "cp932", "csshiftjis": "cp932", "windows-31j": "cp932", "cswindows31j": "cp932", "cp932": "cp932",
    "ms932": "cp932", "x-ms-cp932": "cp932", "ibm-943": "cp932", "cp943": "cp932",
    "euc-jp": "euc_jp", "euc_jp": "euc_jp", "x-euc-jp": "euc_jp", "eucjp": "euc_jp", "x-eucjp": "euc_jp",
    "ujis": "euc_jp", "cseucpkdfmtjapanese": "euc_jp", "cp51932": "euc_jp", "euc-jis-2004": "euc_jis_2004",
    "iso-2022-jp": ISO2022JP, "iso2022jp": ISO2022JP, "csiso2022jp": ISO2022JP, "iso-2022-jp-1": ISO2022JP,
    "iso-2022-jp-2": ISO2022JP, "csiso2022jp2": ISO2022JP, "iso-2022-jp-3": ISO2022JP, "iso-2022-jp-2004": ISO2022JP,
    "iso-2022-jp-ms": ISO2022JP, "cp50220": ISO2022JP, "cp50221": ISO2022JP, "cp50222": ISO2022JP, "jis": ISO2022JP,
    "x-jis": ISO2022JP,
    "utf-8": "utf-8", "utf8": "utf-8", "x-utf-8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    "us-ascii": "ascii", "ascii": "ascii", "ansi_x3.4-1968": "ascii", "iso646-us": "ascii", "cp367": "ascii",
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
    "windows-1252": "cp1252", "cp1252": "cp1252", "iso_8859-1": "cp1252",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "ksc5601": "cp949", "cp949": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb18030": "gb18030", "euc-cn": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "big5-hkscs": "big5hkscs",
}
_UNKNOWN_NAMES = {"unknown-8bit", "x-unknown", "unknown", "8bit", "binary", "default", "none", "x-user-defined", ""}
_LABELS = {"cp932": "shift_jis(cp932)", "euc_jp": "euc-jp", "euc_jis_2004": "euc-jis-2004", "ascii": "us-ascii",
           "cp1252": "windows-1252", "cp949": "euc-kr(cp949)", "gb18030": "gb18030", "big5hkscs": "big5"}
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "ascii"}
_FIXED_WIDTH = ("utf_16", "utf_32", "utf_7", "cp037", "cp500", "cp1140")


def charset_label(codec: str) -> str:
    return _LABELS.get(codec, codec.replace("_", "-"))


@lru_cache(maxsize=256)
def codec_for(name: str | None) -> str | None:
    """The decoder to use for a declared charset name; None when absent, unknown, or not a text encoding."""
    if not name:
        return None
    key = name.strip().strip("\"'").lower()
    if "*" in key:  # RFC 2231 language suffix: iso-2022-jp*ja
        key = key.split("*", 1)[0]
    if key in _ALIASES:
        return _ALIASES[key]
    if key in _UNKNOWN_NAMES or len(key) > 40:
        return None
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in {"undefined", "mbcs", "oem"}:
        return None
    return info.name


@lru_cache(maxsize=128)
def _ascii_compatible(codec: str) -> bool:
    return codec == ISO2022JP or not codec.startswith(_FIXED_WIDTH)


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the charset actually used, as a label ("utf-8", "iso-2022-jp", "shift_jis(cp932)", "euc-jp" …)
    note: str = ""  # English, when the declaration was corrected, absent, or bytes had to be replaced


def decode_bytes(data: bytes, declared: str | None) -> Decoded:
    """Bytes to text, never raising (see the module docstring for the strategy)."""
    codec = codec_for(declared)
    if not data:
        return Decoded("", charset_label(codec) if codec else "us-ascii")
    if codec is not None:
        if _ascii_compatible(codec) and data.isascii() and b"\x1b" not in data:
            return Decoded(data.decode("ascii"), charset_label(codec))
        text = _decode_strict(data, codec)
        if text is not None:
            if codec in _WESTERN and not data.isascii():
                utf8 = _try(data, "utf-8")
                if utf8 is not None:
                    return Decoded(utf8, "utf-8", f"charset declared {declared} but the bytes are utf-8; read as utf-8")
            return Decoded(text, charset_label(codec))
    text, used, clean = _detect(data)
    if declared and codec is None:
        note = f"unknown charset {declared.strip()[:40]!r}; read as {used}"
    elif declared:
        note = f"charset declared {declared.strip()[:40]} does not fit the bytes; read as {used}"
    elif used != "us-ascii":
        note = f"undeclared {'8-bit ' if not data.isascii() else ''}text read as {used}"
    else:
        note = ""
    if not clean:
        note = (note + "; " if note else "") + "undecodable bytes replaced"
    return Decoded(text, used, note)


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError, TypeError):
        return None


def _decode_strict(data: bytes, codec: str) -> str | None:
    if codec == ISO2022JP:
        return _decode_iso2022jp(data)
    text = _try(data, codec)
    if text is None and codec == "euc_jp":
        text = _try(data, "euc_jis_2004")
    return text


_ISO2022_CODECS = ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3")


def _decode_iso2022jp(data: bytes) -> str | None:
    """ISO-2022-JP and its real-world variants; None when the bytes are not 7-bit (then they lie)."""
    if not data.isascii():
        return None
    for codec in _ISO2022_CODECS:
        text = _try(data, codec)
        if text is not None:
            return text
    return iso2022jp_cp932(data)


_ESC = re.compile(rb"(\x1b(?:\$[@B]|\$\([@BDOPQ]|\([BJIH]|\$\)[A-Z]|\.[A-Z]|[NO]))")
_MODES = {b"\x1b$@": "jis", b"\x1b$B": "jis", b"\x1b$(@": "jis", b"\x1b$(B": "jis", b"\x1b$(O": "jis",
          b"\x1b$(Q": "jis", b"\x1b$(D": "jis0212", b"\x1b(I": "kana", b"\x1b(B": "ascii", b"\x1b(J": "ascii",
          b"\x1b(H": "ascii"}


def iso2022jp_cp932(data: bytes) -> str:
    """ISO-2022-JP the way Windows writes it (CP50220/50221): JIS X 0208 rows read through CP932, so NEC row 13
    (①, ㈱, Ⅰ) and the NEC-selected IBM extensions decode; half-width katakana by ESC ( I or SO/SI. Bytes that fit
    nowhere become U+FFFD."""
    out: list[str] = []
    mode = "ascii"
    for chunk in _ESC.split(data):
        if not chunk:
            continue
        if chunk[0] == 0x1B and _ESC.fullmatch(chunk):
            mode = _MODES.get(chunk, "other")
            continue
        if mode == "jis":
            text = _try(b"\x1b$B" + chunk + b"\x1b(B", "iso2022_jp")  # the common case, at C speed
            out.append(text if text is not None else _jis_to_sjis(chunk).decode("cp932", "replace"))
        elif mode == "jis0212":
            out.append(_jis0212(chunk))
        elif mode == "kana":
            out.append(bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk).decode("cp932", "replace"))
        elif mode == "other":
            out.append("\ufffd" * ((len(chunk) + 1) // 2))
        elif b"\x0e" in chunk:  # SO ... SI: half-width katakana (CP50221)
            out.append(_shift_out(chunk))
        else:
            out.append(chunk.decode("ascii", "replace").replace("\x1b", "\ufffd"))
    return "".join(out)


def _jis_to_sjis(chunk: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(chunk)
    while i < n:
        c1 = chunk[i]
        if 0x21 <= c1 <= 0x7E and i + 1 < n and 0x21 <= chunk[i + 1] <= 0x7E:
            c2 = chunk[i + 1]
            s1 = ((c1 + 1) >> 1) + (0x70 if c1 <= 0x5E else 0xB0)
            s2 = c2 + (0x1F if c2 <= 0x5F else 0x20) if c1 & 1 else c2 + 0x7E
            out += bytes((s1, s2))
            i += 2
        else:  # a line break or space inside kanji mode (sloppy mailers): pass it through
            out.append(c1 if c1 < 0x80 else 0x3F)
            i += 1
    return bytes(out)


def _jis0212(chunk: bytes) -> str:
    out = bytearray()
    for i in range(0, len(chunk) - 1, 2):
        out += bytes((0x8F, chunk[i] | 0x80, chunk[i + 1] | 0x80))
    return out.decode("euc_jp", "replace")


def _shift_out(chunk: bytes) -> str:
    out: list[str] = []
    kana = False
    for b in chunk:
        if b == 0x0E:
            kana = True
        elif b == 0x0F:
            kana = False
        elif kana and 0x21 <= b <= 0x5F:
            out.append(bytes((b + 0x80,)).decode("cp932"))
        else:
            out.append(chr(b) if b < 0x80 else "\ufffd")
    return "".join(out)


# Characters Japanese text is made of, and those a wrong Japanese decoding tends to produce.
_JAPANESE = re.compile("[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
_SUSPECT = re.compile("[\uff61-\uff9f\ue000-\uf8ff\u0080-\u009f]")


# Single bytes CP932 "decodes" that no real text contains (0x80, 0xA0, 0xFD-0xFF): signs of the wrong charset.
_CP932_SINGLES = re.compile("[\u0080\uf8f0-\uf8f3]")


def _score(text: str) -> int:
    sample = text[:65536]
    return len(_JAPANESE.findall(sample)) - 2 * len(_SUSPECT.findall(sample))


def _detect(data: bytes) -> tuple[str, str, bool]:
    """(text, label, decoded cleanly) for bytes whose charset is unknown or lied about."""
    if data.isascii():
        if b"\x1b" in data:
            text = _decode_iso2022jp(data)
            if text is not None:
                return text, ISO2022JP, "\ufffd" not in text
        return data.decode("ascii"), "us-ascii", True
    text = _try(data, "utf-8")
    if text is not None:  # Shift_JIS and EUC-JP text is almost never valid UTF-8 (their lead bytes are not)
        return text, "utf-8", True
    candidates: list[tuple[int, int, str, str]] = []
    for rank, codec in enumerate(("cp932", "euc_jp")):
        text = _try(data, codec)
        if text is not None and not (codec == "cp932" and _CP932_SINGLES.search(text)):
            candidates.append((_score(text), -rank, text, charset_label(codec)))
    if candidates:
        best = max(candidates, key=lambda c: (c[0], c[1]))
        return best[2], best[3], True
    fallbacks: list[tuple[int, int, str, str]] = []
    for rank, codec in enumerate(("utf-8", "cp932", "euc_jp")):
        text = data.decode(codec, "replace")
        if codec == "cp932":
            text = _CP932_SINGLES.sub("\ufffd", text)
        fallbacks.append((-text.count("\ufffd"), _score(text) - rank, text, charset_label(codec)))
    if b"\x1b$" in data:
        text = iso2022jp_cp932(bytes(b if b < 0x80 else 0x3F for b in data))
        fallbacks.append((-text.count("\ufffd") - data.count(b"?"), 0, text, ISO2022JP))
    best = max(fallbacks, key=lambda c: (c[0], c[1]))
    return best[2], best[3], False


# --- RFC 2047 encoded words --------------------------------------------------------------------------------------

_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def b64decode_lenient(data: bytes) -> bytes:
    """Base64 as mailers really send it: junk characters skipped, missing padding supplied, never raising."""
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        pass
    cleaned = _B64_JUNK.sub(b"", data.split(b"=", 1)[0])
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _q_decode(text: str) -> bytes:
    return binascii.a2b_qp(to_bytes(text), header=True)  # "_" is a space, =XX a byte, a stray "=" stays


def decode_words(value: str, notes: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words anywhere in ``value`` (leniently: also inside words and quoted strings).

    Whitespace between adjacent encoded words is dropped, and adjacent words in the same charset are joined
    before decoding, so a multibyte character split across two words survives."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    pending_charset = ""
    pending = bytearray()

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset:
            decoded = decode_bytes(bytes(pending), pending_charset)
            if decoded.note and notes is not None:
                notes.append(decoded.note)
            out.append(decoded.text)
            pending.clear()
            pending_charset = ""

    for match in _WORD.finditer(value):
        between = value[pos:match.start()]
        if not (pending_charset and (not between or between.isspace())):
            flush()
            out.append(between)
        charset, encoding, payload = match.groups()
        charset = charset.split("*", 1)[0].lower()
        data = b64decode_lenient(to_bytes(payload)) if encoding in "bB" else _q_decode(payload)
        if pending_charset and pending_charset != charset:
            flush()
        pending_charset = charset
        pending += data
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def raw_text(raw: str, hint: str | None = None, notes: list[str] | None = None) -> str:
    """A raw header value with its 8-bit or bare ISO-2022-JP bytes decoded (encoded words left alone).

    Undeclared 8-bit header bytes are usually in the charset of the message's text, so ``hint`` (that charset) is
    tried after UTF-8 and before guessing."""
    if raw.isascii() and "\x1b" not in raw:
        return raw
    data = to_bytes(raw)
    if hint and not data.isascii():
        text = _try(data, "utf-8")
        if text is not None:
            return text
        hinted = decode_bytes(data, hint)
        if not hinted.note:
            return hinted.text
    decoded = decode_bytes(data, None)
    if decoded.note and notes is not None:
        notes.append(decoded.note.replace("undeclared", "raw header", 1))
    return decoded.text


def header_text(raw: str | None, notes: list[str] | None = None, hint: str | None = None) -> str:
    """A raw header value as readable text: 8-bit and bare ISO-2022-JP bytes decoded, encoded words decoded,
    control characters dropped, whitespace runs collapsed."""
    if raw is None:
        return ""
    text = decode_words(raw_text(raw, hint, notes), notes)
    return " ".join(clean_text(text).split())


# --- text hygiene ------------------------------------------------------------------------------------------------

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean_text(text: str) -> str:
    """Drop control characters a terminal or a mail client could act on (tab, CR and LF stay)."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def visible_name(name: str) -> str:
    """A filename safe to show: controls dropped, bidirectional overrides (``invoice\u202efdp.exe``) made visible."""
    name = " ".join(clean_text(name).split())
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", name)
