"""Stage 6 — output: a new message built from scratch (never the original re-serialized).

Kept headers (7-bit, folded), ``MIME-Version``, ``X-Mamoru-Sanitized`` (the counts of actions) and
``X-Mamoru-Quarantine-Id``; the body is text/plain in the output charset (7bit when it is short-lined ASCII or
ISO-2022-JP, else base64) ending with the Japanese footer that lists every removed or disarmed part. When disarmed
(or clean) attachments remain, the message is multipart/mixed: the text first, then the files, base64. Lines end
in CRLF. ``notice`` writes the short message a recipient gets instead of a held one.
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mamoru.sanitize import texts
from mamoru.sanitize.stages import visible_name
from mamoru.sanitize.stages.headers import encode_iso2022jp, encode_text, encode_words

if TYPE_CHECKING:
    from mamoru.sanitize.pipeline import Context, OutPart

CRLF = "\r\n"
MAX_LINE = 998
_URL = re.compile(r"(?i)\b(https?|ftp)://([^\s/?#<>\"'()\[\]\\|]+)")
_DEFANGED_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}
_TOKEN = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")


def run(ctx: Context) -> None:
    text = "\n\n".join(block.strip("\n") for block in ctx.blocks if block.strip())
    if ctx.policy.defang_urls:
        text = defang(text)
    footer = texts.footer(footer_entries(ctx), ctx.quarantine_id, html_converted=ctx.html_converted)
    body = f"{text}\n\n{footer}" if text else footer
    counts = dict.fromkeys(("converted", "removed", "disarmed", "kept"), 0)
    for action in ctx.actions.values():
        counts[action.action] = counts.get(action.action, 0) + 1
    stamp = "; ".join(f"{name}={counts[name]}" for name in ("converted", "removed", "disarmed", "kept"))
    headers = [*ctx.out_headers, ("MIME-Version", "1.0"), ("X-Mamoru-Sanitized", stamp),
               ("X-Mamoru-Quarantine-Id", ctx.quarantine_id)]
    ctx.output = build(ctx, headers, body, ctx.out_parts)


def footer_entries(ctx: Context) -> list[texts.FooterEntry]:
    entries = []
    for order in sorted(ctx.actions):
        action = ctx.actions[order]
        if action.action not in ("removed", "disarmed"):
            continue
        entries.append(texts.FooterEntry(
            action=action.action, filename=visible_name(action.filename) if action.filename else None,
            content_type=action.content_type, category=ctx.categories.get(order, ""), size=action.size,
            sha256=action.sha256, reason=ctx.reasons_ja.get(order, texts.REASONS["policy"]), detail=action.detail,
            renamed=visible_name(ctx.renamed[order]) if order in ctx.renamed else "",
            members=tuple(visible_name(m) for m in ctx.listings.get(order, ()))))
    return entries


def defang(text: str) -> str:
    """``http://www.example.com/x`` → ``hxxp://www[.]example[.]com/x`` (the host only; paths stay readable)."""
    return _URL.sub(lambda m: f"{_DEFANGED_SCHEMES[m.group(1).lower()]}://{m.group(2).replace('.', '[.]')}", text)


def build(ctx: Context, headers: list[tuple[str, str]], body: str, parts: Iterable[OutPart]) -> bytes:
    parts = list(parts)
    charset, payload_headers, payload = text_payload(ctx, body)
    if not parts:
        lines = [fold(name, value) for name, value in headers]
        lines += [fold(name, value) for name, value in payload_headers]
        return ("".join(lines) + CRLF).encode("ascii", "replace") + _ended(payload)
    encoded = [(part, _b64(part.data)) for part in parts]
    boundary = _boundary(ctx, [payload, *(data for _p, data in encoded)])
    lines = [fold(name, value) for name, value in headers]
    lines.append(fold("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
    out = bytearray(("".join(lines) + CRLF).encode("ascii", "replace"))
    out += f"--{boundary}{CRLF}".encode("ascii")
    out += "".join(fold(name, value) for name, value in payload_headers).encode("ascii") + CRLF.encode("ascii")
    out += payload + CRLF.encode("ascii")
    for part, data in encoded:
        out += f"--{boundary}{CRLF}".encode("ascii")
        out += attachment_headers(part, charset).encode("ascii", "replace") + CRLF.encode("ascii")
        out += data + CRLF.encode("ascii")
    out += f"--{boundary}--{CRLF}".encode("ascii")
    return bytes(out)


def text_payload(ctx: Context, text: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(charset, part headers, encoded body) for the text, lines in CRLF."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)
    if not text.endswith(CRLF):
        text += CRLF
    charset = ctx.policy.output_charset
    data: bytes | None = None
    if charset == "iso-2022-jp":
        data = encode_iso2022jp(text)
        if data is None:
            ctx.defect("output: the text has characters ISO-2022-JP cannot carry; sent as UTF-8")
            charset = "utf-8"
    if data is None:
        data = text.encode("utf-8", "replace")
    label = "ISO-2022-JP" if charset == "iso-2022-jp" else "utf-8"
    if data.isascii() and max(map(len, data.split(b"\r\n"))) <= MAX_LINE:
        return charset, [("Content-Type", f'text/plain; charset="{label}"'),
                         ("Content-Transfer-Encoding", "7bit")], data
    return charset, [("Content-Type", f'text/plain; charset="{label}"'),
                     ("Content-Transfer-Encoding", "base64")], _b64(data)


def attachment_headers(part: OutPart, charset: str) -> str:
    ctype = part.content_type.lower().strip() if part.content_type else ""
    if not _TOKEN.match(ctype):
        ctype = "application/octet-stream"
    name = _basename(part.filename or "")
    if not name:
        return (fold("Content-Type", ctype) + fold("Content-Disposition", "attachment")
                + fold("Content-Transfer-Encoding", "base64"))
    if name.isascii() and not any(c in name for c in '"\\'):
        return (fold("Content-Type", f'{ctype}; name="{name}"')
                + fold("Content-Disposition", f'attachment; filename="{name}"')
                + fold("Content-Transfer-Encoding", "base64"))
    quoted = urllib.parse.quote(name, safe="!#$&+-.^_`|~")
    segments = _split_percent(quoted, 60)
    if len(segments) == 1:
        disposition = f"attachment; filename*=utf-8''{segments[0]}"
    else:
        disposition = "attachment; " + "; ".join(
            f"filename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{seg}" for i, seg in enumerate(segments))
    legacy = " ".join(encode_words(name, charset))  # what older Japanese mailers read
    return (fold("Content-Type", f'{ctype}; name="{legacy}"') + fold("Content-Disposition", disposition)
            + fold("Content-Transfer-Encoding", "base64"))


def _basename(name: str) -> str:
    name = visible_name(name).replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    return name[:200]


def _split_percent(quoted: str, size: int) -> list[str]:
    segments: list[str] = []
    while quoted:
        cut = min(size, len(quoted))
        while cut < len(quoted) and "%" in quoted[max(0, cut - 2):cut]:
            cut -= 1  # never split "%E3"
        segments.append(quoted[:cut])
        quoted = quoted[cut:]
    return segments


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n").rstrip(b"\r\n")


def _boundary(ctx: Context, payloads: list[bytes]) -> str:
    seed = hashlib.sha256(f"{ctx.quarantine_id}:{ctx.original_sha256}".encode()).hexdigest()[:24]
    for attempt in range(100):
        boundary = f"=_mamoru_{seed}_{attempt}"
        marker = f"--{boundary}".encode("ascii")
        if not any(marker in payload for payload in payloads):
            return boundary
    return f"=_mamoru_{seed}_{len(payloads)}_x"  # base64 and '=_' never meet; this is only reached in theory


def fold(name: str, value: str) -> str:
    """``Name: value`` folded at spaces to about 78 characters (a longer word gets its own line, cut at 998)."""
    value = value.replace("\r", " ").replace("\n", " ")
    line = f"{name}: {value}"
    if len(line) <= 78:
        return line + CRLF
    lines: list[str] = []
    current = f"{name}:"
    for word in value.split(" "):
        if not word:
            continue
        while len(word) > MAX_LINE - 2:
            if current.strip():
                lines.append(current)
            lines.append(" " + word[:MAX_LINE - 2])
            word, current = word[MAX_LINE - 2:], ""
        if len(current) + 1 + len(word) > 78 and current.strip() and current != f"{name}:":
            lines.append(current)
            current = " " + word
        else:
            current = f"{current} {word}"
    if current.strip():
        lines.append(current)
    return CRLF.join(lines) + CRLF


def notice(ctx: Context) -> bytes:
    """The short message a recipient gets when the message is held: same From/To/Cc/Date, Subject "[保留] …"."""
    charset = ctx.policy.output_charset
    keep = {"from", "to", "cc", "date"}
    headers = [(name, value) for name, value in ctx.out_headers if name.lower() in keep]
    subject = texts.NOTICE_SUBJECT_PREFIX + ctx.subject
    headers.append(("Subject", encode_text(subject, charset)))
    headers += [("MIME-Version", "1.0"), ("X-Mamoru-Sanitized", f"status=held; reason={ctx.hold_code}"),
                ("X-Mamoru-Quarantine-Id", ctx.quarantine_id)]
    body = texts.notice(quarantine_id=ctx.quarantine_id, code=ctx.hold_code, reason=ctx.hold_reason,
                        sender=ctx.sender, subject=ctx.subject, date=ctx.date)
    _charset, payload_headers, payload = text_payload(ctx, body)
    lines = [fold(name, value) for name, value in [*headers, *payload_headers]]
    return ("".join(lines) + CRLF).encode("ascii", "replace") + _ended(payload)


def _ended(payload: bytes) -> bytes:
    return payload if payload.endswith(b"\r\n") else payload + b"\r\n"


def minimal_notice(ctx: Context) -> bytes:
    """The notice when even ``notice`` failed: fixed text, the quarantine id, nothing taken from the message."""
    body = texts.notice(quarantine_id=ctx.quarantine_id, code="internal-error", reason="", sender="", subject="",
                        date="")
    subject = "=?UTF-8?B?" + base64.b64encode(texts.NOTICE_SUBJECT_PREFIX.strip().encode()).decode() + "?="
    head = (f"Subject: {subject}{CRLF}MIME-Version: 1.0{CRLF}X-Mamoru-Sanitized: status=held; reason=internal-error"
            f"{CRLF}X-Mamoru-Quarantine-Id: {ctx.quarantine_id}{CRLF}"
            f'Content-Type: text/plain; charset="utf-8"{CRLF}Content-Transfer-Encoding: base64{CRLF}{CRLF}')
    return head.encode("ascii") + _b64(body.replace("\n", CRLF).encode("utf-8")) + CRLF.encode("ascii")
