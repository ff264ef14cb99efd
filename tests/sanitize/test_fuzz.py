"""Hostile and random input never makes ``sanitize_message`` raise, and what comes out always parses cleanly."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import quopri
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamoru.sanitize import Limits, Policy, Result, sanitize_message

FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CATEGORIES = ("pdf", "office", "image", "ole", "archive", "other")


def check_output(result: Result) -> str:
    """What every result must satisfy; returns the decoded text of the output."""
    report = result.report
    assert report.status in ("sanitized", "held")
    assert not [d for d in report.defects if d.startswith("internal error")], report.defects
    assert result.message.split(b"\r\n\r\n", 1)[0].isascii()
    out = email.message_from_bytes(result.message, policy=email.policy.default)
    assert not out.defects and all(not part.defects for part in out.walk())
    assert out["X-Mamoru-Quarantine-Id"] == report.quarantine_id
    assert out.get_content_type() in ("text/plain", "multipart/mixed")
    body = out if out.get_content_type() == "text/plain" else out.get_body(("plain",))
    assert body is not None
    data = body.get_payload(decode=True)
    assert isinstance(data, bytes)
    text = data.decode("utf-8") if body.get_content_charset() == "utf-8" else data.decode("ascii")
    assert report.quarantine_id in text
    assert len({p.path for p in report.parts}) == len(report.parts)
    assert sum(report.counts().values()) == len(report.parts)
    return text


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(raw: bytes) -> None:
    check_output(sanitize_message(raw))


HEADER_NAMES = ["From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "Content-Type",
                "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version", "X-Junk"]
CHARSETS = ["utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "us-ascii", "iso-8859-1", "ks_c_5601-1987", "bogus",
            "utf-16", "utf-7", "rot13", ""]
CODECS = {"utf-8": "utf-8", "iso-2022-jp": "iso2022_jp", "shift_jis": "cp932", "euc-jp": "euc_jp",
          "us-ascii": "ascii", "iso-8859-1": "latin-1", "ks_c_5601-1987": "cp949", "utf-16": "utf-16",
          "utf-7": "utf-7"}
TEXTS = st.text(alphabet=st.sampled_from(
    list("abc xyz<>&\"'=?;:@.-_\t\r\n") + list("あア亜漢字①㈱ｶﾀ髙～—€é🎉\u202e\x00\x1b")), max_size=80)


def encode(text: str, charset: str) -> bytes:
    codec = CODECS.get(charset, "utf-8")
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        return text.encode(codec, "replace") if codec not in ("iso2022_jp",) else text.encode("utf-8")


@st.composite
def header_values(draw: st.DrawFn) -> bytes:
    text = draw(TEXTS)
    charset = draw(st.sampled_from(CHARSETS))
    how = draw(st.sampled_from(["raw", "b", "q", "split", "garbage"]))
    data = encode(text, charset)
    if how == "raw":
        return data.replace(b"\r", b" ").replace(b"\n", b" ")
    if how == "b":
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="
    if how == "q":
        encoded = quopri.encodestring(data, header=True).replace(b"=\n", b"")
        return b"=?" + charset.encode() + b"?Q?" + encoded.replace(b"\r", b"=0D").replace(b"\n", b"=0A") + b"?="
    if how == "split":
        cut = draw(st.integers(0, len(data)))
        return b" ".join(b"=?" + charset.encode() + b"?B?" + base64.b64encode(chunk) + b"?="
                         for chunk in (data[:cut], data[cut:]))
    return draw(st.binary(max_size=40)).replace(b"\r", b"").replace(b"\n", b"")


@dataclass
class Entity:
    raw: bytes  # headers + body of one MIME entity
    leaves: int  # how many leaf parts the sanitizer should report


@st.composite
def leaves(draw: st.DrawFn) -> Entity:
    ctype = draw(st.sampled_from(["text/plain", "text/html", "text/enriched", "text/calendar", "application/pdf",
                                  "application/octet-stream", "image/png", "application/zip", "foo/bar", "garbage"]))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(["", "7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus"]))
    text = draw(TEXTS)
    if ctype == "text/html":
        text = f"<html><body><p>{text}</p><a href='http://x.example/{len(text)}'>{text[:5]}</a></body></html>"
    payload = draw(st.one_of(st.just(encode(text, charset)),
                             st.sampled_from([b"%PDF-1.4\n%%EOF", b"\x89PNG\r\n\x1a\n\x00", b"PK\x03\x04junk",
                                              b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"MZ\x90\x00"]),
                             st.binary(max_size=60)))
    if cte == "base64":
        body = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        if draw(st.booleans()):
            body = body[: draw(st.integers(0, len(body)))]  # truncated base64
    elif cte == "quoted-printable":
        body = quopri.encodestring(payload).replace(b"\n", b"\r\n")
    else:
        body = payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    lines = [b"Content-Type: " + ctype.encode() + (b"; charset=" + charset.encode() if charset else b"")]
    if cte:
        lines.append(b"Content-Transfer-Encoding: " + cte.encode())
    disposition = draw(st.sampled_from(["", "inline", "attachment"]))
    name = draw(st.one_of(st.none(), header_values()))
    if disposition or name is not None:
        lines.append(b"Content-Disposition: " + (disposition or "inline").encode()
                     + (b'; filename="' + name.replace(b'"', b"") + b'"' if name is not None else b""))
    return Entity(b"\r\n".join(lines) + b"\r\n\r\n" + body, 1)


def containers(children: st.SearchStrategy[Entity]) -> st.SearchStrategy[Entity]:
    @st.composite
    def multipart(draw: st.DrawFn) -> Entity:
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "digest", "report", "signed"]))
        parts = draw(st.lists(children, min_size=1, max_size=4))
        # Unique per container (a parent's boundary hashes its children's bytes, which hold theirs).
        boundary = b"=_b" + hashlib.sha256(subtype.encode() + b"".join(p.raw for p in parts)).hexdigest()[:16].encode()
        raw = b"Content-Type: multipart/" + subtype.encode() + b'; boundary="' + boundary + b'"\r\n\r\npreamble\r\n'
        for item in parts:
            raw += b"--" + boundary + b"\r\n" + item.raw + b"\r\n"
        raw += b"--" + boundary + b"--\r\nepilogue\r\n"
        return Entity(raw, sum(p.leaves for p in parts))

    @st.composite
    def attached(draw: st.DrawFn) -> Entity:
        inner = draw(children)
        head = b"From: " + draw(header_values()) + b"\r\nSubject: " + draw(header_values()) + b"\r\n"
        return Entity(b"Content-Type: message/rfc822\r\n\r\n" + head + inner.raw, inner.leaves)

    return st.one_of(multipart(), attached())


trees = st.recursive(leaves(), containers, max_leaves=10)


@st.composite
def messages(draw: st.DrawFn) -> Entity:
    root = draw(trees)
    head = b""
    for name in draw(st.lists(st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID", "X-Junk"]),
                              max_size=6)):
        head += name.encode() + b": " + draw(header_values()) + b"\r\n"
    return Entity(head + b"MIME-Version: 1.0\r\n" + root.raw, root.leaves)


policies = st.builds(
    Policy,
    attachments=st.fixed_dictionaries({c: st.sampled_from(["remove", "disarm", "hold"]) for c in CATEGORIES}),
    output_charset=st.sampled_from(["utf-8", "iso-2022-jp"]),
    defang_urls=st.booleans(),
    limits=st.just(Limits()),
)


@FUZZ
@given(messages(), policies)
def test_generated_mime_trees(message: Entity, policy: Policy) -> None:
    result = sanitize_message(message.raw, policy)
    check_output(result)
    report = result.report
    if report.status == "sanitized":
        assert len(report.parts) == message.leaves  # one PartAction per original leaf, however deep
    else:
        assert report.hold_reason.startswith(("policy:hold", "limit:"))


@FUZZ
@given(messages(), st.data())
def test_mutated_messages(message: Entity, data: st.DataObject) -> None:
    raw = bytearray(message.raw)
    for _ in range(data.draw(st.integers(1, 8))):
        if not raw:
            break
        at = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at: at + data.draw(st.integers(1, 40))]
        else:
            raw[at:at] = data.draw(st.sampled_from([b"\r\n", b"--", b"\r\n\r\n", b"=?", b"?=", b";", b"\x1b$B",
                                                    b"boundary=", b"Content-Type: message/rfc822\r\n\r\n"]))
    check_output(sanitize_message(bytes(raw)))
