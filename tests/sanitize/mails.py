"""Building test messages byte by byte (as real mailers send them) and reading the sanitizer's output back."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import Message

from mamoru.sanitize import Result
from mamoru.sanitize.stages import iso2022jp_cp932

HEAD = [("From", "Taro Yamada <taro@example.jp>"), ("To", "hanako@example.lg.jp"), ("Subject", "test"),
        ("Date", "Tue, 01 Apr 2025 09:00:00 +0900"), ("Message-ID", "<test-1@example.jp>")]


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def word(text: str, charset: str = "ISO-2022-JP") -> str:
    """One RFC 2047 B word."""
    codec = {"ISO-2022-JP": "iso2022_jp", "UTF-8": "utf-8", "Shift_JIS": "cp932"}.get(charset, charset)
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def headers(extra: list[tuple[str, str]] | None = None, *, subject: str | None = None) -> bytes:
    head = [(k, subject if k == "Subject" and subject is not None else v) for k, v in HEAD]
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in head + (extra or []))


def message(body: bytes, content_type: str | None = "text/plain; charset=utf-8", cte: str | None = None,
            *, subject: str | None = None, extra: list[tuple[str, str]] | None = None) -> bytes:
    """A single-part message; ``body`` goes in as given (already encoded)."""
    mime = [("MIME-Version", "1.0")]
    if content_type is not None:
        mime.append(("Content-Type", content_type))
    if cte is not None:
        mime.append(("Content-Transfer-Encoding", cte))
    return headers(mime + (extra or []), subject=subject) + b"\r\n" + body


def part(body: bytes, content_type: str, cte: str | None = None, disposition: str | None = None) -> bytes:
    lines = [f"Content-Type: {content_type}"]
    if cte:
        lines.append(f"Content-Transfer-Encoding: {cte}")
    if disposition:
        lines.append(f"Content-Disposition: {disposition}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def multipart(subtype: str, parts: list[bytes], boundary: str = "b0") -> bytes:
    """A multipart body (headers of the entity included)."""
    out = f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n".encode()
    for item in parts:
        out += f"--{boundary}\r\n".encode() + item + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def multipart_message(subtype: str, parts: list[bytes], boundary: str = "b0", *, subject: str | None = None) -> bytes:
    return headers([("MIME-Version", "1.0")], subject=subject) + multipart(subtype, parts, boundary)


def parsed(result: Result) -> Message:
    return email.message_from_bytes(result.message, policy=email.policy.default)


def text_part(result: Result) -> Message:
    out = parsed(result)
    if out.get_content_type() == "text/plain":
        return out
    body = out.get_body(("plain",))
    assert body is not None, "no text/plain part in the output"
    return body


def output_text(result: Result) -> str:
    """The text/plain body of the output, decoded strictly (UTF-8) or as ISO-2022-JP with CP932 rows."""
    part = text_part(result)
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    charset = part.get_content_charset()
    if charset == "iso-2022-jp":
        assert data.isascii(), "ISO-2022-JP output must be 7-bit"
        return iso2022jp_cp932(data).replace("\r\n", "\n")
    assert charset == "utf-8"
    return data.decode("utf-8").replace("\r\n", "\n")


def body_only(result: Result) -> str:
    """The output text without the footer."""
    text = output_text(result)
    return text.split("━" * 30, 1)[0]
